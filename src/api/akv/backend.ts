// AkvBackend: the contract the core implements for the Azure Key Vault face. It extends the
// shared KeyPort with the managed-key lifecycle (versions, soft delete, recover, purge, backup,
// rotation) and with the identity the face's token issuer needs. All face-neutral: the face maps
// kty/crv/key_ops/JOSE algorithm names and Key Vault's envelopes onto these types.
import type {
  CallContext, DeletedKey, ImportedMaterial, KeyKind, KeyPort, KeyRef, KeyVersion, KeyVersionUpdate,
  NewKeyAttributes, Page, PageRequest, RotationPolicy, SignAlgorithm,
} from '../key-port';

export interface AkvBackend<C> extends KeyPort<C>, TokenAuthority<C> {
  /**
   * Generates a key in the module. If `name` is a live key of the same kind, adds a new current
   * version to it (Key Vault's create-on-existing semantics); a different kind is 'invalid-input';
   * a deleted key holding the name is 'deleted'.
   */
  createKey(ctx: CallContext<C>, name: string, kind: KeyKind, attrs: NewKeyAttributes): Promise<KeyVersion>;
  /** Imports material as a new key, or as a new version of `name` (same rules as createKey). */
  importKey(ctx: CallContext<C>, name: string, material: ImportedMaterial, attrs: NewKeyAttributes): Promise<KeyVersion>;
  /** Changes one version's state, validity, uses or tags (the current one without `ref.version`). */
  updateKey(ctx: CallContext<C>, ref: KeyRef, change: KeyVersionUpdate): Promise<KeyVersion>;
  /** Current versions of the live keys visible to the caller, ordered by name. */
  listKeys(ctx: CallContext<C>, page: PageRequest): Promise<Page<KeyVersion>>;
  /** Every version of one key, oldest first. */
  listVersions(ctx: CallContext<C>, name: string, page: PageRequest): Promise<Page<KeyVersion>>;

  /** Soft delete: the key (all versions) becomes unusable and recoverable until purgeAt. */
  deleteKey(ctx: CallContext<C>, name: string): Promise<DeletedKey>;
  getDeletedKey(ctx: CallContext<C>, name: string): Promise<DeletedKey>;
  listDeletedKeys(ctx: CallContext<C>, page: PageRequest): Promise<Page<DeletedKey>>;
  /** Brings a deleted key back as it was; returns its current version. */
  recoverKey(ctx: CallContext<C>, name: string): Promise<KeyVersion>;
  /** Destroys a deleted key now ('purge-protected' inside a protected retention window). */
  purgeKey(ctx: CallContext<C>, name: string): Promise<void>;

  /** All versions of one key, sealed under the domain's backup key: opaque outside the module. */
  backupKey(ctx: CallContext<C>, name: string): Promise<Buffer>;
  /** Restores a blob from backupKey under its original name ('exists' if the name is taken). */
  restoreKey(ctx: CallContext<C>, blob: Buffer): Promise<KeyVersion>;

  /** A new current version of the same kind, uses and tags; expiry from the rotation policy. */
  rotateKey(ctx: CallContext<C>, name: string): Promise<KeyVersion>;
  /** The key's policy; a key that never had one reports the module's default. */
  getRotationPolicy(ctx: CallContext<C>, name: string): Promise<RotationPolicy>;
  /** Replaces the policy; the scheduler acts on it. */
  setRotationPolicy(ctx: CallContext<C>, name: string, policy: RotationPolicy): Promise<RotationPolicy>;

  /** Signs a digest (its length matches alg.hash; ECDSA answers r‖s). */
  sign(ctx: CallContext<C>, ref: KeyRef, alg: SignAlgorithm, digest: Buffer): Promise<{ version: string; signature: Buffer }>;
  /** Verifies a signature over a digest; a malformed signature is `valid: false`, not an error. */
  verify(ctx: CallContext<C>, ref: KeyRef, alg: SignAlgorithm, digest: Buffer, signature: Buffer): Promise<{ version: string; valid: boolean }>;
  /** Random bytes from the module's generator. */
  randomBytes(ctx: CallContext<C>, count: number): Promise<Buffer>;
}

/**
 * The identity side: Inkan issues the access tokens the face accepts. Client secrets and the
 * token-signing key (Ed25519, e.g. derived from the domain key as the audit key is) stay in the
 * module; the face frames OAuth2 and JWTs around these calls.
 */
export interface TokenAuthority<C> {
  /**
   * Checks an OAuth client's secret. Returns the token subject (an opaque, stable id of the
   * client, e.g. its user id) or undefined for an unknown client or a wrong secret. The core
   * counts failures and locks the client as it does for logins; a locked client is undefined too.
   */
  authenticateClient(clientId: string, secret: string): Promise<{ subject: string } | undefined>;
  /** Mints the caller for a verified token; undefined if the subject was deleted or locked since. */
  callerFor(subject: string, tokenId: string): Promise<C | undefined>;
  /** The token keys, current first: ids and raw Ed25519 public keys (for the JWKS document). */
  tokenKeys(): Promise<readonly { keyId: string; publicKey: Buffer }[]>;
  /** Ed25519 signature over a JWS signing input with key `keyId` (refused unless it is current). */
  signToken(keyId: string, signingInput: Buffer): Promise<Buffer>;
  /** Checks a token signature with key `keyId`; false for an unknown or retired key. */
  verifyTokenSignature(keyId: string, signingInput: Buffer, signature: Buffer): Promise<boolean>;
}
