// Who is calling. A Principal is minted, never typed: only a successful login (UserService) or
// the module's own scheduler (the `system` actor) creates one, through the PrincipalRegistry of
// that module instance, and the policy gate refuses any principal its registry did not mint.
// The class is nominal (a private brand field), so an object literal does not even type-check;
// the registry check catches anything forged at run time. Quorum approvals rely on this.

import type { KeyAuthorisation } from './key-authorisation';

export type Role = 'officer' | 'user' | 'auditor';
export const ROLES: readonly Role[] = ['officer', 'user', 'auditor'];

export type Face = 'admin' | 'p11' | 'kms' | 'akv' | 'xks' | 'internal';

export class Principal {
  readonly #brand = true;

  private constructor(
    /** 'user': a logged-in user; 'system': the module acting on its own schedule. */
    readonly kind: 'user' | 'system',
    readonly id: string,
    readonly username: string,
    readonly role: Role | 'system',
    /** The partition the user belongs to (the system actor belongs to none: ''). */
    readonly partition: string,
    /** The user's credential epoch at login: a lock, delete or password change bumps the stored
     *  one, and the gate then refuses this principal on every face (revocation). */
    readonly epoch: number,
  ) {}

  /** True for a crypto officer, auditor or crypto user — not the system actor. */
  get isUser(): boolean { return this.kind === 'user'; }

  static has(p: unknown): p is Principal {
    return typeof p === 'object' && p !== null && #brand in p;
  }

  /** @internal Only PrincipalRegistry calls this. */
  static create(kind: 'user' | 'system', id: string, username: string, role: Role | 'system', partition: string, epoch: number): Principal {
    return new Principal(kind, id, username, role, partition, epoch);
  }
}

/** The principals one module instance minted. The gate asks it before anything else. */
export class PrincipalRegistry {
  readonly #minted = new WeakSet<Principal>();
  readonly system: Principal;

  constructor() {
    this.system = this.record(Principal.create('system', 'system', 'system', 'system', '', 0));
  }

  /** Called by UserService.login only, after the password was verified. */
  mintUser(user: { id: string; username: string; role: Role; partition: string; epoch: number }): Principal {
    return this.record(Principal.create('user', user.id, user.username, user.role, user.partition, user.epoch));
  }

  isMinted(p: unknown): p is Principal {
    return Principal.has(p) && this.#minted.has(p);
  }

  private record(p: Principal): Principal {
    this.#minted.add(p);
    return p;
  }
}

/** A request as the core sees it: who (or nobody, for a PKCS#11 public session), through which
 *  face, in which partition, and for the PKCS#11 face the session that owns session objects. */
export interface Caller {
  principal?: Principal;
  face: Face;
  /** The partition the request is addressed to (the PKCS#11 slot's; for HTTP faces the principal's). */
  partition: string;
  /** Owner tag of session objects (CKA_TOKEN false), set by the PKCS#11 face as "<application>/<session>":
   *  all sessions of one application see its session objects; closing the session drops them. */
  session?: string;
  /** Where the request came from, for throttling (an address, a peer uid); never a secret. */
  source?: string;
  /** What the face knows about the request, for the audit record's detail (XKS requestMetadata:
   *  the AWS principal, KMS operation and request id). Never a secret or data. */
  context?: string;
  /** A context-specific login for the key this request uses (CKA_ALWAYS_AUTHENTICATE keys, key-limits.ts). */
  keyAuth?: KeyAuthorisation;
  /** The request's encryption context (KMS EncryptionContext), for shares scoped to one (key-limits.ts). */
  encryptionContext?: Readonly<Record<string, string>>;
}

/** The caller of a logged-in principal, addressed to its own partition. */
export function callerOf(principal: Principal, face: Face, extra: Partial<Pick<Caller, 'session' | 'source'>> = {}): Caller {
  return { principal, face, partition: principal.partition, ...extra };
}
