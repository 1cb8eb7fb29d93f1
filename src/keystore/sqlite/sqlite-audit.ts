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
  // Prepared once: the append path runs for every audited operation.
  private statements?: { head: Database.Statement; insert: Database.Statement; append: (build: (h: AuditHead) => AuditRecordRow[]) => AuditRecordRow[] };

  private head_?: AuditHead;

  constructor(private readonly db: Database.Database) {
    db.exec(AUDIT_SCHEMA);
  }

  /** Prepared lazily, so that a missing table (a broken store) fails the write, not the constructor. */
  private prepared() {
    if (!this.statements) {
      const head = this.db.prepare('SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1');
      const insert = this.db.prepare('INSERT INTO audit (seq, prev, hash, body) VALUES (@seq, @prev, @hash, @body)');
      // The head is read once and then kept: this store is one process's (PostgreSQL reads it per batch).
      const txn = this.db.transaction((build: (h: AuditHead) => AuditRecordRow[]) => {
        const rows = build(this.head_ ?? (head.get() as AuditHead | undefined) ?? GENESIS);
        for (const r of rows) insert.run(r);
        return rows;
      });
      this.statements = {
        head, insert,
        append: (build) => {
          const rows = txn.immediate(build);
          if (rows.length) this.head_ = { seq: rows[rows.length - 1].seq, hash: rows[rows.length - 1].hash };
          return rows;
        },
      };
    }
    return this.statements;
  }

  private headSync(): AuditHead {
    return this.head_ ?? (this.prepared().head.get() as AuditHead | undefined) ?? GENESIS;
  }

  async append(build: (head: AuditHead) => AuditRecordRow[]): Promise<AuditRecordRow[]> {
    try {
      return this.prepared().append(build);
    } catch (err) {
      this.statements = undefined; // re-prepare next time (the schema may have changed under us)
      this.head_ = undefined;
      throw err;
    }
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
