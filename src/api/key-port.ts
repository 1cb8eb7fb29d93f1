// The face-neutral managed-key port: what the Azure Key Vault and XKS faces need from the core,
// in the core's own terms (managed keys with versions, per-version state and validity, a deletion
// window, rotation policy, tags, names per partition). The core implements it; the faces never
// see HsmObjects, mechanisms or the policy gate. No cloud vocabulary here: the faces translate.

/**
 * Who calls and why. `caller` is opaque to the faces: the port mints it when it authenticates
 * (AkvBackend.callerFor, XksBackend.lookupCredential) and the faces only hand it back.
 */
export interface CallContext<C> {
  caller: C;
  face: 'akv' | 'xks';
  /** The face's request id, for the audit record. */
  requestId: string;
  /** Face-supplied context for the audit record (e.g. XKS requestMetadata). Never secrets. */
  audit?: Readonly<Record<string, string>>;
}

export type EcCurve = 'P-256' | 'P-384' | 'P-521' | 'secp256k1';
export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

/** What a key is. Every version of a key has the same kind. */
export type KeyKind =
  | { type: 'rsa'; bits: 2048 | 3072 | 4096; publicExponent: number }
  | { type: 'ec'; curve: EcCurve }
  | { type: 'aes'; bits: 128 | 192 | 256 };

/** What a key version may be used for (PKCS#11 CKA_ENCRYPT … CKA_UNWRAP). */
export type KeyUse = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'wrap' | 'unwrap';

/** Public halves as unsigned big-endian bytes (RSA n, e; EC affine x, y at the curve's size). */
export type PublicKey =
  | { type: 'rsa'; n: Buffer; e: Buffer }
  | { type: 'ec'; curve: EcCurve; x: Buffer; y: Buffer };

/**
 * Key material brought in from outside. The port copies what it needs (sealing it), zeroes these
 * buffers and keeps no reference after it returns; the face zeroes them again on every path.
 */
export type ImportedMaterial =
  | { type: 'rsa'; n: Buffer; e: Buffer; d: Buffer; p: Buffer; q: Buffer; dp: Buffer; dq: Buffer; qi: Buffer }
  | { type: 'ec'; curve: EcCurve; d: Buffer; x: Buffer; y: Buffer }
  | { type: 'aes'; key: Buffer };

/** One version of a managed key, as every read returns it. */
export interface KeyVersion {
  /** The key's name, unique in the caller's partition. */
  name: string;
  /** 32 lower-case hex digits (128 random bits) minted by the core; stable for the version's life. */
  version: string;
  kind: KeyKind;
  uses: readonly KeyUse[];
  enabled: boolean;
  notBefore?: Date;
  expiresAt?: Date;
  createdAt: Date;
  updatedAt: Date;
  tags: Readonly<Record<string, string>>;
  publicKey?: PublicKey;
  origin: 'generated' | 'imported';
  /** Key-level deletion settings, repeated on every version: days a deleted key stays recoverable. */
  retentionDays: number;
  /** True: a deleted key cannot be purged before its retention ends. */
  purgeProtected: boolean;
}

/** A key by name; without `version`, its current (newest) version. */
export interface KeyRef { name: string; version?: string }

/** Attributes a caller sets at creation or import. Absent `uses` → every use the kind allows. */
export interface NewKeyAttributes {
  uses?: readonly KeyUse[];
  enabled?: boolean;
  notBefore?: Date;
  expiresAt?: Date;
  tags?: Readonly<Record<string, string>>;
}

/** A change to one version; absent members stay as they are. */
export interface KeyVersionUpdate {
  uses?: readonly KeyUse[];
  enabled?: boolean;
  notBefore?: Date;
  expiresAt?: Date;
  tags?: Readonly<Record<string, string>>;
}

export interface DeletedKey {
  /** The newest version as it was when deleted. */
  latest: KeyVersion;
  deletedAt: Date;
  /** When the scheduler purges it (deletedAt + retentionDays). */
  purgeAt: Date;
}

/** A page of a listing, in a stable order; `next` is an opaque cursor for the following page. */
export interface Page<T> { items: T[]; next?: string }
/**
 * `cursor` is a `next` the port returned earlier, but it travels through the client (Key Vault's
 * $skiptoken), so the port must treat it as untrusted input: validate it, or MAC it when minting.
 */
export interface PageRequest { limit: number; cursor?: string }

/** A calendar period (ISO 8601 PnYnMnD without time): months and years are not fixed lengths. */
export interface Period { years: number; months: number; days: number }

