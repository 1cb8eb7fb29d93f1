// KeyStore on PostgreSQL (node-postgres), for a cluster of nodes sharing one database. SQL is
// built from the table descriptors (../schema.ts). A commit is one READ COMMITTED transaction:
// the chain's advisory lock first (commits of one chain serialise, other chains do not wait),
// a savepoint per unit, finish() with the head read under that lock, the audit records, then the
// change log in commit order and a NOTIFY that PostgreSQL sends when the transaction commits.
import { filterableColumns, tableDef, type RecordTable, type TableName } from '../schema';
import type {
  ColumnValue, CommitRequest, CommitResult, FindOptions, KeyStore, PlainRow, RecordRow, Unit, UnitFailure, UnitOutcome, Write,
} from '../types';
import { PostgresAuditStore } from './postgres-audit';
import { PostgresBulkStore } from './postgres-bulk';
import { appendChanges, PostgresChangeFeed } from './postgres-changes';
import { Db, type PostgresOptions, type Query } from './postgres-db';
import { PostgresNodeList } from './postgres-nodes';
import { LOCK_CHAIN, migrate } from './postgres-schema';
import { placeholders, q, recordColumns, recordFromSql, recordParams } from './postgres-sql';

export { StoreUnavailableError, type PostgresOptions } from './postgres-db';
export type { NodeRow } from './postgres-nodes';

/** Rows one find may return, whatever the caller asks (as SQLite). */
export const MAX_FIND = 10_000;

class UnitError extends Error { constructor(readonly code: UnitFailure) { super(code); } }

export class PostgresKeyStore implements KeyStore {
  readonly kind = 'postgres';
  readonly audit: PostgresAuditStore;
  readonly bulk: PostgresBulkStore;
  readonly changes: PostgresChangeFeed;
  /** The cluster's node list (heartbeats), PostgreSQL only. */
  readonly nodes: PostgresNodeList;
  private readonly db: Db;
  private readonly changeLogKeep: number;
  private readonly pruneEvery: number;
  private commits = 0;

  /** user@host/db, for messages (never the password). */
  get target(): string { return this.db.target; }

  private constructor(opts: PostgresOptions) {
    this.db = new Db(opts);
    this.changeLogKeep = opts.changeLogKeep ?? 100_000;
    this.pruneEvery = opts.pruneEvery ?? 1_000;
    this.audit = new PostgresAuditStore(this.db);
    this.changes = new PostgresChangeFeed(this.db);
    this.nodes = new PostgresNodeList(this.db);
    this.bulk = new PostgresBulkStore(this.db, (query, changes) => this.logChanges(query, changes));
  }

  /** Connects, creates or migrates the schema, and starts listening for other nodes' commits.
   *  An unreachable database rejects with StoreUnavailableError naming it (never the password). */
  static async open(opts: PostgresOptions | string): Promise<PostgresKeyStore> {
    const store = new PostgresKeyStore(typeof opts === 'string' ? { url: opts } : opts);
    try {
      await migrate(store.db);
      await store.changes.start();
      return store;
    } catch (err) {
      await store.close().catch(() => undefined);
      throw err;
    }
  }

  async getMeta(name: string): Promise<Buffer | undefined> {
    return (await this.db.query<{ value: Buffer }>('getMeta', 'SELECT "value" FROM "meta" WHERE "name" = $1', [name]))[0]?.value;
  }

  async putMeta(values: Record<string, Buffer>): Promise<void> {
    await this.db.tx('putMeta', async (query) => {
      const changes: [string, string][] = [];
      for (const [name, value] of Object.entries(values)) await this.apply(query, { op: 'put', table: 'meta', row: { name, value } }, changes);
      await this.logChanges(query, changes);
    });
  }

  async get(table: TableName, id: string): Promise<RecordRow | undefined> {
    const def = recordDef(table);
    const rows = await this.db.query(`get ${table}`, `SELECT * FROM ${q(table)} WHERE "id" = $1`, [id]);
    return rows[0] && recordFromSql(def, rows[0]);
  }

  async find(table: TableName, where: Record<string, ColumnValue>, opts: FindOptions = {}): Promise<RecordRow[]> {
    return this.findWith((sql, params) => this.db.query(`find ${table}`, sql, params), table, where, opts);
  }

