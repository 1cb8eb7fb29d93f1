// The KeyStore contract: what the core needs from storage. The store is untrusted (DESIGN.md):
// it holds sealed blobs and public attributes, each row carrying a MAC the core checks.
// Every method is async and every change is one transaction, so a PostgreSQL
// implementation shared by several nodes can satisfy the same contract.

export interface ObjectRow {
  id: string;
  partition: string;
  owner: string;
  /** CKO_* class. */
  cls: number;
  label: string;
  /** JSON of the public attributes (see core/attributes.ts for the encoding). */
  attrs: string;
  /** AES-256-GCM sealed secret material (see docs/sealing.md), or null for public objects. */
  sealed: Buffer | null;
  /** JSON array of user ids the owner shared this object with. */
  sharedWith: string;
  /** Optimistic-concurrency counter, bumped by every update. */
  version: number;
  created: number;
  /** HMAC over every other field (docs/sealing.md). */
  mac: Buffer;
}

export interface UserRow {
  id: string;
  username: string;
  role: string;
  passwordHash: string;
  failedLogins: number;
  locked: boolean;
  version: number;
  created: number;
  mac: Buffer;
}

/** KMS-only state of one KMS key (core/kms-keys.ts): JSON record, owner column for listing. */
export interface KmsKeyRow {
  id: string;
  owner: string;
  /** JSON of the KmsKeyRecord (state, description, spec, versions, tags, rotation). */
  data: string;
  version: number;
  created: number;
  mac: Buffer;
}

/** A KMS alias, per owning crypto user (each user is its own "account"). */
export interface KmsAliasRow {
  owner: string;
  name: string;
  targetKeyId: string;
  created: number;
  updated: number;
  version: number;
  mac: Buffer;
}

/** A SigV4 access key of a crypto user; the secret half is sealed like a key attribute. */
export interface AccessKeyRow {
  id: string;
  userId: string;
  sealed: Buffer;
  created: number;
  mac: Buffer;
}

export interface KeyStore {
  readonly kind: string;
  readonly audit: AuditStore;
  readonly bulk: BulkStore;
  getMeta(name: string): Promise<Buffer | undefined>;
  /** Writes several meta values in one transaction. */
  putMeta(values: Record<string, Buffer>): Promise<void>;

  insertObject(row: ObjectRow): Promise<void>;
  /** Replaces the row if its stored version is `expectedVersion`; else throws STORE_CONFLICT. */
  updateObject(row: ObjectRow, expectedVersion: number): Promise<void>;
  getObject(id: string): Promise<ObjectRow | undefined>;
  listObjects(partition: string): Promise<ObjectRow[]>;
  deleteObject(id: string): Promise<boolean>;
  /** How many objects of each CKO_* class, over every partition (for metrics: one cheap query). */
  countObjects(): Promise<Record<number, number>>;

  insertUser(row: UserRow): Promise<void>;
  updateUser(row: UserRow, expectedVersion: number): Promise<void>;
  getUserByName(username: string): Promise<UserRow | undefined>;
  getUserById(id: string): Promise<UserRow | undefined>;
  listUsers(): Promise<UserRow[]>;
  deleteUser(id: string): Promise<boolean>;

  insertKmsKey(row: KmsKeyRow): Promise<void>;
  /** Replaces the row if its stored version is `expectedVersion`; else throws STORE_CONFLICT. */
  updateKmsKey(row: KmsKeyRow, expectedVersion: number): Promise<void>;
  getKmsKey(id: string): Promise<KmsKeyRow | undefined>;
  listKmsKeys(): Promise<KmsKeyRow[]>;
  deleteKmsKey(id: string): Promise<boolean>;

  /** Throws ALIAS_EXISTS if the owner already has an alias of this name. */
  insertKmsAlias(row: KmsAliasRow): Promise<void>;
  updateKmsAlias(row: KmsAliasRow, expectedVersion: number): Promise<void>;
  getKmsAlias(owner: string, name: string): Promise<KmsAliasRow | undefined>;
  listKmsAliases(owner: string): Promise<KmsAliasRow[]>;
  deleteKmsAlias(owner: string, name: string): Promise<boolean>;

  insertAccessKey(row: AccessKeyRow): Promise<void>;
  getAccessKey(id: string): Promise<AccessKeyRow | undefined>;
  listAccessKeys(): Promise<AccessKeyRow[]>;
  deleteAccessKey(id: string): Promise<boolean>;

  close(): Promise<void>;
}

/** The end of the audit chain: the last record's sequence number and hash. */
export interface AuditHead { seq: number; hash: string }

export interface AuditRecordRow { seq: number; prev: string; hash: string; body: string }
export interface CheckpointRow { seq: number; hash: string; time: string; node: string; signature: string }

/** Append-only storage of the audit chain (core/audit). There is no update or delete. */
export interface AuditStore {
  /** In one transaction: reads the head, lets `build` link new records to it, stores them. */
  append(build: (head: AuditHead) => AuditRecordRow[]): Promise<AuditRecordRow[]>;
  head(): Promise<AuditHead>;
  list(fromSeq: number, limit: number): Promise<AuditRecordRow[]>;
  putCheckpoint(cp: CheckpointRow): Promise<void>;
  listCheckpoints(): Promise<CheckpointRow[]>;
}

/** One row of any table, as stored (Buffers for blobs). Used by backup, restore and zeroize. */
export type RawRow = Record<string, string | number | bigint | Buffer | null>;

/** Whole-store operations (core/backup.ts, zeroize). Each is one transaction. */
export interface BulkStore {
  /** Every row of every table except `exclude`. */
  dump(exclude: string[]): Promise<Record<string, RawRow[]>>;
  /** Replaces the content of the given tables (and only those) with `data`. */
  replace(data: Record<string, RawRow[]>): Promise<void>;
  /** Deletes every row of every table except `keep`, overwriting freed pages. */
  wipe(keep: string[]): Promise<void>;
}