export interface RotationPolicy {
  /** Each new version expires this long after it is created (none: versions do not expire). */
  versionLifetime?: Period;
  /** Scheduled actions; a trigger is a period after creation or before expiry (exactly one). */
  actions: readonly { action: 'rotate' | 'notify'; afterCreate?: Period; beforeExpiry?: Period }[];
  createdAt?: Date;
  updatedAt?: Date;
}

/**
 * Signature schemes over a caller-computed digest of the hash's length. ECDSA names its curve
 * (the scheme fixes it, as JOSE and KMS do) and signs as r‖s; PSS uses MGF1 with the same hash
 * and a salt of the hash's length.
 */
export type SignAlgorithm =
  | { scheme: 'rsa-pkcs1-v1_5'; hash: Exclude<HashName, 'sha1'> }
  | { scheme: 'rsa-pss'; hash: Exclude<HashName, 'sha1'> }
  | { scheme: 'ecdsa'; hash: Exclude<HashName, 'sha1'>; curve: EcCurve };

/** Ciphers; AES schemes name the key size they require (a 128-bit scheme on a 256-bit key is refused). */
export type CipherAlgorithm =
  | { scheme: 'rsa-oaep'; hash: 'sha1' | 'sha256' }
  | { scheme: 'aes-gcm'; keyBits: 128 | 192 | 256 }
  | { scheme: 'aes-cbc'; keyBits: 128 | 192 | 256; padding: boolean }
  /** RFC 3394 key wrap, or RFC 5649 with padding. */
  | { scheme: 'aes-kw'; keyBits: 128 | 192 | 256; padding: boolean };

export interface EncryptInput {
  data: Buffer;
  /** CBC: the caller's IV (the core makes one if absent). GCM: never (the core always makes a 96-bit IV). */
  iv?: Buffer;
  aad?: Buffer;
}
export interface EncryptOutput { version: string; data: Buffer; iv?: Buffer; tag?: Buffer }
export interface DecryptInput { data: Buffer; iv?: Buffer; aad?: Buffer; tag?: Buffer }
export interface DecryptOutput { version: string; data: Buffer }

/**
 * The key operations both faces use. Every method runs the core's policy gate for `ctx.caller`
 * and writes one audit record (inside the same transaction when it changes state).
 */
export interface KeyPort<C> {
  /** The version `ref` names, or the current one. */
  getKey(ctx: CallContext<C>, ref: KeyRef): Promise<KeyVersion>;
  /**
   * Encrypts with the version `ref` names (current if absent). `purpose` selects the usage the
   * gate checks: 'encrypt' or 'wrap'. Refuses disabled, expired or not-yet-valid versions.
   */
  encrypt(ctx: CallContext<C>, ref: KeyRef, purpose: 'encrypt' | 'wrap', alg: CipherAlgorithm, input: EncryptInput): Promise<EncryptOutput>;
  /** The inverse; 'decrypt' or 'unwrap'. A failed tag or padding check is 'decrypt-failed'. */
  decrypt(ctx: CallContext<C>, ref: KeyRef, purpose: 'decrypt' | 'unwrap', alg: CipherAlgorithm, input: DecryptInput): Promise<DecryptOutput>;
}

/** Why the port refused. Messages are safe to show callers (no key bytes, data or secrets). */
export type KeyPortErrorCode =
  | 'not-found'           // no such key or version in the caller's partition (or not visible to it)
  | 'deleted'             // the name belongs to a deleted key still in its retention window
  | 'exists'              // restore of a key whose name is taken
  | 'forbidden'           // the caller's role may not do this
  | 'disabled'            // the version (or key) is disabled
  | 'expired'             // past the version's expiry (for encrypt, wrap, sign)
  | 'not-yet-valid'       // before the version's not-before
  | 'use-not-permitted'   // the version's uses exclude the operation
  | 'algorithm-mismatch'  // the algorithm does not fit the key's kind, size or curve
  | 'invalid-input'       // a parameter the core refuses (IV length, data size, bad key material)
  | 'decrypt-failed'      // authentication tag, padding or OAEP check failed
  | 'purge-protected'     // purge refused during retention
  | 'invalid-backup'      // a backup blob that is not one of this domain's, or is damaged
  | 'throttled'           // a rate or quota limit
  | 'unavailable';        // the module is sealed, in error, or not ready

export class KeyPortError extends Error {
  constructor(readonly code: KeyPortErrorCode, message: string) {
    super(message);
    this.name = 'KeyPortError';
  }
}
