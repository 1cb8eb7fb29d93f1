// Whole-store operations on PostgreSQL for backup, restore and zeroisation. Rows have the same
// shapes as a SQLite dump (Buffers for blobs, numbers for integers, the same columns), so a
// backup taken on one backend restores on the other. Table and column names are checked
// against the schema, never taken from the data as they come.
import { CHANGE_LOG_TABLE, PLAIN_TABLES, RECORD_TABLES, SCHEMA_VERSION, type ColumnType, type TableDef } from '../schema';
import type { BulkStore, RawRow } from '../types';
import type { Db, Query } from './postgres-db';
import { OWN_TABLE_COLUMNS, q, recordColumns } from './postgres-sql';

const ARRAY_TYPE: Record<ColumnType, string> = { text: 'text[]', integer: 'bigint[]', blob: 'bytea[]' };
/** Rows per INSERT when restoring (each column travels as one array parameter). */
const CHUNK = 1_000;

interface TableShape { cols: string[]; types: string[]; order: string }

function shapeOf(def: TableDef): TableShape {
  if (def.kind === 'record') {
    const cols = recordColumns(def);
    const fixed: Record<string, ColumnType> = { id: 'text', partition: 'text', version: 'integer', created: 'integer', data: 'text', sealed: 'blob', mac: 'blob' };
    return { cols, types: cols.map((c) => ARRAY_TYPE[fixed[c] ?? def.columns[c]]), order: '"id"' };
  }
  const cols = Object.keys(def.columns);
  return { cols, types: cols.map((c) => ARRAY_TYPE[def.columns[c]]), order: def.key.map(q).join(', ') };
}

const OWN_TYPES: Record<string, ColumnType[]> = {
  audit: ['text', 'integer', 'text', 'text', 'text', 'text'],
  audit_checkpoints: ['text', 'integer', 'text', 'text', 'text', 'text'],
  [CHANGE_LOG_TABLE]: ['integer', 'text', 'text'],
};

/** Every table the store has, with the columns a dump carries. */
function shapes(): Map<string, TableShape> {
  const out = new Map<string, TableShape>();
  for (const def of [...RECORD_TABLES, ...PLAIN_TABLES]) out.set(def.name, shapeOf(def));
  for (const [name, { cols, order }] of Object.entries(OWN_TABLE_COLUMNS)) out.set(name, { cols, order, types: OWN_TYPES[name].map((t) => ARRAY_TYPE[t]) });
  return out;
}

/** The schema stays what it is when meta is emptied or restored (SQLite re-adds it at open). */
async function keepSchemaVersion(query: Query): Promise<void> {
  await query(`INSERT INTO "meta" ("name", "value") VALUES ('schema_version', $1) ON CONFLICT ("name") DO NOTHING`,
    [Buffer.from(String(SCHEMA_VERSION))]);
}

export class PostgresBulkStore implements BulkStore {
  private readonly tables = shapes();

  /** `logChanges` appends to the change log in commit order (the store's own step). */
  constructor(private readonly db: Db, private readonly logChanges: (q: Query, changes: [string, string][]) => Promise<number>) {}

  async dump(exclude: string[]): Promise<Record<string, RawRow[]>> {
    // One snapshot for every table: the dump is consistent even while other nodes write.
    return this.db.tx('dump', async (query) => {
      const out: Record<string, RawRow[]> = {};
      for (const [name, shape] of [...this.tables].sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (exclude.includes(name)) continue;
        out[name] = (await query<RawRow>(`SELECT ${shape.cols.map(q).join(', ')} FROM ${q(name)} ORDER BY ${shape.order}`)).rows;
      }
      return out;
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  async replace(data: Record<string, RawRow[]>): Promise<void> {
    for (const [t, rows] of Object.entries(data)) {
      const shape = this.tables.get(t);
      if (!shape) throw new Error(`unknown table ${t.slice(0, 40)}`);
      if (!Array.isArray(rows)) throw new Error(`rows of ${t} are not a list`);
      for (const row of rows) {
        for (const c of Object.keys(row)) if (!shape.cols.includes(c)) throw new Error(`unknown column ${t}.${c.slice(0, 40)}`);
      }
    }
    await this.db.tx('replace', async (query) => {
      for (const [t, rows] of Object.entries(data)) {
        await query(`DELETE FROM ${q(t)}`);
        const shape = this.tables.get(t)!;
        for (let i = 0; i < rows.length; i += CHUNK) await this.insertRows(query, t, shape, rows.slice(i, i + CHUNK));
        // Restored log rows must not make the sequence go back: readers have seen larger numbers.
        if (t === CHANGE_LOG_TABLE) {
          await query(`SELECT setval(pg_get_serial_sequence('"${CHANGE_LOG_TABLE}"', 'seq'),
            GREATEST((SELECT last_value FROM "${CHANGE_LOG_TABLE}_seq_seq"), (SELECT COALESCE(MAX("seq"), 1) FROM "${CHANGE_LOG_TABLE}")))`);
        }
      }
      if ('meta' in data) await keepSchemaVersion(query);
      await this.logChanges(query, [['*', '*']]);
    });
  }

  async wipe(keep: string[]): Promise<void> {
    const wiped = [...this.tables.keys()].filter((t) => !keep.includes(t));
    await this.db.tx('wipe', async (query) => {
      for (const t of wiped) await query(`DELETE FROM ${q(t)}`);
      await keepSchemaVersion(query);
      await this.logChanges(query, [['*', '*']]);
    });
    // PostgreSQL cannot overwrite freed pages; VACUUM FULL at least rewrites each table into new
    // files and drops the old ones (docs/postgres.md says what remains: WAL, replicas, backups).
    for (const t of wiped) await this.db.query('wipe vacuum', `VACUUM FULL ${q(t)}`);
  }

  /** One INSERT per chunk: each column is one typed array, so any row count is one statement. */
  private async insertRows(query: Query, table: string, shape: TableShape, rows: RawRow[]): Promise<void> {
    if (!rows.length) return;
    const present = shape.cols.filter((c) => rows.some((r) => c in r));
    const arrays = present.map((c) => rows.map((r) => (r[c] === undefined ? null : r[c])));
    const types = present.map((c) => shape.types[shape.cols.indexOf(c)]);
    await query(`INSERT INTO ${q(table)} (${present.map(q).join(', ')}) SELECT * FROM unnest(${types.map((ty, i) => `$${i + 1}::${ty}`).join(', ')})`, arrays);
  }
}
