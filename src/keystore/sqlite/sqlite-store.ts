// KeyStore on an embedded SQLite file (better-sqlite3, WAL): the embedded default. SQL is built
// from the table descriptors (../schema.ts); statements are prepared once per shape. A commit is
// one IMMEDIATE transaction with a savepoint per unit; several processes may share the file
// (`inkan serve --workers`), learning of each other's commits through PRAGMA data_version and
// the change log.
import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import { CHANGE_LOG_TABLE, filterableColumns, PLAIN_TABLES, RECORD_TABLES, SCHEMA_VERSION, tableDef, type TableName } from '../schema';
import type {
  ChangeFeed, ColumnValue, CommitRequest, CommitResult, FindOptions, KeyStore, PlainRow, RecordRow, RowVersion, UnitFailure, UnitOutcome, Write,
} from '../types';
import { SqliteAuditStore, AUDIT_SCHEMA } from './sqlite-audit';
import { SqliteBulkStore } from './sqlite-bulk';
import { createTableSql, recordFromSql, recordParams } from './sqlite-sql';

/** Rows one find may return, whatever the caller asks. */
export const MAX_FIND = 10_000;
/** Change-log rows kept; a reader further behind than this flushes its caches instead. */
const CHANGE_LOG_KEEP = 100_000;

class UnitError extends Error { constructor(readonly code: UnitFailure) { super(code); } }

export class SqliteKeyStore implements KeyStore {
  readonly kind = 'sqlite';
  readonly audit: SqliteAuditStore;
  readonly bulk: SqliteBulkStore;
  readonly changes: ChangeFeed;
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  private synchronous: 'FULL' | 'NORMAL' = 'NORMAL';
  private commits = 0;
  /** The change-log seq this connection last inserted (reset per commit; a rolled-back unit's is undone). */
  private logged = 0;
  private readonly commitTx: Database.Transaction<(req: CommitRequest) => CommitResult>;
  /** One unit's writes; called inside commitTx, so a savepoint that a failing unit rolls back alone. */
  private readonly unitTx: Database.Transaction<(writes: readonly Write[]) => void>;

  constructor(readonly file: string) {
    this.db = new Database(file);
    // Sealed, but nobody else needs to read it either.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 5000');
    this.migrate();
    this.audit = new SqliteAuditStore(this.db);
    this.bulk = new SqliteBulkStore(this.db, () => this.logChange('*', '*'));
    this.changes = this.changeFeed();
    this.commitTx = this.commitTransaction();
    this.unitTx = this.db.transaction((writes: readonly Write[]): void => { for (const w of writes) this.apply(w); });
  }

  /** Creates the schema on an empty file; refuses a file of another schema version. */
  private migrate(): void {
    const has = (t: string) => this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(t) !== undefined;
    if (has('objects') && !has('integrity')) {
      throw new Error(`${this.file} was written by Inkan 0.1 (store schema 1); this version reads schema ${SCHEMA_VERSION}. `
        + 'Start from an empty data directory (old backups do not restore either).');
    }
    this.db.transaction(() => {
      for (const def of [...RECORD_TABLES, ...PLAIN_TABLES]) for (const sql of createTableSql(def)) this.db.exec(sql);
      this.db.exec(`CREATE TABLE IF NOT EXISTS ${CHANGE_LOG_TABLE} (seq INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, id TEXT NOT NULL)`);
      this.db.exec(AUDIT_SCHEMA);
      const v = this.db.prepare("SELECT value FROM meta WHERE name = 'schema_version'").get() as { value: Buffer } | undefined;
      if (!v) this.db.prepare("INSERT INTO meta (name, value) VALUES ('schema_version', ?)").run(Buffer.from(String(SCHEMA_VERSION)));
      else if (Number(v.value.toString()) !== SCHEMA_VERSION) throw new Error(`${this.file} has store schema ${v.value.toString()}; this version reads ${SCHEMA_VERSION}`);
    }).immediate();
  }

  private stmt(key: string, sql: () => string): Database.Statement {
    let s = this.statements.get(key);
    if (!s) { s = this.db.prepare(sql()); this.statements.set(key, s); }
    return s;
  }

