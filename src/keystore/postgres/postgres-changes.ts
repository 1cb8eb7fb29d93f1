// The change feed on PostgreSQL: every write appends to change_log in commit order, each commit
// NOTIFYs `inkan_changes` with its last sequence number, and a dedicated LISTEN connection per
// store wakes its subscribers. NOTIFY may be lost (connection drop, restart); the log is the
// safety net, and the listener reconnects and wakes everyone when it comes back.
import type { Client } from 'pg';
import { CHANGE_LOG_TABLE } from '../schema';
import type { ChangeFeed, ChangeRow } from '../types';
import { wrapError, type Db, type Query } from './postgres-db';
import { LOCK_CHANGE_ORDER } from './postgres-schema';

export const CHANNEL = 'inkan_changes';
const MAX_SINCE = 10_000;
/** Own commits remembered so their notifications are not taken for another writer's. */
const MAX_OWN = 1_000;

/** Appends `changes` ([table, id]) to the log and queues the NOTIFY (sent by PostgreSQL at
 *  COMMIT, and only if the transaction commits). Returns the last sequence number, or 0. */
export async function appendChanges(q: Query, changes: [string, string][]): Promise<number> {
  if (!changes.length) return 0;
  // Sequence numbers must follow commit order, or a reader that has seen seq 7 could later find
  // a 6 that committed after it and never read it. Holding this lock from nextval to COMMIT (it
  // is transaction-scoped) makes every later writer take larger numbers and commit after us.
  await q('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_CHANGE_ORDER]);
  const { rows } = await q<{ last: number }>(`WITH ins AS (
      INSERT INTO "${CHANGE_LOG_TABLE}" ("tbl", "id")
      SELECT t, i FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS c(t, i, n) ORDER BY n RETURNING "seq")
    SELECT max("seq") AS last, pg_notify($3, max("seq")::text)::text AS notified FROM ins`,
  [changes.map((c) => c[0]), changes.map((c) => c[1]), CHANNEL]);
  return rows[0].last;
}

export class PostgresChangeFeed implements ChangeFeed {
  /** Nodes on other machines write: NOTIFY is a wake-up, the log read before each operation is the rule. */
  readonly shared = true;
  private client: Client | undefined;
  private closed = false;
  private pending = false;
  private readonly subscribers = new Set<() => void>();
  private readonly own = new Set<number>();
  private retryMs = 250;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;

  constructor(private readonly db: Db, heartbeatMs = 30_000) {
    // A LISTEN connection to a server that hangs (or behind a dead network path) looks healthy;
    // a periodic query with the client timeout finds out and reconnects.
    this.heartbeat = setInterval(() => { void this.check(); }, heartbeatMs);
    this.heartbeat.unref();
  }

  /** Connects the LISTEN client; rejects with a clear error if the database is unreachable. */
  async start(): Promise<void> { await this.connect(); }

  async latest(): Promise<number> {
    return (await this.db.query<{ s: number }>('change feed latest', `SELECT COALESCE(MAX("seq"), 0) AS s FROM "${CHANGE_LOG_TABLE}"`))[0].s;
  }

  async since(seq: number, limit: number): Promise<ChangeRow[]> {
    return this.db.query<ChangeRow>('change feed since',
      `SELECT "seq", "tbl" AS "table", "id" FROM "${CHANGE_LOG_TABLE}" WHERE "seq" > $1 ORDER BY "seq" LIMIT $2`,
      [seq, Math.max(0, Math.min(limit, MAX_SINCE))]);
  }

  subscribe(cb: () => void): () => void {
    const entry = () => cb();
    this.subscribers.add(entry);
    return () => { this.subscribers.delete(entry); };
  }

  poll(): boolean {
    const was = this.pending;
    this.pending = false;
    return was;
  }

  /** This store committed `seq`: its own NOTIFY is not news. Called before COMMIT is sent. */
  markOwn(seq: number): void {
    this.own.add(seq);
    if (this.own.size > MAX_OWN) this.own.delete(this.own.values().next().value as number);
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.reconnectTimer);
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => undefined);
  }

  // --- internals -----------------------------------------------------------------------------

  private async connect(): Promise<void> {
    const c = this.db.newClient();
    c.on('error', () => this.lost(c));
    c.on('end', () => this.lost(c));
    c.on('notification', (n) => this.notified(n.payload));
    try {
      await c.connect();
      await c.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      c.removeAllListeners('end');
      await c.end().catch(() => undefined);
      throw wrapError(err, this.db.target, 'LISTEN');
    }
    if (this.closed) { await c.end().catch(() => undefined); return; }
    this.client = c;
  }

  private notified(payload: string | undefined): void {
    if (this.own.delete(Number(payload))) return;
    this.wake();
  }

  private wake(): void {
    this.pending = true;
    for (const cb of this.subscribers) {
      try { cb(); } catch { /* a subscriber's failure is its own; the others still hear */ }
    }
  }

  /** The LISTEN connection died: whatever was notified meanwhile is lost, so wake everyone
   *  (they read the log) and reconnect with backoff. */
  private lost(c: Client): void {
    if (this.client !== c) return;
    this.client = undefined;
    c.end().catch(() => undefined);
    this.wake();
    this.scheduleReconnect();
  }

  private scheduleReconnect(): void {
    if (this.closed || this.reconnectTimer) return;
    this.reconnectTimer = setTimeout(async () => {
      this.reconnectTimer = undefined;
      try {
        await this.connect();
        this.retryMs = 250;
        this.wake();
      } catch {
        this.retryMs = Math.min(this.retryMs * 2, 5_000);
        this.scheduleReconnect();
      }
    }, this.retryMs);
    this.reconnectTimer.unref();
  }

  private async check(): Promise<void> {
    const c = this.client;
    if (!c) return;
    try { await c.query('SELECT 1'); } catch { this.lost(c); }
  }
}
