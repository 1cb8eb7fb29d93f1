// Whole-store operations on SQLite for backup, restore and zeroisation. Table names come from
// the schema itself (never from a caller), so they can be interpolated safely.
import type Database from 'better-sqlite3';
import type { BulkStore, RawRow } from '../types';

export class SqliteBulkStore implements BulkStore {
  /** `changed` tells other processes' caches that everything may have changed. */
  constructor(private readonly db: Database.Database, private readonly changed: () => void) {}

  private tables(): string[] {
    return (this.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[])
      .map((r) => r.name);
  }

  async dump(exclude: string[]): Promise<Record<string, RawRow[]>> {
    return this.db.transaction(() => {
      const out: Record<string, RawRow[]> = {};
      for (const t of this.tables()) if (!exclude.includes(t)) out[t] = this.db.prepare(`SELECT * FROM "${t}"`).all() as RawRow[];
      return out;
    })();
  }

  async replace(data: Record<string, RawRow[]>): Promise<void> {
    const known = new Set(this.tables());
    for (const t of Object.keys(data)) if (!known.has(t)) throw new Error(`unknown table ${t.slice(0, 40)}`);
    this.db.transaction(() => {
      for (const [t, rows] of Object.entries(data)) {
        this.db.prepare(`DELETE FROM "${t}"`).run();
        for (const row of rows) {
          const cols = Object.keys(row);
          if (!cols.every((c) => /^[a-z0-9_]+$/.test(c))) throw new Error('bad column name');
          this.db.prepare(`INSERT INTO "${t}" (${cols.map((c) => `"${c}"`).join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`).run(row);
        }
      }
      this.changed();
    }).immediate();
  }

  async wipe(keep: string[]): Promise<void> {
    this.db.pragma('secure_delete = ON');
    this.db.transaction(() => {
      for (const t of this.tables()) if (!keep.includes(t)) this.db.prepare(`DELETE FROM "${t}"`).run();
      this.changed();
    }).immediate();
    // Rewrite the file and empty the WAL so no freed page keeps an old sealed value.
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }
}
