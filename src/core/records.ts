// Rows in and out of the untrusted store for every core service: MACs made on the way in and
// checked on the way out, and a high-water mark per row so that a row put back at an older
// version while this process runs is refused at once (the integrity scan catches the rest:
// integrity.ts). Nothing read from the store is used before it passed `check`.
import { HsmError } from '../errors/hsm-error';
import { checkRecord, DomainKeys, macRecord } from '../keystore/seal';
import type { TableName } from '../keystore/schema';
import type { ColumnValue, FindOptions, KeyStore, RecordRow } from '../keystore/types';
import { LruCache } from './coherence';

/** Rows whose newest version this process remembers (beyond this, the integrity scan covers them). */
const MARKS = 200_000;

export class Records {
  private readonly marks = new LruCache<number>(MARKS);

  constructor(readonly store: KeyStore, private readonly keys: () => DomainKeys) {}

  /** A new row (version 1) or the next version of `old`, MACed. */
  make(table: TableName, fields: Omit<RecordRow, 'mac' | 'version' | 'created'> & { created?: number }, old?: RecordRow): RecordRow {
    return macRecord(this.keys(), table, {
      ...fields, created: old?.created ?? fields.created ?? Date.now(), version: old ? old.version + 1 : 1,
    });
  }

  /** The row if its MAC verifies and it is not older than a version this process saw. */
  check(table: TableName, row: RecordRow): RecordRow {
    checkRecord(this.keys(), table, row);
    const key = `${table}/${row.id}`;
    const seen = this.marks.get(key);
    if (seen !== undefined && row.version < seen) {
      throw new HsmError('STORE_CORRUPT', `stored ${table} row ${row.id.slice(0, 64)} was rolled back to version ${row.version} (this module wrote ${seen}) and was not used`);
    }
    this.marks.set(key, row.version);
    return row;
  }

  /** Remembers a version this process wrote (called once the commit succeeded). */
  wrote(table: TableName, row: RecordRow): void {
    this.marks.set(`${table}/${row.id}`, row.version);
  }

  async get(table: TableName, id: string): Promise<RecordRow | undefined> {
    const row = await this.store.get(table, id);
    return row && this.check(table, row);
  }

  /** Checked rows of a find; rows failing their check are passed to `onCorrupt` and left out. */
  async find(table: TableName, where: Record<string, ColumnValue>, opts?: FindOptions, onCorrupt?: (id: string, err: HsmError) => void): Promise<RecordRow[]> {
    const out: RecordRow[] = [];
    for (const row of await this.store.find(table, where, opts)) {
      try { out.push(this.check(table, row)); } catch (err) {
        if (err instanceof HsmError && err.code === 'STORE_CORRUPT' && onCorrupt) onCorrupt(row.id, err); else throw err;
      }
    }
    return out;
  }

  /** Every checked row matching `where`, page by page (for listings that must see them all). */
  async *all(table: TableName, where: Record<string, ColumnValue>, onCorrupt?: (id: string, err: HsmError) => void): AsyncGenerator<RecordRow> {
    for (let after: string | undefined; ;) {
      const raw = await this.store.find(table, where, { after, limit: 1000 });
      for (const row of raw) {
        try { yield this.check(table, row); } catch (err) {
          if (err instanceof HsmError && err.code === 'STORE_CORRUPT' && onCorrupt) onCorrupt(row.id, err); else throw err;
        }
      }
      if (raw.length < 1000) return;
      after = raw[raw.length - 1].id;
    }
  }

  forget(): void { this.marks.clear(); }
}
