// What `inkan p11-stdio --server a,b,…` remembers of the application so it can rebuild it on another
// node after the one it used dies (docs/pkcs11.md "Failover"): the C_Initialize it sent, its
// sessions (the handles it sees are ours, mapped to the current node's), the logins with their
// PINs (in this process's memory only), and each session's operation that was initialised but
// not yet fed. Token-object handles are the same on every node (src/api/p11/state.ts) and pass
// through; session-object handles are mapped to aliases that die with the node.
import { CKR } from '../../pkcs11/constants';
import { callById, type CallName } from '../p11rpc';

/** Token-object handles have the top bit set on every node (api/p11/state.ts TOKEN_HANDLE_BIT). */
export const TOKEN_HANDLE_BIT = 0x80000000;
/** Aliases for session objects the relay keeps at most (a node caps its session objects far lower). */
const MAX_ALIASES = 1 << 16;
const MAX_SESSIONS = 4096;

/** An operation of one session: its *Init request (to replay), and whether data was already fed to it. */
export interface OpState { init: Buffer; fed: boolean }

export interface SessionState {
  readonly slot: number;
  readonly flags: number;
  /** The current node's handle for it; undefined when it could not be reopened there. */
  node?: number;
  readonly ops: Map<string, OpState>;
}

export interface LoginState { userType: number; pin: Buffer }

/** Which operation a call belongs to, and what it does to it (PKCS#11 2.40 §5.2, §5.8-§5.13). */
type OpRole = 'init' | 'single' | 'update' | 'final';
const OP_CALLS: Readonly<Partial<Record<CallName, [string, OpRole]>>> = {
  C_FindObjectsInit: ['find', 'init'], C_FindObjects: ['find', 'update'], C_FindObjectsFinal: ['find', 'final'],
  C_EncryptInit: ['encrypt', 'init'], C_Encrypt: ['encrypt', 'single'], C_EncryptUpdate: ['encrypt', 'update'], C_EncryptFinal: ['encrypt', 'final'],
  C_DecryptInit: ['decrypt', 'init'], C_Decrypt: ['decrypt', 'single'], C_DecryptUpdate: ['decrypt', 'update'], C_DecryptFinal: ['decrypt', 'final'],
  C_DigestInit: ['digest', 'init'], C_Digest: ['digest', 'single'], C_DigestUpdate: ['digest', 'update'], C_DigestKey: ['digest', 'update'], C_DigestFinal: ['digest', 'final'],
  C_SignInit: ['sign', 'init'], C_Sign: ['sign', 'single'], C_SignUpdate: ['sign', 'update'], C_SignFinal: ['sign', 'final'],
  C_SignRecoverInit: ['sign-recover', 'init'], C_SignRecover: ['sign-recover', 'single'],
  C_VerifyInit: ['verify', 'init'], C_Verify: ['verify', 'single'], C_VerifyUpdate: ['verify', 'update'], C_VerifyFinal: ['verify', 'final'],
  C_VerifyRecoverInit: ['verify-recover', 'init'], C_VerifyRecover: ['verify-recover', 'single'],
};
/** The dual-function calls (§5.12) feed two operations at once. */
const DUAL: Readonly<Partial<Record<CallName, [string, string]>>> = {
  C_DigestEncryptUpdate: ['digest', 'encrypt'], C_DecryptDigestUpdate: ['decrypt', 'digest'],
  C_SignEncryptUpdate: ['sign', 'encrypt'], C_DecryptVerifyUpdate: ['decrypt', 'verify'],
};

/**
 * Calls that change objects or users: if one was in flight when the node died, it may or may not
 * have committed, so it is not sent again; the application gets CKR_DEVICE_REMOVED ("removed during
 * the execution of the function", §5.1) and can look. Everything else is safe to send once more.
 */
const NOT_RETRIED: ReadonlySet<CallName> = new Set<CallName>([
  'C_InitToken', 'C_InitPIN', 'C_SetPIN', 'C_CreateObject', 'C_CopyObject', 'C_DestroyObject', 'C_SetAttributeValue',
  'C_GenerateKey', 'C_GenerateKeyPair', 'C_UnwrapKey', 'C_DeriveKey',
]);
export const retriable = (name: CallName): boolean => !NOT_RETRIED.has(name);

