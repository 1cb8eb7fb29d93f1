// The KeyStore contract: what the core needs from storage, and all it may assume. The store is
// untrusted (docs/sealing.md): it holds sealed blobs and public fields, every record row carries
// a MAC the core checks, and nothing the store says is believed without that check.
//
// The contract is small on purpose, so that SQLite (the embedded default) and PostgreSQL (a
// cluster of nodes) implement the same thing and pass the same suite (test/keystore/contract.ts):
//  - tables are described once, as data (schema.ts): record tables (MACed, versioned) and plain
//    tables (meta, lookup indexes, counters) with their indexed columns;
//  - reads are by id or by equality on indexed columns, with keyset paging;
//  - every change goes through `commit`: a batch of units, each unit atomic (all its writes or
//    none), the whole batch one transaction with the audit records it produced. A unit that
//    fails (version conflict, duplicate) is rolled back alone and the others still commit
//    (group commit: one fsync for many operations);
//  - every write is also appended to a change log, so caches in other processes or nodes learn
//    what changed (PostgreSQL LISTEN/NOTIFY wakes them; the log is the safety net).
import type { TableName } from './schema';

export type { TableName } from './schema';

/** A value of an indexed column. */
export type ColumnValue = string | number;

/** One row of a record table. Every field except `mac` is covered by the MAC (docs/sealing.md). */
export interface RecordRow {
  id: string;
  /** The partition (tenant) the row belongs to; '' for rows above partitions. */
  partition: string;
  /** Optimistic-concurrency counter: 1 at insert, +1 on every update. */
  version: number;
  /** Milliseconds since the epoch. */
  created: number;
  /** The table's indexed columns (schema.ts), in clear for lookups. */
  cols: Record<string, ColumnValue>;
  /** JSON of the row's public content. */
  data: string;
  /** AES-256-GCM sealed secret (docs/sealing.md), or null. */
  sealed: Buffer | null;
  mac: Buffer;
}

/** One row of a plain table (not MACed): meta values, lookup indexes, throttling counters. */
export type PlainRow = Record<string, ColumnValue | Buffer | null>;

export type Write =
  | { op: 'insert'; table: TableName; row: RecordRow }
  /** Replaces the row if its stored version is `expected`; else the unit fails with STORE_CONFLICT. */
  | { op: 'update'; table: TableName; row: RecordRow; expected: number }
  /** Deletes the row; with `expected`, only if its stored version is that (else STORE_CONFLICT). */
  | { op: 'delete'; table: TableName; id: string; expected?: number }
  /** Plain tables: insert or replace by the table's key columns. */
  | { op: 'put'; table: TableName; row: PlainRow }
  /** Plain tables: delete by the table's key columns (the row gives their values). */
  | { op: 'remove'; table: TableName; key: PlainRow }
  /** Record tables: takes one use of a counter row in one atomic conditional UPDATE — its version
   *  goes up by one only if it is below `below` (else the unit fails with KEY_USES_EXHAUSTED; no row:
   *  STORE_CORRUPT). Inside the same transaction `reseal` gets the row as stored before the increment
   *  and returns the MAC of that row at version + 1, which is stored with it, or undefined when the
   *  stored row is not genuine (the unit then fails with STORE_CORRUPT and nothing changes). */
  | { op: 'consume'; table: TableName; id: string; below: number; reseal(stored: RecordRow): Buffer | undefined };

/** Writes that stand or fall together. */
export interface Unit { writes: Write[] }

export type UnitFailure = 'STORE_CONFLICT' | 'EXISTS' | 'KEY_USES_EXHAUSTED' | 'STORE_CORRUPT';
export type UnitOutcome = { ok: true } | { ok: false; code: UnitFailure };

/** The end of one audit chain: the last record's sequence number and hash. */
export interface AuditHead { seq: number; hash: string }
export interface AuditRecordRow { chain: string; seq: number; time: string; prev: string; hash: string; body: string }
export interface CheckpointRow { chain: string; seq: number; hash: string; time: string; node: string; signature: string }

/** What the core adds to a batch once it knows which units succeeded: the audit records (linked
 *  to the chain's head as read inside the transaction) and rows that depend on the outcomes
 *  (the integrity accumulator). Called exactly once per commit, synchronously, inside it. */
export interface BatchFinish {
  audit: AuditRecordRow[];
  writes: Write[];
}

export interface CommitRequest {
  units: Unit[];
  /** The audit chain this batch appends to (one per node: docs/architecture.md). */
  chain: string;
  finish(head: AuditHead, outcomes: readonly UnitOutcome[]): BatchFinish;
  /** Make this commit durable against power loss before it resolves (SQLite synchronous=FULL;
   *  PostgreSQL always is). Batches holding only audit records of key uses may say false. */
  durable: boolean;
}

