// The connection layer of the PostgreSQL store: a bounded pool with timeouts on every step (a
// database that goes away or hangs makes a call reject, never wait for ever), BIGINT parsed to
// numbers, statements prepared once per connection, and errors that say what went wrong without
// leaking the password of the connection URL.
import { Client, Pool, types as pgTypes, type ClientConfig, type PoolClient, type QueryResultRow } from 'pg';

export interface PostgresOptions {
  /** postgres://user[:password]@host[:port]/database, or ?host=/socket/dir for a unix socket. */
  url: string;
  /** Connections in the pool (the LISTEN client comes on top). */
  poolSize?: number;
  /** Callers that may wait for a free connection; more are refused at once (STORE_BUSY). */
  maxWaiting?: number;
  /** Establishing a connection, or waiting for a free one. */
  connectTimeoutMs?: number;
  /** One statement on the server (statement_timeout, lock waits included); the client gives up
   *  a little later if the server does not answer at all. */
  statementTimeoutMs?: number;
  /** Change-log rows kept, and how many commits of this store between prunes. */
  changeLogKeep?: number;
  pruneEvery?: number;
}

export type Query = <R extends QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]) => Promise<{ rows: R[]; rowCount: number }>;

/** The store cannot reach PostgreSQL, or PostgreSQL did not answer in time. Retrying later may work.
 *  `broken` says the connection itself failed (it is dropped, not reused). `commitUnknown` says
 *  it failed during COMMIT: the transaction may have committed or not, and only reading tells. */
export class StoreUnavailableError extends Error {
  readonly code = 'STORE_UNAVAILABLE';
  constructor(message: string, readonly broken: boolean, readonly commitUnknown = false) { super(message); this.name = 'StoreUnavailableError'; }
}

const OID_INT8 = 20;
/** BIGINT comes back as a string (it may exceed 2^53); every BIGINT we store is a count, a
 *  version or a millisecond time, so a number, and one that is not safe is refused, not rounded. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`BIGINT ${text.slice(0, 30)} is beyond 2^53`);
  return n;
}
const TYPES = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === OID_INT8 && format !== 'binary' ? parseInt8 : pgTypes.getTypeParser(oid, format as 'text')) as typeof pgTypes.getTypeParser,
};

/** user@host:port/db for messages (a unix socket directory in brackets): never the password. */
export function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    const socket = u.searchParams.get('host');
    const host = socket ? `[${socket}]${u.port ? `:${u.port}` : ''}` : u.host;
    return `${decodeURIComponent(u.username)}@${host}${decodeURIComponent(u.pathname)}`;
  } catch { return '(unparsable URL)'; }
}

/** SQLSTATEs meaning the server is gone or refusing sessions: class 08, admin/crash shutdown,
 *  cannot connect now, too many connections. */
const UNAVAILABLE_STATE = /^(08...|57P0[1-4]|53300)$/;

export function isSqlError(err: unknown): err is Error & { code: string } {
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && /^[0-9A-Z]{5}$/.test((err as unknown as { code: string }).code);
}

/** Turns an error of the pg driver into one that names the store and the step, never the
 *  password; SQL errors keep their SQLSTATE in `code` (23505 is how a unit learns of EXISTS). */
export function wrapError(err: unknown, target: string, what: string): Error {
  if (err instanceof StoreUnavailableError) return err;
  const e = err as Error & { code?: string };
  const msg = String(e?.message ?? err).slice(0, 300);
  if (isSqlError(e)) {
    if (UNAVAILABLE_STATE.test(e.code)) return new StoreUnavailableError(`PostgreSQL store ${target} is unavailable (${what}): ${msg}`, true);
    if (e.code === '57014' || e.code === '55P03') return new StoreUnavailableError(`PostgreSQL store ${target} timed out (${what}): ${msg}`, false);
    if (e.code === '22021') return Object.assign(new Error(`PostgreSQL store ${target} refused ${what}: a text value holds a NUL character or invalid UTF-8`), { code: e.code });
    return Object.assign(new Error(`PostgreSQL store ${target} failed (${what}): ${msg} [${e.code}]`), { code: e.code });
  }
  // pg-pool's words for "every connection stayed busy for connectTimeoutMs".
  if (msg === 'timeout exceeded when trying to connect') return new StoreUnavailableError(`PostgreSQL store ${target} is busy (${what}): no connection came free in time`, false);
  // Our own checks (a BIGINT beyond 2^53, a value pg cannot serialise): the connection is fine.
  if (err instanceof RangeError || err instanceof TypeError) return new Error(`PostgreSQL store ${target} failed (${what}): ${msg}`);
  // Everything else the driver raises is about the connection: refused, reset, timed out.
  return new StoreUnavailableError(`PostgreSQL store ${target} is unreachable (${what}): ${msg}`, true);
}