  async snapshot<T>(fn: (reader: Pick<PostgresKeyStore, 'get' | 'find'>) => Promise<T>): Promise<T> {
    return this.db.tx('snapshot', (query) => {
      const run = async (sql: string, params: unknown[]) => (await query(sql, params)).rows;
      return fn({
        get: async (table, id) => {
          const rows = await run(`SELECT * FROM ${q(table)} WHERE "id" = $1`, [id]);
          return rows[0] && recordFromSql(recordDef(table), rows[0]);
        },
        find: (table, where, opts = {}) => this.findWith(run, table, where, opts),
      });
    }, 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  }

  private async findWith(run: (sql: string, params: unknown[]) => Promise<Record<string, unknown>[]>, table: TableName,
    where: Record<string, ColumnValue>, opts: FindOptions): Promise<RecordRow[]> {
    const def = recordDef(table);
    const { clause, params } = whereClause(table, where);
    const limit = Math.max(0, Math.min(opts.limit ?? MAX_FIND, MAX_FIND));
    const after = opts.after !== undefined ? ` AND "id" > $${params.length + 2}` : '';
    const rows = await run(`SELECT * FROM ${q(table)} WHERE ${clause}${after} ORDER BY "id" LIMIT $${params.length + 1}`,
      opts.after !== undefined ? [...params, limit, opts.after] : [...params, limit]);
    return rows.map((r) => recordFromSql(def, r));
  }

  async count(table: TableName, where: Record<string, ColumnValue>): Promise<number> {
    const { clause, params } = whereClause(table, where);
    return (await this.db.query<{ n: number }>(`count ${table}`, `SELECT COUNT(*) AS n FROM ${q(table)} WHERE ${clause}`, params))[0].n;
  }

  async findPlain(table: TableName, where: PlainRow, limit = MAX_FIND): Promise<PlainRow[]> {
    if (tableDef(table).kind !== 'plain') throw new Error(`${table} is not a plain table`);
    const { clause, params } = whereClause(table, where);
    return this.db.query<PlainRow>(`findPlain ${table}`, `SELECT * FROM ${q(table)} WHERE ${clause} LIMIT $${params.length + 1}`,
      [...params, Math.max(0, Math.min(limit, MAX_FIND))]);
  }

  async commit(req: CommitRequest): Promise<CommitResult> {
    const result = await this.db.tx('commit', async (query): Promise<CommitResult> => {
      // PostgreSQL's own form of SQLite's synchronous=NORMAL: the commit is not flushed before
      // it returns (it may be lost in a crash, never half-applied).
      if (!req.durable) await query('SET LOCAL synchronous_commit = off');
      // Taken first, before any row lock, so chain locks never join a deadlock cycle. Different
      // chains hash to different keys (a collision only makes two chains wait for each other).
      await query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CHAIN, req.chain]);
      const changes: [string, string][] = [];
      const outcomes: UnitOutcome[] = [];
      for (const unit of req.units) outcomes.push(await this.runUnit(query, unit, changes));
      // A new statement, so a new snapshot: it sees every commit of this chain before ours.
      const head = await this.audit.headIn(query, req.chain);
      const finish = req.finish(head, outcomes);
      for (const w of finish.writes) await this.apply(query, w, changes);
      await this.audit.insertIn(query, finish.audit);
      const changeSeq = await this.logChanges(query, changes);
      return { outcomes, audit: finish.audit, changeSeq };
    });
    if (++this.commits % this.pruneEvery === 0) await this.pruneChangeLog().catch(() => undefined);
    return result;
  }

  async close(): Promise<void> {
    await this.changes.close();
    await this.db.end();
  }

  // --- internals -----------------------------------------------------------------------------

  /** One unit, all or nothing. A single insert, delete, put or remove is atomic by itself and
   *  fails without an error (ON CONFLICT DO NOTHING, row counts), so it needs no savepoint;
   *  anything else runs inside one (each savepoint is a subtransaction, which PostgreSQL keeps
   *  cheap only while a transaction has fewer than 64 of them). */
  private async runUnit(query: Query, unit: Unit, changes: [string, string][]): Promise<UnitOutcome> {
    const mine: [string, string][] = [];
    const savepoint = unit.writes.length > 1 || unit.writes[0]?.op === 'update' || unit.writes[0]?.op === 'consume';
    if (savepoint) await query('SAVEPOINT unit');
    try {
      for (const w of unit.writes) await this.apply(query, w, mine);
      if (savepoint) await query('RELEASE SAVEPOINT unit');
    } catch (err) {
      const code = unitFailure(err);
      if (!code) throw err;
      if (savepoint) await query('ROLLBACK TO SAVEPOINT unit; RELEASE SAVEPOINT unit');
      return { ok: false, code };
    }
    changes.push(...mine);
    return { ok: true };
  }

  private async apply(query: Query, w: Write, changes: [string, string][]): Promise<void> {
    const def = tableDef(w.table);
    const t = q(w.table);
    switch (w.op) {
      case 'insert': {
        const cols = recordColumns(recordDef(w.table));
        const res = await query(`INSERT INTO ${t} (${cols.map(q).join(', ')}) VALUES (${placeholders(cols.length)}) ON CONFLICT DO NOTHING`,
          recordParams(def as RecordTable, w.row));
        if (res.rowCount !== 1) throw new UnitError('EXISTS');
        changes.push([w.table, w.row.id]);
        return;
      }
      case 'update': {
        const cols = recordColumns(recordDef(w.table)).slice(1);
        const set = cols.map((c, i) => `${q(c)} = $${i + 2}`).join(', ');
        const res = await query(`UPDATE ${t} SET ${set} WHERE "id" = $1 AND "version" = $${cols.length + 2}`,
          [...recordParams(def as RecordTable, w.row), w.expected]);
        if (res.rowCount !== 1) throw new UnitError('STORE_CONFLICT');
        changes.push([w.table, w.row.id]);
        return;
      }
      case 'delete': {
        const res = w.expected === undefined
          ? await query(`DELETE FROM ${t} WHERE "id" = $1`, [w.id])
          : await query(`DELETE FROM ${t} WHERE "id" = $1 AND "version" = $2`, [w.id, w.expected]);
        if (w.expected !== undefined && res.rowCount !== 1) throw new UnitError('STORE_CONFLICT');
        if (res.rowCount) changes.push([w.table, w.id]);
        return;
      }
      case 'put': {
        if (def.kind !== 'plain') throw new Error(`${w.table} is not a plain table`);
        const cols = Object.keys(def.columns);
        const rest = cols.filter((c) => !def.key.includes(c));
        const onConflict = rest.length ? `DO UPDATE SET ${rest.map((c) => `${q(c)} = EXCLUDED.${q(c)}`).join(', ')}` : 'DO NOTHING';
        await query(`INSERT INTO ${t} (${cols.map(q).join(', ')}) VALUES (${placeholders(cols.length)}) ON CONFLICT (${def.key.map(q).join(', ')}) ${onConflict}`,
          cols.map((c) => w.row[c] ?? null));
        changes.push([w.table, def.key.map((k) => String(w.row[k])).join('/')]);
        return;
      }
      case 'consume': {
        // The conditional UPDATE takes the row lock: a concurrent consume (this node or another)
        // waits, then re-evaluates the condition on the row as committed (READ COMMITTED), so
        // exactly as many uses succeed as the limit allows, cluster-wide.
        const res = await query(`UPDATE ${t} SET "version" = "version" + 1 WHERE "id" = $1 AND "version" < $2 RETURNING *`, [w.id, w.below]);
        if (res.rowCount !== 1) {
          const exists = await query(`SELECT 1 FROM ${t} WHERE "id" = $1`, [w.id]);
          throw new UnitError(exists.rowCount ? 'KEY_USES_EXHAUSTED' : 'STORE_CORRUPT');
        }
        const stored = recordFromSql(recordDef(w.table), res.rows[0] as Record<string, unknown>);
        const mac = w.reseal({ ...stored, version: Number(stored.version) - 1 });
        if (!mac) throw new UnitError('STORE_CORRUPT');
        await query(`UPDATE ${t} SET "mac" = $2 WHERE "id" = $1`, [w.id, mac]);
        changes.push([w.table, w.id]);
        return;
      }
      case 'remove': {
        if (def.kind !== 'plain') throw new Error(`${w.table} is not a plain table`);
        await query(`DELETE FROM ${t} WHERE ${def.key.map((k, i) => `${q(k)} = $${i + 1}`).join(' AND ')}`, def.key.map((k) => w.key[k] ?? null));
        changes.push([w.table, def.key.map((k) => String(w.key[k])).join('/')]);
        return;
      }
    }
  }

  private async logChanges(query: Query, changes: [string, string][]): Promise<number> {
    const seq = await appendChanges(query, changes);
    if (seq) this.changes.markOwn(seq);
    return seq;
  }

  /** Keeps the newest `changeLogKeep` rows; a reader further behind flushes its caches instead. */
  private async pruneChangeLog(): Promise<void> {
    await this.db.query('prune change log', 'DELETE FROM "change_log" WHERE "seq" <= (SELECT COALESCE(MAX("seq"), 0) FROM "change_log") - $1',
      [this.changeLogKeep]);
  }
}

function recordDef(table: TableName): RecordTable {
  const def = tableDef(table);
  if (def.kind !== 'record') throw new Error(`${table} is not a record table`);
  return def;
}

/** `"a" = $1 AND "b" = $2` over checked column names (never caller text). */
function whereClause(table: TableName, where: Record<string, unknown>): { clause: string; params: unknown[] } {
  const allowed = filterableColumns(tableDef(table));
  const cols = Object.keys(where).sort();
  for (const c of cols) if (!allowed.has(c)) throw new Error(`cannot filter ${table} on ${c}`);
  return { clause: cols.length ? cols.map((c, i) => `${q(c)} = $${i + 1}`).join(' AND ') : 'TRUE', params: cols.map((c) => where[c]) };
}

/** A failure that fails only its unit: a version mismatch, or a duplicate key (23505) on update. */
function unitFailure(err: unknown): UnitFailure | undefined {
  if (err instanceof UnitError) return err.code;
  if ((err as { code?: string }).code === '23505') return 'EXISTS';
  return undefined;
}