  async getMeta(name: string): Promise<Buffer | undefined> {
    const row = this.stmt('meta:get', () => 'SELECT value FROM meta WHERE name = ?').get(name) as { value: Buffer } | undefined;
    return row?.value;
  }

  async putMeta(values: Record<string, Buffer>): Promise<void> {
    const put = this.stmt('meta:put', () => 'INSERT INTO meta (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value');
    this.db.transaction(() => { for (const [k, v] of Object.entries(values)) { put.run(k, v); this.logChange('meta', k); } }).immediate();
  }

  async get(table: TableName, id: string): Promise<RecordRow | undefined> {
    const def = this.recordDef(table);
    const r = this.stmt(`get:${table}`, () => `SELECT * FROM ${table} WHERE id = ?`).get(id) as Record<string, unknown> | undefined;
    return r && recordFromSql(def, r);
  }

  async find(table: TableName, where: Record<string, ColumnValue>, opts: FindOptions = {}): Promise<RecordRow[]> {
    const def = this.recordDef(table);
    const { clause, params, shape } = this.where(table, where);
    const after = opts.after !== undefined;
    const sql = `SELECT * FROM ${table} WHERE ${clause}${after ? ' AND id > @__after' : ''} ORDER BY id LIMIT @__limit`;
    const rows = this.stmt(`find:${table}:${shape}:${after}`, () => sql)
      .all({ ...params, __after: opts.after, __limit: Math.min(opts.limit ?? MAX_FIND, MAX_FIND) }) as Record<string, unknown>[];
    return rows.map((r) => recordFromSql(def, r));
  }

  /** In rowid order: one sequential pass over the table's pages (id order would look up each row). */
  async versions(table: TableName, after: number, limit: number): Promise<RowVersion[]> {
    this.recordDef(table);
    return this.stmt(`versions:${table}`, () => `SELECT rowid AS pos, id, version, mac FROM ${table} WHERE rowid > ? ORDER BY rowid LIMIT ?`)
      .all(after, Math.min(limit, MAX_FIND)) as RowVersion[];
  }

  async count(table: TableName, where: Record<string, ColumnValue>): Promise<number> {
    const { clause, params, shape } = this.where(table, where);
    return (this.stmt(`count:${table}:${shape}`, () => `SELECT COUNT(*) AS n FROM ${table} WHERE ${clause}`).get(params) as { n: number }).n;
  }

  async findPlain(table: TableName, where: PlainRow, limit = MAX_FIND): Promise<PlainRow[]> {
    if (tableDef(table).kind !== 'plain') throw new Error(`${table} is not a plain table`);
    const { clause, params, shape } = this.where(table, where);
    return this.stmt(`findp:${table}:${shape}`, () => `SELECT * FROM ${table} WHERE ${clause} LIMIT @__limit`)
      .all({ ...params, __limit: Math.min(limit, MAX_FIND) }) as PlainRow[];
  }

  async commit(req: CommitRequest): Promise<CommitResult> {
    const want = req.durable ? 'FULL' : 'NORMAL';
    if (want !== this.synchronous) { this.stmt(`pragma:${want}`, () => `PRAGMA synchronous = ${want}`).run(); this.synchronous = want; }
    const result = this.commitTx.immediate(req);
    if (++this.commits % 1000 === 0) this.pruneChangeLog();
    return result;
  }

  /** One commit's transaction, made once in the constructor (db.transaction() builds its wrappers on every call). */
  private commitTransaction(): Database.Transaction<(req: CommitRequest) => CommitResult> {
    return this.db.transaction((req: CommitRequest): CommitResult => this.commitUnits(req));
  }

