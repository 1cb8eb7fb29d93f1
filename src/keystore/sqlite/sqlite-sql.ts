// SQL for the table descriptors (../schema.ts) in SQLite's dialect, and row mapping. Names come
// from the descriptors, never from callers, so they can be interpolated.
import type { PlainTable, RecordTable, TableDef } from '../schema';
import type { ColumnValue, RecordRow } from '../types';

const SQL_TYPE = { text: 'TEXT', integer: 'INTEGER', blob: 'BLOB' } as const;

export function createTableSql(def: TableDef): string[] {
  return def.kind === 'record' ? recordTableSql(def) : plainTableSql(def);
}

function recordTableSql(def: RecordTable): string[] {
  const extra = Object.entries(def.columns).map(([c, t]) => `"${c}" ${SQL_TYPE[t]} NOT NULL`);
  const cols = ['id TEXT PRIMARY KEY', 'partition TEXT NOT NULL', 'version INTEGER NOT NULL', 'created INTEGER NOT NULL',
    ...extra, 'data TEXT NOT NULL', 'sealed BLOB', 'mac BLOB NOT NULL'];
  return [
    `CREATE TABLE IF NOT EXISTS ${def.name} (${cols.join(', ')})`,
    ...def.unique.map((u) => `CREATE UNIQUE INDEX IF NOT EXISTS ${def.name}_u_${u.join('_')} ON ${def.name} (${u.map((c) => `"${c}"`).join(', ')})`),
    ...def.indexes.map((i) => `CREATE INDEX IF NOT EXISTS ${def.name}_i_${i.join('_')} ON ${def.name} (${i.map((c) => `"${c}"`).join(', ')}, id)`),
  ];
}

function plainTableSql(def: PlainTable): string[] {
  const cols = Object.entries(def.columns).map(([c, t]) => `"${c}" ${SQL_TYPE[t]}`);
  return [
    `CREATE TABLE IF NOT EXISTS ${def.name} (${cols.join(', ')}, PRIMARY KEY (${def.key.map((k) => `"${k}"`).join(', ')}))`,
    ...def.indexes.map((i) => `CREATE INDEX IF NOT EXISTS ${def.name}_i_${i.join('_')} ON ${def.name} (${i.map((c) => `"${c}"`).join(', ')})`),
  ];
}

export function recordParams(def: RecordTable, r: RecordRow): Record<string, unknown> {
  const out: Record<string, unknown> = { id: r.id, partition: r.partition, version: r.version, created: r.created, data: r.data, sealed: r.sealed, mac: r.mac };
  for (const c of Object.keys(def.columns)) {
    const v = r.cols[c];
    if (v === undefined) throw new Error(`${def.name}.${c} is missing`);
    out[c] = v;
  }
  return out;
}

export function recordFromSql(def: RecordTable, r: Record<string, unknown>): RecordRow {
  const cols: Record<string, ColumnValue> = {};
  for (const c of Object.keys(def.columns)) cols[c] = r[c] as ColumnValue;
  return {
    id: r.id as string, partition: r.partition as string, version: r.version as number, created: r.created as number,
    cols, data: r.data as string, sealed: (r.sealed as Buffer | null) ?? null, mac: r.mac as Buffer,
  };
}
