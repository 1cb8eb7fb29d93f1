// The store's tables, described once as data: every KeyStore implementation builds its SQL from
// this (SQLite and PostgreSQL alike), the contract suite walks it, and backups carry exactly
// these tables. Record tables hold MACed, versioned rows (types.ts RecordRow); plain tables hold
// what needs no MAC: meta values, lookup indexes the core re-checks, throttling counters.
//
// Every record table has the fixed columns id (primary key), partition, version, created, data,
// sealed and mac, plus its indexed columns below. Schema changes bump SCHEMA_VERSION.

export const SCHEMA_VERSION = 2;

export type ColumnType = 'text' | 'integer' | 'blob';

export interface RecordTable {
  kind: 'record';
  name: string;
  /** Indexed columns beyond the fixed ones, with their types. */
  columns: Readonly<Record<string, ColumnType>>;
  /** Column sets that must be unique (an insert that breaks one fails with EXISTS). */
  unique: readonly (readonly string[])[];
  /** Column sets looked up together (each becomes an index). */
  indexes: readonly (readonly string[])[];
}

export interface PlainTable {
  kind: 'plain';
  name: string;
  columns: Readonly<Record<string, ColumnType>>;
  /** The primary key columns. */
  key: readonly string[];
  indexes: readonly (readonly string[])[];
}

export type TableDef = RecordTable | PlainTable;

const record = (name: string, columns: Record<string, ColumnType>, unique: string[][], indexes: string[][]): RecordTable =>
  ({ kind: 'record', name, columns, unique, indexes });
const plain = (name: string, columns: Record<string, ColumnType>, key: string[], indexes: string[][] = []): PlainTable =>
  ({ kind: 'plain', name, columns, key, indexes });

export const TABLES = {
  /** Partitions (tokens, tenants). The id is the partition id every other row names. */
  partitions: record('partitions', { name: 'text' }, [['name']], []),
  /** Users; a username is unique within its partition. */
  users: record('users', { username: 'text', role: 'text' }, [['partition', 'username']], [['partition', 'role']]),
  /** PKCS#11 objects (keys, certificates, data). `managed` names the managed key an object is a version of, or ''. */
  objects: record('objects', { owner: 'text', cls: 'integer', label: 'text', ck_id: 'text', managed: 'text' }, [],
    // (partition, owner, label): a user's label lookup reads its own rows only, however many
    // objects another user gave the same label (issue #8: one user must not stall everyone).
    [['partition', 'owner'], ['partition', 'owner', 'label'], ['partition', 'label'], ['partition', 'ck_id'], ['partition', 'cls'], ['partition', 'managed']]),
  /** Managed keys (core/managed-keys.ts): versions, state, rotation and deletion, face-neutral. */
  managed_keys: record('managed_keys', { owner: 'text' }, [], [['partition', 'owner']]),
  /** Names of managed keys per partition and kind (KMS aliases, Key Vault key names). */
  names: record('names', { kind: 'text', name: 'text', target: 'text' }, [['partition', 'kind', 'name']], [['partition', 'target']]),
  /** Credentials of users for the HTTP faces (SigV4 access keys, ...); the secret half is sealed. */
  credentials: record('credentials', { kind: 'text', user_id: 'text' }, [], [['user_id'], ['partition', 'kind']]),
  /** Quorum state (core/quorum.ts): per-partition quorum values, officers' signing public keys,
   *  quorum tokens with their approvals, and per-key use quorums with their activation windows.
   *  `kind` says which; `ref` is the user, requester or key the row is about. */
  quorum: record('quorum', { kind: 'text', ref: 'text' }, [], [['partition', 'kind'], ['partition', 'kind', 'ref']]),
  /** Per-node integrity accumulators over every record row (docs/sealing.md "Rollback"). */
  integrity: record('integrity', {}, [], []),
  /** Use counters of keys with a use limit (core/policy/key-limits.ts): the id is the key object's,
   *  the version is 1 + the uses consumed, taken one at a time by the `consume` write. (Added without a new schema version: SQLite
   *  creates missing tables at every open, PostgreSQL at start too: postgres-schema.ts addMissingTables.) */
  use_counters: record('use_counters', {}, [], []),

  meta: plain('meta', { name: 'text', value: 'blob' }, ['name']),
  /** Who an object is shared with, for lookups only: the object's MACed share list decides. */
  object_shares: plain('object_shares', { object_id: 'text', user_id: 'text', partition: 'text' }, ['object_id', 'user_id'], [['user_id']]),
  /** Failed-login counters of names that are not users (so unknown and known names answer alike). */
  login_throttle: plain('login_throttle', { key: 'text', failures: 'integer', last_at: 'integer' }, ['key'], [['last_at']]),
} as const satisfies Record<string, TableDef>;

export type TableName = keyof typeof TABLES;
export const RECORD_TABLES = (Object.values(TABLES) as TableDef[]).filter((t): t is RecordTable => t.kind === 'record');
export const PLAIN_TABLES = (Object.values(TABLES) as TableDef[]).filter((t): t is PlainTable => t.kind === 'plain');

/** Tables a store keeps for itself, outside the descriptor: the audit chains and the change log. */
export const AUDIT_TABLES = ['audit', 'audit_checkpoints'] as const;
export const CHANGE_LOG_TABLE = 'change_log';

export function tableDef(name: string): TableDef {
  const def = (TABLES as Record<string, TableDef>)[name];
  if (!def) throw new Error(`unknown table ${name.slice(0, 40)}`);
  return def;
}

/** The columns of `table` a `find` may filter on. */
export function filterableColumns(def: TableDef): Set<string> {
  return def.kind === 'record' ? new Set(['id', 'partition', ...Object.keys(def.columns)]) : new Set(Object.keys(def.columns));
}