  private commitUnits(req: CommitRequest): CommitResult {
    // The newest change-log seq this transaction wrote, from the inserts' own rowids (one
    // writer holds the IMMEDIATE lock, and AUTOINCREMENT only grows): no MAX(seq) queries.
    this.logged = 0;
    const outcomes: UnitOutcome[] = [];
    for (const unit of req.units) {
      // A unit that writes nothing (a key use: only its audit record) cannot fail: no savepoint.
      if (unit.writes.length === 0) { outcomes.push({ ok: true }); continue; }
      const mark = this.logged;
      try {
        this.unitTx(unit.writes);
        outcomes.push({ ok: true });
      } catch (err) {
        if (!(err instanceof UnitError)) throw err;
        this.logged = mark; // its savepoint rolled its change-log rows back
        outcomes.push({ ok: false, code: err.code });
      }
    }
    const finish = req.finish(this.audit.headSync(req.chain), outcomes);
    for (const w of finish.writes) this.apply(w);
    this.audit.insertSync(finish.audit);
    return { outcomes, audit: finish.audit, changeSeq: this.logged };
  }

  async close(): Promise<void> { this.db.close(); }

  /** Test hook: raw access to the file, to prove tampering is detected. Not used by the module. */
  rawDatabase(): Database.Database { return this.db; }

  // --- internals -----------------------------------------------------------------------------

  private recordDef(table: TableName) {
    const def = tableDef(table);
    if (def.kind !== 'record') throw new Error(`${table} is not a record table`);
    return def;
  }

  /** `a = @a AND b = @b` over checked column names (never caller text). */
  private where(table: TableName, where: Record<string, unknown>): { clause: string; params: Record<string, unknown>; shape: string } {
    const allowed = filterableColumns(tableDef(table));
    const cols = Object.keys(where).sort();
    for (const c of cols) if (!allowed.has(c)) throw new Error(`cannot filter ${table} on ${c}`);
    const params: Record<string, unknown> = {};
    for (const c of cols) params[c] = where[c];
    return { clause: cols.length ? cols.map((c) => `"${c}" = @${c}`).join(' AND ') : '1 = 1', params, shape: cols.join(',') };
  }

