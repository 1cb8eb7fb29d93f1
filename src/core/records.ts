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

/** A version this process knows is in the store (committed), and when it learnt it (`Records.clock`). */
interface Mark { version: number; at: number }

export class Records {
  private readonly marks = new LruCache<Mark>(MARKS);
  /** Counts mark updates: a read notes it before it goes to the store, so that a mark raised while
   *  the read was in flight (a commit of this process answered first) is told from a rollback. */
  private clock = 0;

  constructor(readonly store: KeyStore, private readonly keys: () => DomainKeys) {}

  /** A new row (version 1) or the next version of `old`, MACed. */
  make(table: TableName, fields: Omit<RecordRow, 'mac' | 'version' | 'created'> & { created?: number }, old?: RecordRow): RecordRow {
    return macRecord(this.keys(), table, {
      ...fields, created: old?.created ?? fields.created ?? Date.now(), version: old ? old.version + 1 : 1,
    });
  }

  /** The row if its MAC verifies and it is not older than a version this process saw; the row was
   *  read outside any transaction, so it is committed, and its version becomes the mark. */
  check(table: TableName, row: RecordRow): RecordRow {
    return this.checkRead(table, row, this.marks.get(markKey(table, row.id))?.version);
  }

  /** `check` against `floor`, the version this process knew before the read was sent: a newer mark
   *  set while the read was in flight (its snapshot may predate that commit) is not a rollback. */
  private checkRead(table: TableName, row: RecordRow, floor: number | undefined): RecordRow {
    this.verify(table, row, floor);
    const key = markKey(table, row.id);
    const seen = this.marks.get(key);
    if (seen === undefined || row.version > seen.version) this.marks.set(key, { version: row.version, at: ++this.clock });
    return row;
  }

  /** MAC and high-water mark only, remembering nothing: for a row read inside a transaction that
   *  may not commit (it may be this very transaction's own uncommitted write, as when one batch
   *  consumes a counter twice). Such a row must not set a mark: a read outside the transaction
   *  would then meet a committed, older version and take it for a rollback. */
  verify(table: TableName, row: RecordRow, floor = this.marks.get(markKey(table, row.id))?.version): RecordRow {
    checkRecord(this.keys(), table, row);
    if (floor !== undefined && row.version < floor) {
      throw new HsmError('STORE_CORRUPT', `stored ${table} row ${row.id.slice(0, 64)} was rolled back to version ${row.version} (this module saw ${floor}) and was not used`);
    }
    return row;
  }

  /** Remembers a version this process wrote (called once the commit succeeded). */
  wrote(table: TableName, row: RecordRow): void {
    this.marks.set(markKey(table, row.id), { version: row.version, at: ++this.clock });
  }

  async get(table: TableName, id: string): Promise<RecordRow | undefined> {
    const floor = this.marks.get(markKey(table, id))?.version;
    const row = await this.store.get(table, id);
    return row && this.checkRead(table, row, floor);
  }

  /** A row of a find or listing: checked against the marks as they were when the read was sent; a row
   *  whose mark was raised meanwhile is read again by id (that read starts after the commit). */
  private async checkListed(table: TableName, row: RecordRow, sent: number): Promise<RecordRow | undefined> {
    const seen = this.marks.get(markKey(table, row.id));
    if (seen === undefined || seen.at <= sent || row.version >= seen.version) return this.check(table, row);
    checkRecord(this.keys(), table, row);
    return this.get(table, row.id);
  }

  /** Checked rows of a find; rows failing their check are passed to `onCorrupt` and left out. */
  async find(table: TableName, where: Record<string, ColumnValue>, opts?: FindOptions, onCorrupt?: (id: string, err: HsmError) => void): Promise<RecordRow[]> {
    const out: RecordRow[] = [];
    const sent = this.clock;
    for (const row of await this.store.find(table, where, opts)) {
      try { const got = await this.checkListed(table, row, sent); if (got) out.push(got); } catch (err) {
        if (err instanceof HsmError && err.code === 'STORE_CORRUPT' && onCorrupt) onCorrupt(row.id, err); else throw err;
      }
    }
    return out;
  }

  /** Every checked row matching `where`, page by page (for listings that must see them all). */
  async *all(table: TableName, where: Record<string, ColumnValue>, onCorrupt?: (id: string, err: HsmError) => void): AsyncGenerator<RecordRow> {
    for (let after: string | undefined; ;) {
      const sent = this.clock;
      const raw = await this.store.find(table, where, { after, limit: 1000 });
      for (const row of raw) {
        let got: RecordRow | undefined;
        try { got = await this.checkListed(table, row, sent); } catch (err) {
          if (err instanceof HsmError && err.code === 'STORE_CORRUPT' && onCorrupt) onCorrupt(row.id, err); else throw err;
        }
        if (got) yield got;
      }
      if (raw.length < 1000) return;
      after = raw[raw.length - 1].id;
    }
  }

  /** One keyset page of checked rows matching `where` (ids after `after`, at most `limit` read):
   *  `last` is the id of the last row read (checked or not), `done` that no row follows it. */
  async page(table: TableName, where: Record<string, ColumnValue>, after: string | undefined, limit: number,
    onCorrupt?: (id: string, err: HsmError) => void): Promise<{ rows: RecordRow[]; last?: string; done: boolean }> {
    const sent = this.clock;
    const raw = await this.store.find(table, where, { after, limit });
    const rows: RecordRow[] = [];
    for (const row of raw) {
      try { const got = await this.checkListed(table, row, sent); if (got) rows.push(got); } catch (err) {
        if (err instanceof HsmError && err.code === 'STORE_CORRUPT' && onCorrupt) onCorrupt(row.id, err); else throw err;
      }
    }
    return { rows, last: raw.length ? raw[raw.length - 1].id : after, done: raw.length < limit };
  }

  forget(): void { this.marks.clear(); }
}

function markKey(table: TableName, id: string): string { return `${table}/${id}`; }
