// What one p11-kit connection holds (docs/p11kit-rpc.md §9.3: the reference server runs one
// module instance per connection): its login, its sessions with their active operations, and
// its object handles. Closing the connection is an implicit C_Finalize.
//
// Session × login (PKCS#11 2.40 §5.4, §5.5); what each may do is the core's access matrix:
//   not logged in → RO/RW public session: public objects and public session objects (no principal)
//   USER login    → RO/RW user functions: a crypto user, owns what it makes
//   SO login      → RW SO functions: a crypto officer; no RO session may exist (and none may open)
import type { Hsm } from '../../core/hsm';
import type { HsmObject } from '../../core/hsm-object';
import type { Caller, Principal } from '../../core/principal';
import type { KeyAuthorisation } from '../../core/key-authorisation';
import { digest } from '../../crypto/node-crypto';
import { HsmError } from '../../errors/hsm-error';
import type { Logger } from '../../logger';
import { CKF_SESSION, CKS, CKU, MAX_SESSIONS_PER_CONNECTION } from './constants';
import type { Mech } from './mechanism';
import type { Slot, SlotTable } from './slots';

export type OpKind = 'find' | 'encrypt' | 'decrypt' | 'digest' | 'sign' | 'verify' | 'wrap';

/** An active operation (§5.2): single-part results are cached so a size query does not redo the work. */
export interface Operation {
  kind: OpKind;
  mech: Mech;
  key?: HsmObject;
  /** Multi-part input gathered by *Update, run at *Final. */
  parts: Buffer[];
  partsLength: number;
  /** Result computed for a too-small buffer, with the input it belongs to (§7.1: the operation stays active). */
  held?: { input: Buffer | 'final'; output: Buffer };
  /** C_FindObjects results not yet returned. */
  found?: number[];
  /** Single-part (C_Encrypt, C_Sign …) or multi-part (*Update/*Final), fixed by the first call after *Init (§5.2). */
  mode?: 'single' | 'multi';
}

/** Data one multi-part operation may gather before *Final (the core caps single inputs the same way). */
export const MAX_MULTIPART = 64 * 1024 * 1024;

export class Session {
  readonly ops = new Map<OpKind, Operation>();
  /** The last context-specific login (CKA_ALWAYS_AUTHENTICATE keys): good for the one operation it
   *  followed; a new *Init forgets it (PKCS#11 2.40 §5.6). */
  keyAuth?: KeyAuthorisation;
  constructor(readonly handle: number, readonly slot: Slot, readonly flags: number, readonly tag: string) {}
  get rw(): boolean { return (this.flags & CKF_SESSION.RW_SESSION) !== 0; }
}

/** Token-object handles have the top bit set; session-object handles never do (docs/pkcs11.md "Object handles"). */
export const TOKEN_HANDLE_BIT = 0x80000000;

/** The handle a token object gets on every node and every connection: 31 bits of SHA-256 of its id, top bit set. */
export function stableHandle(id: string): number {
  return (TOKEN_HANDLE_BIT | (digest('sha256', Buffer.from(id, 'utf8')).readUInt32BE(0) & 0x7fffffff)) >>> 0;
}

/**
 * Object handles of one connection (§10: keep < 2^32). A token object's handle is derived from its
 * id, so every node of a cluster gives the same object the same handle and a client that fails over
 * to another node (inkan p11-stdio --server a,b) keeps using the handles it has. Two ids whose
 * hashes meet take the next free value, in the order the connection met them. Session objects live
 * in one node's memory only: they get small counters below 2^31, which no token handle uses.
 */
export class HandleTable {
  private next = 1;
  private readonly byHandle = new Map<number, string>();
  private readonly byId = new Map<string, number>();

  handleOf(obj: { readonly id: string; readonly token: boolean }): number {
    let h = this.byId.get(obj.id);
    if (h === undefined) {
      if (obj.token) {
        h = stableHandle(obj.id);
        while (this.byHandle.has(h)) h = h === 0xffffffff ? TOKEN_HANDLE_BIT : h + 1;
      } else {
        h = this.next++;
        if (h >= TOKEN_HANDLE_BIT) throw new HsmError('DEVICE_MEMORY', 'session object handles exhausted');
      }
      this.byHandle.set(h, obj.id);
      this.byId.set(obj.id, h);
    }
    return h;
  }
  idOf(handle: number): string | undefined { return this.byHandle.get(handle); }
  forget(handle: number): void {
    const id = this.byHandle.get(handle);
    if (id !== undefined) this.byId.delete(id);
    this.byHandle.delete(handle);
  }
}

export interface Login { userType: number; principal: Principal }

export class ConnectionState {
  initialized = false;
  login?: Login;
  /** The account of the last C_Login attempt, for the PIN flags of C_GetTokenInfo (never the password). */
  lastLogin?: { userType: number; username?: string; failed: boolean };
  readonly sessions = new Map<number, Session>();
  readonly handles = new HandleTable();
  private nextSession = 1;

  constructor(readonly id: string, readonly hsm: Hsm, readonly log: Logger, private readonly table: SlotTable) {}

  /** The slots as last read; `refreshSlots` reads the partitions again first. */
  get slots(): readonly Slot[] { return this.table.current; }
  refreshSlots(): Promise<readonly Slot[]> { return this.table.refresh(); }

  requireInitialized(): void {
    if (!this.initialized) throw new HsmError('CRYPTOKI_NOT_INITIALIZED');
  }

