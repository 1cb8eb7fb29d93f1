// The audit chains on PostgreSQL: append-only tables, written only inside KeyStore.commit (so a
// change and its record commit together), read in pages for streaming exports. Same API and
// ordering as the SQLite store (sqlite-audit.ts).
import type { AuditHead, AuditRecordRow, AuditStore, CheckpointRow } from '../types';
import type { Db, Query } from './postgres-db';

export const GENESIS_HASH = '0'.repeat(64);
const CP_COLS = '"chain", "seq", "hash", "time", "node", "signature"';

export class PostgresAuditStore implements AuditStore {
  constructor(private readonly db: Db) {}

  /** The head as this transaction sees it (the caller holds the chain's lock). */
  async headIn(q: Query, chain: string): Promise<AuditHead> {
    const { rows } = await q<AuditHead>('SELECT "seq", "hash" FROM "audit" WHERE "chain" = $1 ORDER BY "seq" DESC LIMIT 1', [chain]);
    return rows[0] ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** All records in one statement (arrays unnested), whatever their number. */
  async insertIn(q: Query, rows: AuditRecordRow[]): Promise<void> {
    if (!rows.length) return;
    const col = <K extends keyof AuditRecordRow>(k: K) => rows.map((r) => r[k]);
    await q(`INSERT INTO "audit" ("chain", "seq", "time", "prev", "hash", "body")
      SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])`,
    [col('chain'), col('seq'), col('time'), col('prev'), col('hash'), col('body')]);
  }

  async head(chain: string): Promise<AuditHead> {
    const rows = await this.db.query<AuditHead>('audit head', 'SELECT "seq", "hash" FROM "audit" WHERE "chain" = $1 ORDER BY "seq" DESC LIMIT 1', [chain]);
    return rows[0] ?? { seq: 0, hash: GENESIS_HASH };
  }

  async list(chain: string, fromSeq: number, limit: number): Promise<AuditRecordRow[]> {
    return this.db.query<AuditRecordRow>('audit list',
      'SELECT "chain", "seq", "time", "prev", "hash", "body" FROM "audit" WHERE "chain" = $1 AND "seq" >= $2 ORDER BY "seq" LIMIT $3',
      [chain, fromSeq, Math.max(0, limit)]);
  }

  async seqAtTime(chain: string, time: string): Promise<number | undefined> {
    const rows = await this.db.query<{ seq: number }>('audit seqAtTime',
      'SELECT "seq" FROM "audit" WHERE "chain" = $1 AND "time" >= $2 ORDER BY "time", "seq" LIMIT 1', [chain, time]);
    return rows[0]?.seq;
  }

  async chains(): Promise<string[]> {
    // A loose index scan: one primary-key seek per chain, where DISTINCT reads the whole log
    // (GetKeyLastUsage and every export list the chains).
    return (await this.db.query<{ chain: string }>('audit chains', `WITH RECURSIVE c("chain") AS (
      SELECT (SELECT "chain" FROM "audit" ORDER BY "chain" LIMIT 1)
      UNION ALL SELECT (SELECT a."chain" FROM "audit" a WHERE a."chain" > c."chain" ORDER BY a."chain" LIMIT 1) FROM c WHERE c."chain" IS NOT NULL)
      SELECT "chain" FROM c WHERE "chain" IS NOT NULL`)).map((r) => r.chain);
  }

  async putCheckpoint(cp: CheckpointRow): Promise<void> {
    await this.db.query('audit putCheckpoint', `INSERT INTO "audit_checkpoints" (${CP_COLS}) VALUES ($1, $2, $3, $4, $5, $6)`,
      [cp.chain, cp.seq, cp.hash, cp.time, cp.node, cp.signature]);
  }

  async listCheckpoints(chain: string, fromSeq = 0, toSeq = Number.MAX_SAFE_INTEGER): Promise<CheckpointRow[]> {
    return this.db.query<CheckpointRow>('audit listCheckpoints',
      `SELECT ${CP_COLS} FROM "audit_checkpoints" WHERE "chain" = $1 AND "seq" >= $2 AND "seq" <= $3 ORDER BY "seq", "n"`, [chain, fromSeq, toSeq]);
  }

  async lastCheckpoint(chain: string): Promise<CheckpointRow | undefined> {
    const rows = await this.db.query<CheckpointRow>('audit lastCheckpoint',
      `SELECT ${CP_COLS} FROM "audit_checkpoints" WHERE "chain" = $1 ORDER BY "seq" DESC, "n" DESC LIMIT 1`, [chain]);
    return rows[0];
  }
}
