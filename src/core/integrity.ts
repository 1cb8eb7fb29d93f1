// Rollback detection for the whole store (docs/sealing.md "Rollback"). Each record row is MACed
// alone, so an old but valid row put back would verify. Against that, every node keeps an
// accumulator: the XOR of a keyed hash of (table, id, version, MAC) over every row it inserted,
// XORed out again for every row version it replaced or deleted. XOR commutes, so the XOR of all
// nodes' accumulators equals the same hash over the rows that should be in the store now; a row
// rolled back, removed or added behind the module's back breaks the equality. The hash is keyed
// (HMAC under a DMK-derived key), so nobody without the DMK can choose rows that cancel out
// (a keyed multiset hash, Clarke et al. 2003). Each accumulator is a MACed row with a counter,
// updated in the same transaction as the rows it covers; the node also anchors its counter and
// value outside the store (anchor.ts), so the store as a whole cannot be rolled back either.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import { checkRecord, DomainKeys, macRecord } from '../keystore/seal';
import { RECORD_TABLES, type TableName } from '../keystore/schema';
import type { KeyStore, RecordRow, Write } from '../keystore/types';
import type { Change } from './change';

export interface IntegrityState { counter: number; acc: string }
const ZERO = Buffer.alloc(32);

const xorInto = (acc: Buffer, b: Buffer) => { for (let i = 0; i < 32; i++) acc[i] ^= b[i]; };

export interface VerifyReport { ok: boolean; rows: number; nodes: number; problem?: string }

export class Integrity {
  private row?: RecordRow;
  private state: IntegrityState = { counter: 0, acc: ZERO.toString('hex') };

  constructor(private readonly keys: () => DomainKeys, readonly node: string) {}

  private key(): Buffer { return this.keys().derive('integrity'); }

  /** The keyed hash of one row version. */
  contribution(table: string, row: Pick<RecordRow, 'id' | 'version' | 'mac'>, key = this.key()): Buffer {
    return c.hmac('sha256', key, Buffer.from(JSON.stringify([table, row.id, row.version, row.mac.toString('base64')])));
  }

  /** What one change does to the accumulator. */
  delta(change: Change): Buffer {
    const key = this.key();
    const acc = Buffer.alloc(32);
    for (const { table, row } of [...change.removed, ...change.added]) if (table !== 'integrity') xorInto(acc, this.contribution(table, row, key));
    return acc;
  }

  /** A change's delta with the counter rows its `consume` writes took inside the commit (change.ts). */
  withConsumed(delta: Buffer, change: Change | undefined): Buffer {
    if (!change?.consumed.size) return delta;
    const key = this.key();
    const acc = Buffer.from(delta);
    for (const { table, before, after } of change.consumed.values()) {
      xorInto(acc, this.contribution(table, before, key));
      xorInto(acc, this.contribution(table, after, key));
    }
    return acc;
  }

  /** Loads this node's accumulator at unseal (a missing one starts at zero: a node that never wrote). */
  async load(store: KeyStore): Promise<IntegrityState> {
    const row = await store.get('integrity', this.node);
    this.row = row && checkRecord(this.keys(), 'integrity', row);
    this.state = row ? JSON.parse(row.data) as IntegrityState : { counter: 0, acc: ZERO.toString('hex') };
    return this.current;
  }

  get current(): IntegrityState { return { ...this.state }; }

  /** The write that folds the deltas of a batch's committed units into this node's accumulator,
   *  and the state to adopt once that batch has committed. */
  prepare(deltas: Buffer[]): { writes: Write[]; next: { row: RecordRow; state: IntegrityState } } | undefined {
    if (deltas.length === 0) return undefined;
    const acc = Buffer.from(this.state.acc, 'hex');
    for (const d of deltas) xorInto(acc, d);
    const state = { counter: this.state.counter + 1, acc: acc.toString('hex') };
    const base = { id: this.node, partition: '', cols: {}, data: JSON.stringify(state), sealed: null, created: this.row?.created ?? Date.now() };
    const row = macRecord(this.keys(), 'integrity', { ...base, version: (this.row?.version ?? 0) + 1 });
    const write: Write = this.row ? { op: 'update', table: 'integrity', row, expected: this.row.version } : { op: 'insert', table: 'integrity', row };
    return { writes: [write], next: { row, state } };
  }

  adopt(next: { row: RecordRow; state: IntegrityState }): void {
    this.row = next.row;
    this.state = next.state;
  }

  /** Starts over from what the store holds now (after a restore): one accumulator, this node's. */
  rebuildWrites(rows: { table: TableName; row: RecordRow }[]): { row: RecordRow; state: IntegrityState } {
    const key = this.key();
    const acc = Buffer.alloc(32);
    for (const { table, row } of rows) xorInto(acc, this.contribution(table, row, key));
    const state = { counter: 1, acc: acc.toString('hex') };
    const row = macRecord(this.keys(), 'integrity', { id: this.node, partition: '', cols: {}, data: JSON.stringify(state), sealed: null, created: Date.now(), version: 1 });
    return { row, state };
  }

  /** Scans every record row and compares with the accumulators of every node (O(rows), paged). */
  async verify(store: KeyStore): Promise<VerifyReport> {
    // Other nodes of a cluster keep writing: rows and accumulators are read in one snapshot.
    return store.snapshot ? store.snapshot((reader) => this.verifyOn(reader)) : this.verifyOn(store);
  }

  private async verifyOn(store: Pick<KeyStore, 'find' | 'versions'>): Promise<VerifyReport> {
    const keys = this.keys();
    const key = this.key();
    const expected = Buffer.alloc(32);
    let rows = 0;
    for (const def of RECORD_TABLES) {
      if (def.name === 'integrity') continue;
      const table = def.name as TableName;
      // Only ids, versions and MACs are hashed: a store that can list just those in its storage
      // order (SQLite) is not asked for the rows' content, nor to walk them by id.
      if (store.versions) {
        for (let pos = 0; ;) {
          const page = await store.versions(table, pos, 2000);
          for (const r of page) { xorInto(expected, this.contribution(def.name, r, key)); rows++; }
          if (page.length < 2000) break;
          pos = page[page.length - 1].pos;
        }
        continue;
      }
      for (let after: string | undefined; ;) {
        const page = await store.find(table, {}, { after, limit: 2000 });
        for (const r of page) { xorInto(expected, this.contribution(def.name, r, key)); rows++; }
        if (page.length < 2000) break;
        after = page[page.length - 1].id;
      }
    }
    const nodes = await store.find('integrity', {});
    const total = Buffer.alloc(32);
    for (const n of nodes) {
      try { checkRecord(keys, 'integrity', n); } catch { return { ok: false, rows, nodes: nodes.length, problem: `the integrity record of node ${n.id.slice(0, 64)} was edited` }; }
      xorInto(total, Buffer.from((JSON.parse(n.data) as IntegrityState).acc, 'hex'));
    }
    if (!c.timingSafeEqual(expected, total)) {
      return { ok: false, rows, nodes: nodes.length, problem: 'the rows in the store are not the rows the module wrote: a row was rolled back to an older version, removed, or added behind the module\'s back' };
    }
    return { ok: true, rows, nodes: nodes.length };
  }
}

export function requireIntegrity(report: VerifyReport): void {
  if (!report.ok) throw new HsmError('STORE_CORRUPT', report.problem);
}