/** Slot-level calls (api/p11/dispatch.ts SESSIONLESS): the first argument is no session. */
const SESSIONLESS: ReadonlySet<CallName> = new Set<CallName>([
  'C_Initialize', 'C_Finalize', 'C_GetInfo', 'C_GetSlotList', 'C_GetSlotInfo', 'C_GetTokenInfo',
  'C_GetMechanismList', 'C_GetMechanismInfo', 'C_InitToken', 'C_OpenSession', 'C_CloseAllSessions', 'C_WaitForSlotEvent',
]);
export const takesSession = (name: CallName): boolean => !SESSIONLESS.has(name);

/** Object-handle arguments by call: argument index → the CKR_ for a handle that did not survive. */
const HANDLE_ARGS: Readonly<Partial<Record<CallName, readonly [number, number][]>>> = {
  C_CopyObject: [[1, CKR.OBJECT_HANDLE_INVALID]], C_DestroyObject: [[1, CKR.OBJECT_HANDLE_INVALID]],
  C_GetObjectSize: [[1, CKR.OBJECT_HANDLE_INVALID]], C_GetAttributeValue: [[1, CKR.OBJECT_HANDLE_INVALID]],
  C_SetAttributeValue: [[1, CKR.OBJECT_HANDLE_INVALID]], C_DigestKey: [[1, CKR.KEY_HANDLE_INVALID]],
  C_EncryptInit: [[2, CKR.KEY_HANDLE_INVALID]], C_DecryptInit: [[2, CKR.KEY_HANDLE_INVALID]],
  C_SignInit: [[2, CKR.KEY_HANDLE_INVALID]], C_SignRecoverInit: [[2, CKR.KEY_HANDLE_INVALID]],
  C_VerifyInit: [[2, CKR.KEY_HANDLE_INVALID]], C_VerifyRecoverInit: [[2, CKR.KEY_HANDLE_INVALID]],
  C_WrapKey: [[2, CKR.WRAPPING_KEY_HANDLE_INVALID], [3, CKR.KEY_HANDLE_INVALID]],
  C_UnwrapKey: [[2, CKR.UNWRAPPING_KEY_HANDLE_INVALID]], C_DeriveKey: [[2, CKR.KEY_HANDLE_INVALID]],
};
export const handleArgs = (name: CallName): readonly [number, number][] => HANDLE_ARGS[name] ?? [];

/** Calls whose response carries new object handles (`u`, `uu` or `au` right after the signature). */
export const RETURNS_HANDLES: ReadonlySet<CallName> = new Set<CallName>([
  'C_CreateObject', 'C_CopyObject', 'C_GenerateKey', 'C_GenerateKeyPair', 'C_UnwrapKey', 'C_DeriveKey', 'C_FindObjects',
]);

interface Alias { gen: number; node: number }

export class ClientState {
  /** The application's C_Initialize body, replayed first on every new node; undefined before it. */
  initialize?: Buffer;
  readonly sessions = new Map<number, SessionState>();
  readonly logins = new Map<number, LoginState>();
  private nextSession = 1;
  /** Node generation: bumped at every failover; session-object aliases of an older one are dead. */
  private gen = 0;
  private readonly aliases = new Map<number, Alias>();
  private readonly aliasOf = new Map<number, number>();
  private nextAlias = 1;

  /** The node's handle for a client session handle, or the CKR_ to answer instead. */
  nodeSession(client: number): number | { rv: number } {
    const s = this.sessions.get(client);
    if (!s) return { rv: CKR.SESSION_HANDLE_INVALID };
    return s.node ?? { rv: CKR.DEVICE_REMOVED };
  }

  /** The node's handle for a client object handle, or undefined when it did not survive a failover. */
  nodeObject(client: number): number | undefined {
    if (client >= TOKEN_HANDLE_BIT) return client;
    const a = this.aliases.get(client);
    return a && a.gen === this.gen ? a.node : undefined;
  }

  /** The client's handle for a node's object handle (session objects get an alias of this generation). */
  clientObject(node: number): number {
    if (node >= TOKEN_HANDLE_BIT) return node;
    let alias = this.aliasOf.get(node);
    if (alias === undefined) {
      if (this.aliases.size >= MAX_ALIASES) this.dropDeadAliases();
      alias = this.nextAlias++;
      if (alias >= TOKEN_HANDLE_BIT) alias = this.nextAlias = 1;
      this.aliases.set(alias, { gen: this.gen, node });
      this.aliasOf.set(node, alias);
    }
    return alias;
  }