  private apply(w: Write): void {
    const def = tableDef(w.table);
    const t = w.table;
    switch (w.op) {
      case 'insert': {
        if (def.kind !== 'record') throw new Error(`${t} is not a record table`);
        const cols = ['id', 'partition', 'version', 'created', ...Object.keys(def.columns), 'data', 'sealed', 'mac'];
        try {
          this.stmt(`ins:${t}`, () => `INSERT INTO ${t} (${cols.map((c) => `"${c}"`).join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`)
            .run(recordParams(def, w.row));
        } catch (err) {
          if (String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw new UnitError('EXISTS');
          throw err;
        }
        this.logChange(t, w.row.id);
        return;
      }
      case 'update': {
        if (def.kind !== 'record') throw new Error(`${t} is not a record table`);
        const cols = ['partition', 'version', 'created', ...Object.keys(def.columns), 'data', 'sealed', 'mac'];
        let res: Database.RunResult;
        try {
          res = this.stmt(`upd:${t}`, () => `UPDATE ${t} SET ${cols.map((c) => `"${c}" = @${c}`).join(', ')} WHERE id = @id AND version = @__expected`)
            .run({ ...recordParams(def, w.row), __expected: w.expected });
        } catch (err) {
          if (String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw new UnitError('EXISTS');
          throw err;
        }
        if (res.changes !== 1) throw new UnitError('STORE_CONFLICT');
        this.logChange(t, w.row.id);
        return;
      }
      case 'delete': {
        const res = w.expected === undefined
          ? this.stmt(`del:${t}`, () => `DELETE FROM ${t} WHERE id = ?`).run(w.id)
          : this.stmt(`delv:${t}`, () => `DELETE FROM ${t} WHERE id = ? AND version = ?`).run(w.id, w.expected);
        if (w.expected !== undefined && res.changes !== 1) throw new UnitError('STORE_CONFLICT');
        if (res.changes) this.logChange(t, w.id);
        return;
      }
      case 'put': {
        if (def.kind !== 'plain') throw new Error(`${t} is not a plain table`);
        const cols = Object.keys(def.columns);
        this.stmt(`put:${t}`, () => `INSERT OR REPLACE INTO ${t} (${cols.map((c) => `"${c}"`).join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`)
          .run(Object.fromEntries(cols.map((c) => [c, w.row[c] ?? null])));
        this.logChange(t, def.key.map((k) => String(w.row[k])).join('/'));
        return;
      }
      case 'consume': {
        if (def.kind !== 'record') throw new Error(`${t} is not a record table`);
        // One statement decides (SQLite has one writer; RETURNING gives the row as it now is, MAC unchanged).
        const got = this.stmt(`cons:${t}`, () => `UPDATE ${t} SET version = version + 1 WHERE id = ? AND version < ? RETURNING *`)
          .get(w.id, w.below) as Record<string, unknown> | undefined;
        if (!got) {
          const exists = this.stmt(`has:${t}`, () => `SELECT 1 FROM ${t} WHERE id = ?`).get(w.id) !== undefined;
          throw new UnitError(exists ? 'KEY_USES_EXHAUSTED' : 'STORE_CORRUPT');
        }
        const stored = recordFromSql(def, got);
        const mac = w.reseal({ ...stored, version: stored.version - 1 });
        if (!mac) throw new UnitError('STORE_CORRUPT');
        this.stmt(`consmac:${t}`, () => `UPDATE ${t} SET mac = ? WHERE id = ?`).run(mac, w.id);
        this.logChange(t, w.id);
        return;
      }
      case 'remove': {
        if (def.kind !== 'plain') throw new Error(`${t} is not a plain table`);
        this.stmt(`rm:${t}`, () => `DELETE FROM ${t} WHERE ${def.key.map((k) => `"${k}" = @${k}`).join(' AND ')}`)
          .run(Object.fromEntries(def.key.map((k) => [k, w.key[k] ?? null])));
        this.logChange(t, def.key.map((k) => String(w.key[k])).join('/'));
        return;
      }
    }
  }

  private logChange(table: string, id: string): void {
    this.logged = Number(this.stmt('log', () => `INSERT INTO ${CHANGE_LOG_TABLE} (tbl, id) VALUES (?, ?)`).run(table, id).lastInsertRowid);
  }

  private lastChangeSeq(): number {
    return (this.stmt('log:last', () => `SELECT COALESCE(MAX(seq), 0) AS s FROM ${CHANGE_LOG_TABLE}`).get() as { s: number }).s;
  }

  private pruneChangeLog(): void {
    this.stmt('log:prune', () => `DELETE FROM ${CHANGE_LOG_TABLE} WHERE seq <= ?`).run(this.lastChangeSeq() - CHANGE_LOG_KEEP);
  }

  private changeFeed(): ChangeFeed {
    // Prepared once: db.pragma() would prepare a statement on every operation's sync().
    const dataVersion = this.db.prepare('PRAGMA data_version').pluck();
    let seen = dataVersion.get() as number;
    // The newest change-log entry and the newest audit record and checkpoint (rowids: one index step each).
    const appendMark = this.db.prepare(`SELECT (SELECT COALESCE(MAX(seq), 0) FROM ${CHANGE_LOG_TABLE}) AS log,
      (SELECT COALESCE(MAX(rowid), 0) FROM audit) AS audit, (SELECT COALESCE(MAX(rowid), 0) FROM audit_checkpoints) AS cps`);
    let last = appendMark.get() as { log: number; audit: number; cps: number };
    return {
      latest: async () => this.lastChangeSeq(),
      since: async (seq, limit) => (this.stmt('log:since', () => `SELECT seq, tbl AS "table", id FROM ${CHANGE_LOG_TABLE} WHERE seq > ? ORDER BY seq LIMIT ?`)
        .all(seq, Math.min(limit, MAX_FIND)) as { seq: number; table: string; id: string }[]),
      // Another process's commit changes data_version (this connection's own commits do not). A
      // commit that only appended audit records or checkpoints (another worker's key uses, the
      // common case with `--workers`) changes no cached row: it is not news. Anything else that
      // left the change log as it was is a write behind the module's back (core/coherence.ts).
      poll: () => {
        try {
          const now = dataVersion.get() as number;
          if (now === seen) return false;
          seen = now;
          const mark = appendMark.get() as { log: number; audit: number; cps: number };
          const onlyAppended = mark.log === last.log && (mark.audit !== last.audit || mark.cps !== last.cps);
          last = mark;
          return !onlyAppended;
        } catch { return true; }
      },
      subscribe: () => () => {},
    };
  }
}