export interface CommitResult {
  outcomes: UnitOutcome[];
  audit: AuditRecordRow[];
  /** The change-log sequence number of the last write of this batch (0 if it wrote nothing). */
  changeSeq: number;
}

export interface FindOptions {
  /** At most this many rows (the store may cap it). */
  limit?: number;
  /** Keyset paging: rows strictly after this id, ordered by id. */
  after?: string;
}

export interface ChangeRow { seq: number; table: string; id: string }

/** What the integrity scan hashes of a record row (core/integrity.ts): no content. `pos` orders
 *  the scan (the store's own row order, e.g. SQLite's rowid) and is where the next page starts. */
export interface RowVersion { id: string; version: number; mac: Buffer; pos: number }

/** Tells a process which rows other processes or nodes changed. */
export interface ChangeFeed {
  /** The newest sequence number in the change log. */
  latest(): Promise<number>;
  /** Changes after `seq`, oldest first, at most `limit`. */
  since(seq: number, limit: number): Promise<ChangeRow[]>;
  /** `cb` runs when another writer may have committed (PostgreSQL NOTIFY; SQLite data_version).
   *  Returns a function that unsubscribes. A missed call is harmless: readers also poll `latest`. */
  subscribe(cb: () => void): () => void;
  /** True if another writer may have committed since the last call (cheap; never throws). */
  poll(): boolean;
  /** Other nodes write this store (PostgreSQL): a notification may arrive after the writer has
   *  answered its client, so readers look at the log before every operation (core/coherence.ts). */
  readonly shared?: boolean;
}

/** Append-only storage of the audit chains (core/audit). Records are added only by `commit`. */
export interface AuditStore {
  head(chain: string): Promise<AuditHead>;
  /** Records of `chain` with seq ≥ fromSeq, in order, at most `limit` (for paged streaming). */
  list(chain: string, fromSeq: number, limit: number): Promise<AuditRecordRow[]>;
  /** The first record of `chain` at or after `time` (ISO 8601), for exports by time. */
  seqAtTime(chain: string, time: string): Promise<number | undefined>;
  chains(): Promise<string[]>;
  putCheckpoint(cp: CheckpointRow): Promise<void>;
  /** Checkpoints of `chain` with seq in [fromSeq, toSeq], in order. */
  listCheckpoints(chain: string, fromSeq?: number, toSeq?: number): Promise<CheckpointRow[]>;
  lastCheckpoint(chain: string): Promise<CheckpointRow | undefined>;
}

/** One row of any table as stored, for backup, restore and zeroise. */
export type RawRow = Record<string, string | number | bigint | Buffer | null>;

/** Whole-store operations (core/backup.ts, zeroize). Each is one transaction. */
export interface BulkStore {
  /** Every row of every table except `exclude`. */
  dump(exclude: string[]): Promise<Record<string, RawRow[]>>;
  /** Replaces the content of the given tables (and only those) with `data`. */
  replace(data: Record<string, RawRow[]>): Promise<void>;
  /** Deletes every row of every table except `keep`, overwriting freed pages where it can. */
  wipe(keep: string[]): Promise<void>;
}

export interface KeyStore {
  /** 'sqlite' or 'postgres'. */
  readonly kind: string;
  readonly audit: AuditStore;
  readonly bulk: BulkStore;
  readonly changes: ChangeFeed;

  getMeta(name: string): Promise<Buffer | undefined>;
  /** Several meta values in one transaction (outside any audited operation: init, schema). */
  putMeta(values: Record<string, Buffer>): Promise<void>;

  get(table: TableName, id: string): Promise<RecordRow | undefined>;
  /** Rows whose columns equal every entry of `where` (partition and indexed columns only),
   *  ordered by id. Filtering on a column that is not indexed is a programming error. */
  find(table: TableName, where: Record<string, ColumnValue>, opts?: FindOptions): Promise<RecordRow[]>;
  count(table: TableName, where: Record<string, ColumnValue>): Promise<number>;
  /** Every row of a record table as id, version and MAC, at most `limit` with `pos` above `after`,
   *  in the store's storage order (the integrity scan at unseal: it reads no row's content, and its
   *  XOR does not depend on order). Optional: without it the scan reads whole rows through `find`. */
  versions?(table: TableName, after: number, limit: number): Promise<RowVersion[]>;
  /** Rows of a plain table whose columns equal `where`. */
  findPlain(table: TableName, where: PlainRow, limit?: number): Promise<PlainRow[]>;

  commit(req: CommitRequest): Promise<CommitResult>;

  /** Runs `fn` over one consistent snapshot of the store (PostgreSQL: a REPEATABLE READ
   *  transaction), so a scan sees no commit of another node half-way. Absent: a single writer
   *  (SQLite), where the caller's own quiet period is enough. */
  snapshot?<T>(fn: (reader: Pick<KeyStore, 'get' | 'find'>) => Promise<T>): Promise<T>;

  close(): Promise<void>;
}