  forgetObject(client: number): void {
    const a = this.aliases.get(client);
    if (!a) return;
    this.aliases.delete(client);
    if (a.gen === this.gen) this.aliasOf.delete(a.node);
  }

  private dropDeadAliases(): void {
    for (const [k, a] of this.aliases) if (a.gen !== this.gen) this.aliases.delete(k);
  }

  openSession(slot: number, flags: number, node: number): number | undefined {
    if (this.sessions.size >= MAX_SESSIONS) return undefined;
    const handle = this.nextSession++;
    this.sessions.set(handle, { slot, flags, node, ops: new Map() });
    return handle;
  }

  /** §5.6: closing the last session of a slot logs the application out of it. */
  closeSession(client: number): void {
    const s = this.sessions.get(client);
    if (!s) return;
    this.sessions.delete(client);
    if (![...this.sessions.values()].some((o) => o.slot === s.slot)) this.logout(s.slot);
  }

  closeAll(slot: number): void {
    for (const [h, s] of this.sessions) if (s.slot === slot) this.sessions.delete(h);
    this.logout(slot);
  }

  login(slot: number, userType: number, pin: Buffer): void {
    this.logout(slot);
    this.logins.set(slot, { userType, pin: Buffer.from(pin) });
  }

  logout(slot: number): void {
    this.logins.get(slot)?.pin.fill(0);
    this.logins.delete(slot);
    // Inkan logs a connection out of everything at once, and ends the operations it had (api/p11/session.ts).
    for (const s of this.sessions.values()) if (s.slot === slot) s.ops.clear();
  }

  /** C_SetPIN succeeded: the replayed login must use the new password ("username:" may be left out, api/p11/session.ts). */
  pinChanged(slot: number, newPin: Buffer | null): void {
    const l = this.logins.get(slot);
    if (!l || newPin === null) return;
    const old = l.pin.toString('utf8');
    const user = old.slice(0, Math.max(0, old.indexOf(':')));
    const text = newPin.toString('utf8');
    const next = Buffer.from(text.startsWith(`${user}:`) ? text : `${user}:${text}`, 'utf8');
    l.pin.fill(0);
    l.pin = next;
  }

  finalize(): void {
    for (const s of [...this.logins.keys()]) this.logout(s);
    this.sessions.clear();
    this.aliases.clear();
    this.aliasOf.clear();
    this.initialize?.fill(0);
    this.initialize = undefined;
  }

  /**
   * A new node: session objects and every operation that was already fed (multi-part, a search
   * under way) are gone; sessions wait for their new node handles.
   */
  newGeneration(): void {
    this.gen++;
    this.aliasOf.clear();
    for (const s of this.sessions.values()) {
      s.node = undefined;
      for (const [kind, op] of s.ops) if (op.fed) s.ops.delete(kind);
    }
  }

  /**
   * What a finished call did to its session's operations. `ok`: the call succeeded; `sizeOnly`:
   * it only reported a length (a NULL output buffer, §5.2), or failed with CKR_BUFFER_TOO_SMALL —
   * in both cases the operation stays active.
   */
  operationDone(session: SessionState, name: CallName, body: Buffer | undefined, ok: boolean, sizeOnly: boolean): void {
    const dual = DUAL[name];
    if (dual) {
      for (const kind of dual) { const op = session.ops.get(kind); if (op && ok) op.fed = true; else session.ops.delete(kind); }
      return;
    }
    const role = OP_CALLS[name];
    if (!role) return;
    const [kind, what] = role;
    if (what === 'init') {
      if (ok && body) session.ops.set(kind, { init: Buffer.from(body), fed: false });
      return;
    }
    const op = session.ops.get(kind);
    if (!op) return;
    if (what === 'update') {
      if (ok) op.fed = true; else session.ops.delete(kind);
    } else if (!sizeOnly || name === 'C_Verify' || name === 'C_VerifyFinal') {
      session.ops.delete(kind);
    }
  }
}

/** The call's name, for a call id taken from a decoded request. */
export function callName(callId: number): CallName {
  return callById(callId)!.name;
}