export class Db {
  readonly target: string;
  readonly clientConfig: ClientConfig;
  private readonly pool: Pool;
  private readonly names = new Map<string, string>();
  private readonly maxWaiting: number;
  private readonly guarded = new WeakSet<PoolClient>();
  private ended = false;

  constructor(opts: PostgresOptions) {
    this.target = describeUrl(opts.url);
    const statement = opts.statementTimeoutMs ?? 15_000;
    this.clientConfig = {
      connectionString: opts.url,
      application_name: 'inkan',
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 5_000,
      statement_timeout: statement,
      // The server enforces statement_timeout; this catches a server that does not answer at all.
      query_timeout: statement + Math.min(2_000, Math.max(500, statement)),
      // A node that dies inside a transaction must not hold its locks for ever.
      idle_in_transaction_session_timeout: statement * 2,
      // TCP keepalive probes after 10 s idle, so a peer that vanished is noticed (the OS default is 2 h).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      types: TYPES,
    };
    this.maxWaiting = opts.maxWaiting ?? 1_000;
    this.pool = new Pool({ ...this.clientConfig, max: opts.poolSize ?? 10, idleTimeoutMillis: 30_000 });
    // An idle connection that dies (server restart) is dropped by the pool; without a listener
    // the error would be thrown at the process.
    this.pool.on('error', () => undefined);
  }

  /** A client outside the pool (the LISTEN connection). */
  newClient(): Client { return new Client(this.clientConfig); }

  private statementName(sql: string): string {
    let name = this.names.get(sql);
    if (!name) { name = `inkan_${this.names.size + 1}`; this.names.set(sql, name); }
    return name;
  }

  /** Runs statements on `client`; errors come back wrapped. */
  private runner(client: PoolClient, what: string): Query {
    return async (sql, params = []) => {
      try {
        // Parameterised statements are prepared (named) once per connection; the rest (BEGIN,
        // SAVEPOINT, DDL) go as simple queries.
        const res = params.length
          ? await client.query({ name: this.statementName(sql), text: sql, values: params })
          : await client.query(sql);
        return { rows: res.rows, rowCount: res.rowCount ?? 0 };
      } catch (err) { throw wrapError(err, this.target, what); }
    };
  }

  private async connect(what: string): Promise<PoolClient> {
    if (this.ended) throw new Error(`PostgreSQL store ${this.target} is closed (${what})`);
    if (this.pool.waitingCount >= this.maxWaiting) {
      throw Object.assign(new Error(`PostgreSQL store ${this.target} is busy (${what}): ${this.pool.waitingCount} calls wait for a connection`), { code: 'STORE_BUSY' });
    }
    let client: PoolClient;
    try { client = await this.pool.connect(); } catch (err) { throw wrapError(err, this.target, what); }
    // The pool listens for errors of idle clients only. A server that goes away between two
    // statements of a checked-out client emits 'error' on it, which would crash the process;
    // the next statement fails with "not queryable" instead, and the client is dropped.
    if (!this.guarded.has(client)) { this.guarded.add(client); client.on('error', () => undefined); }
    return client;
  }

  /** One statement on any pooled connection. */
  async query<R extends QueryResultRow = Record<string, unknown>>(what: string, sql: string, params: unknown[] = []): Promise<R[]> {
    const client = await this.connect(what);
    try {
      const { rows } = await this.runner(client, what)<R>(sql, params);
      client.release();
      return rows;
    } catch (err) {
      // A connection that failed below SQL (timeout, reset) is in an unknown state: drop it.
      client.release(err instanceof StoreUnavailableError && err.broken ? err : undefined);
      throw err;
    }
  }

  /** `fn` inside one transaction (READ COMMITTED unless `begin` says otherwise): COMMIT if it
   *  resolves, ROLLBACK if it throws (also when the caller's own code threw). */
  async tx<T>(what: string, fn: (query: Query) => Promise<T>, begin = 'BEGIN'): Promise<T> {
    const client = await this.connect(what);
    const query = this.runner(client, what);
    try {
      await query(begin);
      const out = await fn(query);
      try { await query('COMMIT'); } catch (err) {
        if (!(err instanceof StoreUnavailableError && err.broken)) throw err;
        throw new StoreUnavailableError(`${err.message}; the connection failed during COMMIT, so the transaction may or may not have committed`, true, true);
      }
      client.release();
      return out;
    } catch (err) {
      if (err instanceof StoreUnavailableError && err.broken) client.release(err);
      else {
        try { await query('ROLLBACK'); client.release(); } catch (rb) { client.release(rb as Error); }
      }
      throw err;
    }
  }

  /** Ends the pool (once; later calls do nothing), waiting for checked-out clients to return. */
  async end(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    await this.pool.end();
  }
}
