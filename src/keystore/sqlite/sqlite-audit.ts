// The audit chain on SQLite: an append-only table written in one transaction per batch.
import type Database from 'better-sqlite3';
import type { AuditHead, AuditRecordRow, AuditStore, CheckpointRow } from '../types';

export const AUDIT_SCHEMA = `
CREATE TABLE IF NOT EXISTS audit (seq INTEGER PRIMARY KEY, prev TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_checkpoints (seq INTEGER NOT NULL, hash TEXT NOT NULL, time TEXT NOT NULL,
  node TEXT NOT NULL, signature TEXT NOT NULL);
`;
const GENESIS: AuditHead = { seq: 0, hash: '0'.repeat(64) };

export class SqliteAuditStore implements AuditStore {
  constructor(private readonly db: Database.Database) {
    db.exec(AUDIT_SCHEMA);
  }

  private headSync(): AuditHead {
    const row = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1').get() as AuditHead | undefined;
    return row ?? GENESIS;
  }

  async append(build: (head: AuditHead) => AuditRecordRow[]): Promise<AuditRecordRow[]> {
    const insert = this.db.prepare('INSERT INTO audit (seq, prev, hash, body) VALUES (@seq, @prev, @hash, @body)');
    return this.db.transaction(() => {
      const rows = build(this.headSync());
      for (const r of rows) insert.run(r);
      return rows;
    }).immediate();
  }

  async head(): Promise<AuditHead> { return this.headSync(); }

  async list(fromSeq: number, limit: number): Promise<AuditRecordRow[]> {
    return this.db.prepare('SELECT seq, prev, hash, body FROM audit WHERE seq >= ? ORDER BY seq LIMIT ?').all(fromSeq, limit) as AuditRecordRow[];
  }

  async putCheckpoint(cp: CheckpointRow): Promise<void> {
    this.db.prepare('INSERT INTO audit_checkpoints (seq, hash, time, node, signature) VALUES (@seq, @hash, @time, @node, @signature)').run(cp);
  }

  async listCheckpoints(): Promise<CheckpointRow[]> {
    return this.db.prepare('SELECT seq, hash, time, node, signature FROM audit_checkpoints ORDER BY seq, rowid').all() as CheckpointRow[];
  }
}
