// SQL for the table descriptors (../schema.ts) in PostgreSQL's dialect, and row mapping. Names
// come from the descriptors, never from callers, so they can be interpolated (always quoted).
// Text is COLLATE "C" so ids order byte by byte, as in SQLite, whatever the database's locale:
// keyset paging (`id > after ORDER BY id`) must mean the same thing on both backends.
import { CHANGE_LOG_TABLE, type PlainTable, type RecordTable, type TableDef } from '../schema';
import type { ColumnValue, RecordRow } from '../types';

const SQL_TYPE = { text: 'TEXT COLLATE "C"', integer: 'BIGINT', blob: 'BYTEA' } as const;
/** PostgreSQL silently truncates longer identifiers, which could make two index names collide. */
const MAX_IDENT = 63;

export const q = (name: string): string => `"${name}"`;
const ident = (name: string): string => {
  if (name.length > MAX_IDENT || !/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`bad identifier ${name.slice(0, 70)}`);
  return q(name);
};
const list = (cols: readonly string[]): string => cols.map(q).join(', ');

/** The fixed and indexed columns of a record table, in SQLite's declared order (dumps match). */
export function recordColumns(def: RecordTable): string[] {
  return ['id', 'partition', 'version', 'created', ...Object.keys(def.columns), 'data', 'sealed', 'mac'];
}

export function createTableSql(def: TableDef): string[] {
  return def.kind === 'record' ? recordTableSql(def) : plainTableSql(def);
}

function recordTableSql(def: RecordTable): string[] {
  const extra = Object.entries(def.columns).map(([c, t]) => `${q(c)} ${SQL_TYPE[t]} NOT NULL`);
  const cols = ['"id" TEXT COLLATE "C" PRIMARY KEY', '"partition" TEXT COLLATE "C" NOT NULL', '"version" BIGINT NOT NULL',
    '"created" BIGINT NOT NULL', ...extra, '"data" TEXT NOT NULL', '"sealed" BYTEA', '"mac" BYTEA NOT NULL'];
  return [
    `CREATE TABLE IF NOT EXISTS ${ident(def.name)} (${cols.join(', ')})`,
    ...def.unique.map((u) => `CREATE UNIQUE INDEX IF NOT EXISTS ${ident(`${def.name}_u_${u.join('_')}`)} ON ${q(def.name)} (${list(u)})`),
    ...def.indexes.map((i) => `CREATE INDEX IF NOT EXISTS ${ident(`${def.name}_i_${i.join('_')}`)} ON ${q(def.name)} (${list(i)}, "id")`),
  ];
}

function plainTableSql(def: PlainTable): string[] {
  const cols = Object.entries(def.columns).map(([c, t]) => `${q(c)} ${SQL_TYPE[t]}${def.key.includes(c) ? ' NOT NULL' : ''}`);
  return [
    `CREATE TABLE IF NOT EXISTS ${ident(def.name)} (${cols.join(', ')}, PRIMARY KEY (${list(def.key)}))`,
    ...def.indexes.map((i) => `CREATE INDEX IF NOT EXISTS ${ident(`${def.name}_i_${i.join('_')}`)} ON ${q(def.name)} (${list(i)})`),
  ];
}

/** The store's own tables: the audit chains, their checkpoints and the change log. `n` orders
 *  checkpoints as SQLite's rowid does; it is internal and left out of dumps. */
export const OWN_TABLES_SQL = [
  `CREATE TABLE IF NOT EXISTS "audit" ("chain" TEXT COLLATE "C" NOT NULL, "seq" BIGINT NOT NULL, "time" TEXT COLLATE "C" NOT NULL,
    "prev" TEXT NOT NULL, "hash" TEXT NOT NULL, "body" TEXT NOT NULL, PRIMARY KEY ("chain", "seq"))`,
  'CREATE INDEX IF NOT EXISTS "audit_time" ON "audit" ("chain", "time", "seq")',
  `CREATE TABLE IF NOT EXISTS "audit_checkpoints" ("chain" TEXT COLLATE "C" NOT NULL, "seq" BIGINT NOT NULL, "hash" TEXT NOT NULL,
    "time" TEXT NOT NULL, "node" TEXT NOT NULL, "signature" TEXT NOT NULL, "n" BIGSERIAL PRIMARY KEY)`,
  'CREATE INDEX IF NOT EXISTS "audit_checkpoints_seq" ON "audit_checkpoints" ("chain", "seq", "n")',
  `CREATE TABLE IF NOT EXISTS ${q(CHANGE_LOG_TABLE)} ("seq" BIGSERIAL PRIMARY KEY, "tbl" TEXT NOT NULL, "id" TEXT NOT NULL)`,
];

/** Columns of the store's own tables as a dump carries them (the same as SQLite's). */
export const OWN_TABLE_COLUMNS: Record<string, { cols: string[]; order: string }> = {
  audit: { cols: ['chain', 'seq', 'time', 'prev', 'hash', 'body'], order: '"chain", "seq"' },
  audit_checkpoints: { cols: ['chain', 'seq', 'hash', 'time', 'node', 'signature'], order: '"n"' },
  [CHANGE_LOG_TABLE]: { cols: ['seq', 'tbl', 'id'], order: '"seq"' },
};

export function recordParams(def: RecordTable, r: RecordRow): unknown[] {
  const extra = Object.keys(def.columns).map((c) => {
    const v = r.cols[c];
    if (v === undefined) throw new Error(`${def.name}.${c} is missing`);
    return v;
  });
  return [r.id, r.partition, r.version, r.created, ...extra, r.data, r.sealed, r.mac];
}

export function recordFromSql(def: RecordTable, r: Record<string, unknown>): RecordRow {
  const cols: Record<string, ColumnValue> = {};
  for (const c of Object.keys(def.columns)) cols[c] = r[c] as ColumnValue;
  return {
    id: r.id as string, partition: r.partition as string, version: r.version as number, created: r.created as number,
    cols, data: r.data as string, sealed: (r.sealed as Buffer | null) ?? null, mac: r.mac as Buffer,
  };
}

/** `$1, $2, …` starting after `offset`. */
export const placeholders = (n: number, offset = 0): string => Array.from({ length: n }, (_, i) => `$${offset + i + 1}`).join(', ');
