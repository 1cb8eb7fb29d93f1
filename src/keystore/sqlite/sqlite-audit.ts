// The audit chains on SQLite: append-only tables, written only inside KeyStore.commit (so a
// change and its record commit together), read in pages for streaming exports.
import type Database from 'better-sqlite3';
import type { AuditHead, AuditRecordRow, AuditStore, CheckpointRow } from '../types';

export const AUDIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit (chain TEXT NOT NULL, seq INTEGER NOT NULL, time TEXT NOT NULL, prev TEXT NOT NULL,
  hash TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (chain, seq));
CREATE INDEX IF NOT EXISTS audit_time ON audit (chain, time);
CREATE TABLE IF NOT EXISTS audit_checkpoints (chain TEXT NOT NULL, seq INTEGER NOT NULL, hash TEXT NOT NULL, time TEXT NOT NULL,
  node TEXT NOT NULL, signature TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_checkpoints_seq ON audit_checkpoints (chain, seq);
`;
export const GENESIS_HASH = '0'.repeat(64);

export class SqliteAuditStore implements AuditStore {
  private readonly s: Record<'head' | 'insert' | 'list' | 'atTime' | 'chains' | 'putCp' | 'listCp' | 'lastCp', Database.Statement>;

  constructor(private readonly db: Database.Database) {
    this.s = {
      head: db.prepare('SELECT seq, hash FROM audit WHERE chain = ? ORDER BY seq DESC LIMIT 1'),
      insert: db.prepare('INSERT INTO audit (chain, seq, time, prev, hash, body) VALUES (@chain, @seq, @time, @prev, @hash, @body)'),
      list: db.prepare('SELECT chain, seq, time, prev, hash, body FROM audit WHERE chain = ? AND seq >= ? ORDER BY seq LIMIT ?'),
      atTime: db.prepare('SELECT seq FROM audit WHERE chain = ? AND time >= ? ORDER BY time, seq LIMIT 1'),
      // A loose index scan: one primary-key seek per chain, where DISTINCT reads the whole log.
      chains: db.prepare(`WITH RECURSIVE c(chain) AS (SELECT (SELECT chain FROM audit ORDER BY chain LIMIT 1)
        UNION ALL SELECT (SELECT a.chain FROM audit a WHERE a.chain > c.chain ORDER BY a.chain LIMIT 1) FROM c WHERE c.chain IS NOT NULL)
        SELECT chain FROM c WHERE chain IS NOT NULL`),
      putCp: db.prepare('INSERT INTO audit_checkpoints (chain, seq, hash, time, node, signature) VALUES (@chain, @seq, @hash, @time, @node, @signature)'),
      listCp: db.prepare('SELECT chain, seq, hash, time, node, signature FROM audit_checkpoints WHERE chain = ? AND seq >= ? AND seq <= ? ORDER BY seq, rowid'),
      lastCp: db.prepare('SELECT chain, seq, hash, time, node, signature FROM audit_checkpoints WHERE chain = ? ORDER BY seq DESC, rowid DESC LIMIT 1'),
    };
  }

  headSync(chain: string): AuditHead {
    return (this.s.head.get(chain) as AuditHead | undefined) ?? { seq: 0, hash: GENESIS_HASH };
  }

  insertSync(rows: AuditRecordRow[]): void {
    for (const r of rows) this.s.insert.run(r);
  }

  async head(chain: string): Promise<AuditHead> { return this.headSync(chain); }

  async list(chain: string, fromSeq: number, limit: number): Promise<AuditRecordRow[]> {
    return this.s.list.all(chain, fromSeq, limit) as AuditRecordRow[];
  }

  async seqAtTime(chain: string, time: string): Promise<number | undefined> {
    return (this.s.atTime.get(chain, time) as { seq: number } | undefined)?.seq;
  }

  async chains(): Promise<string[]> {
    return (this.s.chains.all() as { chain: string }[]).map((r) => r.chain);
  }

  async putCheckpoint(cp: CheckpointRow): Promise<void> { this.s.putCp.run(cp); }

  async listCheckpoints(chain: string, fromSeq = 0, toSeq = Number.MAX_SAFE_INTEGER): Promise<CheckpointRow[]> {
    return this.s.listCp.all(chain, fromSeq, toSeq) as CheckpointRow[];
  }

  async lastCheckpoint(chain: string): Promise<CheckpointRow | undefined> {
    return this.s.lastCp.get(chain) as CheckpointRow | undefined;
  }
}