  slot(slotId: number): Slot {
    this.requireInitialized();
    const slot = this.slots.find((s) => s.id === slotId);
    if (!slot) throw new HsmError('SLOT_ID_INVALID');
    return slot;
  }

  /** A slot after reading the partitions again if it is not (or no longer) in the table. */
  async freshSlot(slotId: number): Promise<Slot> {
    this.requireInitialized();
    if (!this.slots.some((s) => s.id === slotId)) await this.refreshSlots();
    return this.slot(slotId);
  }

  session(handle: number): Session {
    this.requireInitialized();
    const s = this.sessions.get(handle);
    if (!s) throw new HsmError('SESSION_HANDLE_INVALID');
    return s;
  }

  openSession(slot: Slot, flags: number): Session {
    if (this.sessions.size >= MAX_SESSIONS_PER_CONNECTION) throw new HsmError('BAD_REQUEST', 'too many open sessions');
    const handle = this.nextSession++;
    const s = new Session(handle, slot, flags, `${this.id}/${handle}`);
    this.sessions.set(handle, s);
    return s;
  }

  /** §5.4: closing a session destroys its session objects; closing the last one logs out. */
  closeSession(s: Session): void {
    s.ops.clear();
    this.sessions.delete(s.handle);
    this.hsm.dropSession(s.tag);
    // The login is to one token: only closing the last session of that token's slot ends it.
    if (this.login?.principal.partition === s.slot.partition && ![...this.sessions.values()].some((o) => o.slot === s.slot)) this.login = undefined;
  }

  closeAll(): void {
    for (const s of [...this.sessions.values()]) this.closeSession(s);
    this.login = undefined;
  }

  /** The login as a session of this slot sees it: a login is to one token (§5.5), so a session on
   *  another partition's slot is a public session of that partition (docs/partitions.md). */
  loginFor(s: Session): Login | undefined {
    return this.login && this.login.principal.partition === s.slot.partition ? this.login : undefined;
  }

  state(s: Session): number {
    const login = this.loginFor(s);
    if (login?.userType === CKU.SO) return CKS.RW_SO_FUNCTIONS;
    if (login) return s.rw ? CKS.RW_USER_FUNCTIONS : CKS.RO_USER_FUNCTIONS;
    return s.rw ? CKS.RW_PUBLIC_SESSION : CKS.RO_PUBLIC_SESSION;
  }

  /** Who the core sees: the logged-in user, or no principal at all in a public session (the gate
   *  then allows only what PKCS#11 gives public sessions). The slot names the partition. */
  caller(s: Session): Caller {
    return { principal: this.loginFor(s)?.principal, face: 'p11', partition: s.slot.partition, session: s.tag, source: this.id };
  }

  /** Keys and objects: a crypto user or a public session (an SO is an officer: it manages users, never keys). */
  userCaller(s: Session): Caller {
    if (this.loginFor(s)?.userType === CKU.SO) throw new HsmError('AUTH_REQUIRED');
    return s.keyAuth ? { ...this.caller(s), keyAuth: s.keyAuth } : this.caller(s);
  }

  /** Token objects may only be made, changed or destroyed in a R/W session (§5.4). */
  requireWritable(s: Session, token: boolean): void {
    if (token && !s.rw) throw new HsmError('SESSION_READ_ONLY');
  }

  async object(s: Session, handle: number): Promise<HsmObject> {
    const id = this.handles.idOf(handle) ?? await this.resolveTokenHandle(s, handle);
    if (id === undefined) throw new HsmError('KEY_NOT_FOUND');
    return this.hsm.lookup.get(this.caller(s), id);
  }

  /** When the last scan for unknown token handles ran (ms), and for whom; see resolveTokenHandle. */
  private lastScan?: { at: number; who: string };

  /**
   * A token handle this connection never issued: another node issued it to the same application,
   * which failed over here (inkan p11-stdio --server). The handle is derived from the object's id,
   * so the objects this session can see are registered once and the handle looked up again. At most
   * one scan per second per login, so a stream of invalid handles costs no more than that.
   */
  private async resolveTokenHandle(s: Session, handle: number): Promise<string | undefined> {
    if (handle < TOKEN_HANDLE_BIT || handle > 0xffffffff) return undefined;
    const who = this.login?.principal.id ?? '';
    const now = Date.now();
    if (this.lastScan && this.lastScan.who === who && now - this.lastScan.at < 1000) return undefined;
    this.lastScan = { at: now, who };
    if (this.login?.userType === CKU.SO) return undefined;
    for (const o of await this.hsm.lookup.find(this.caller(s))) if (o.token) this.handles.handleOf(o);
    return this.handles.idOf(handle);
  }

  /** A key for an operation: an unknown or invisible handle is CKR_KEY_HANDLE_INVALID (or, for the
   *  key that wraps or unwraps, CKR_(UN)WRAPPING_KEY_HANDLE_INVALID, §5.14). */
  async key(s: Session, handle: number, invalid: 'KEY_HANDLE_INVALID' | 'WRAPPING_KEY_HANDLE_INVALID' | 'UNWRAPPING_KEY_HANDLE_INVALID' = 'KEY_HANDLE_INVALID'): Promise<HsmObject> {
    try {
      return await this.object(s, handle);
    } catch (err) {
      if (err instanceof HsmError && err.code === 'KEY_NOT_FOUND') throw new HsmError(invalid);
      throw err;
    }
  }
}

/** What every C_* handler receives. */
export interface P11Context {
  readonly hsm: Hsm;
  readonly conn: ConnectionState;
}
