// One operation's effect on the store: the rows it writes (all or none, committed together with
// its audit record), the integrity contributions of those rows (integrity.ts), and what the
// module does in memory once — and only once — the commit has succeeded (cache updates).
// Services fill a Change; the AuditLog commits it (audit-log.ts).
import type { ErrorCode } from '../errors/catalog';
import type { TableName } from '../keystore/schema';
import type { PlainRow, RecordRow, Write } from '../keystore/types';

export class Change {
  readonly writes: Write[] = [];
  /** Record rows removed (old versions) and added (new versions), for the integrity accumulator. */
  readonly removed: { table: TableName; row: RecordRow }[] = [];
  readonly added: { table: TableName; row: RecordRow }[] = [];
  private readonly committed: (() => void)[] = [];
  /** What a unique-key clash means for this operation (USER_EXISTS, ALIAS_EXISTS…); default EXISTS. */
  existsAs?: ErrorCode;

  insert(table: TableName, row: RecordRow): this {
    this.writes.push({ op: 'insert', table, row });
    this.added.push({ table, row });
    return this;
  }

  /** Replaces `old` by `row` if nobody changed it meanwhile (else the operation fails with STORE_CONFLICT). */
  update(table: TableName, row: RecordRow, old: RecordRow): this {
    this.writes.push({ op: 'update', table, row, expected: old.version });
    this.removed.push({ table, row: old });
    this.added.push({ table, row });
    return this;
  }

  delete(table: TableName, old: RecordRow): this {
    this.writes.push({ op: 'delete', table, id: old.id, expected: old.version });
    this.removed.push({ table, row: old });
    return this;
  }

  put(table: TableName, row: PlainRow): this {
    this.writes.push({ op: 'put', table, row });
    return this;
  }

  remove(table: TableName, key: PlainRow): this {
    this.writes.push({ op: 'remove', table, key });
    return this;
  }

  /** Counter rows taken by `consume`, as they were and as they became, learnt inside the commit
   *  (the store decides the version): their integrity contribution is added then (audit-log.ts). */
  readonly consumed = new Map<string, { table: TableName; before: RecordRow; after: RecordRow }>();

  /** Takes one use of a counter row if its version is below `below` (keystore/types.ts 'consume');
   *  `mac` checks the stored row and MACs its next version. */
  consume(table: TableName, id: string, below: number, mac: (stored: RecordRow) => Buffer | undefined): this {
    this.writes.push({
      op: 'consume', table, id, below,
      reseal: (stored) => {
        const next = mac(stored);
        if (next) this.consumed.set(id, { table, before: stored, after: { ...stored, version: stored.version + 1, mac: next } });
        return next;
      },
    });
    return this;
  }

  /** Runs `fn` after the commit succeeded (never if it failed). */
  onCommit(fn: () => void): this {
    this.committed.push(fn);
    return this;
  }

  get empty(): boolean { return this.writes.length === 0; }


  /** Called by the AuditLog once the batch holding this change has committed it. */
  applied(): void {
    for (const fn of this.committed) fn();
  }
}
