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

export interface KeyStore {
  readonly kind: string;
  getMeta(name: string): Promise<Buffer | undefined>;
  /** Writes several meta values in one transaction. */
  putMeta(values: Record<string, Buffer>): Promise<void>;

  insertObject(row: ObjectRow): Promise<void>;
  /** Replaces the row if its stored version is `expectedVersion`; else throws STORE_CONFLICT. */
  updateObject(row: ObjectRow, expectedVersion: number): Promise<void>;
  getObject(id: string): Promise<ObjectRow | undefined>;
  listObjects(partition: string): Promise<ObjectRow[]>;
  deleteObject(id: string): Promise<boolean>;

  insertUser(row: UserRow): Promise<void>;
  updateUser(row: UserRow, expectedVersion: number): Promise<void>;
  getUserByName(username: string): Promise<UserRow | undefined>;
  getUserById(id: string): Promise<UserRow | undefined>;
  listUsers(): Promise<UserRow[]>;
  deleteUser(id: string): Promise<boolean>;

  close(): Promise<void>;
}
