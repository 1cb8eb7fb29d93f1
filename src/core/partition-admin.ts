// Partition management by the HSM officers (Luna's HSM SO; docs/partitions.md): create a partition
// with its first officer, list, show, resize (max-objects) and delete. Deleting destroys the
// partition's sealing key with its row, in one audited transaction with its users and credentials;
// its remaining rows (objects, names, managed keys), unreadable from then on, are purged page by page.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import { RECORD_TABLES, type TableName } from '../keystore/schema';
import type { KeyStore, RecordRow } from '../keystore/types';
import { Change } from './change';
import type { Coherence } from './coherence';
import type { Operations } from './operation';
import { DEFAULT_PARTITION, slotOf, type Partition, type PartitionPolicy, type PartitionService } from './partitions';
import type { Admitted, Gate } from './policy/gate';
import type { Caller } from './principal';
import type { Records } from './records';
import type { UserService } from './users';

/** What `inkan partition list|show` prints: never a secret, never another partition's objects. */
export interface PartitionInfo {
  id: string;
  name: string;
  slot: number;
  serial: string;
  accountId: string;
  created: string;
  policy: PartitionPolicy;
  users: number;
  objects: number;
}

export interface NewPartition { name: string; officer: string; password: string; maxObjects?: number }

/** Rows deleted per transaction while purging a deleted partition (bounded memory, short transactions). */
const PURGE_PAGE = 500;
/** Tables purged after the partition's row is gone; users and credentials go with the row itself. */
const WITH_THE_ROW: readonly TableName[] = ['users', 'credentials'];
const NOT_PARTITIONED: readonly string[] = ['partitions', 'integrity'];

/** The policy as one line for audit records: every field and its value. */
export const policyText = (p: PartitionPolicy): string => Object.entries(p).map(([k, v]) => `${k}=${v}`).join(',');

export class PartitionAdmin {
  constructor(private readonly partitions: PartitionService, private readonly users: UserService, private readonly records: Records,
    private readonly gate: Gate, private readonly ops: Operations, private readonly coherence: Coherence) {}

  private get store(): KeyStore { return this.records.store; }

  /** A new partition and its first officer, in one transaction and one audit record. */
  create(caller: Caller, req: NewPartition): Promise<PartitionInfo> {
    return this.ops.run(caller, 'partition.create', async (a, change, rec) => {
      rec.detail = `${String(req.name).slice(0, 32)}, officer ${String(req.officer).slice(0, 64)}`;
      this.gate.authorize(a, 'partition.manage');
      if (req.maxObjects !== undefined && !(Number.isSafeInteger(req.maxObjects) && req.maxObjects >= 1)) throw new HsmError('BAD_REQUEST', 'maxObjects must be a positive integer');
      if (typeof req.name === 'string' && await this.partitions.byName(req.name)) throw new HsmError('PARTITION_EXISTS');
      const slots = new Set((await this.partitions.all()).map((p) => p.slot));
      let id = c.randomUuid();
      while (slots.has(slotOf(id))) id = c.randomUuid();
      const p = this.partitions.createIn(change, req.name, id, req.maxObjects === undefined ? {} : { maxObjects: req.maxObjects });
      await this.users.insertIn(change, p.id, req.officer, 'officer', req.password, { min: p.policy.passwordMin, classes: p.policy.passwordClasses });
      // The only unique key a brand-new partition's rows can clash on is its name.
      change.existsAs = 'PARTITION_EXISTS';
      rec.object = p.id;
      rec.detail = `${p.name} (slot ${p.slot}, account ${p.accountId}), first officer ${req.officer}; policy ${policyText(p.policy)}`;
      return { ...this.info(p), users: 1, objects: 0 };
    });
  }

  /** HSM officers and auditors list every partition (names, sizes, policy; nothing inside). */
  list(caller: Caller): Promise<PartitionInfo[]> {
    return this.ops.run(caller, 'partition.list', async (a) => {
      this.gate.authorize(a, 'partition.list');
      const out: PartitionInfo[] = [];
      for (const p of await this.partitions.all()) out.push(await this.counted(p));
      return out;
    }, { recordSuccess: false });
  }

  /** One partition: any of them for the HSM officers and auditors, its own for a partition's officers and auditors. */
  show(caller: Caller, name: string): Promise<PartitionInfo> {
    return this.ops.run(caller, 'partition.show', async (a, _c, rec) => {
      rec.detail = String(name).slice(0, 32);
      const p = await this.visible(a, name);
      rec.object = p.id;
      return this.counted(p);
    }, { recordSuccess: false });
  }

  /** The HSM officer sets how many objects a partition may hold (never below what it holds now). */
  resize(caller: Caller, name: string, maxObjects: number): Promise<PartitionInfo> {
    return this.ops.run(caller, 'partition.resize', async (a, change, rec) => {
      rec.detail = String(name).slice(0, 32);
      this.gate.authorize(a, 'partition.manage');
      if (!(Number.isSafeInteger(maxObjects) && maxObjects >= 1)) throw new HsmError('BAD_REQUEST', 'maxObjects must be a positive integer');
      const p = await this.named(name);
      rec.object = p.id;
      const held = await this.store.count('objects', { partition: p.id });
      if (maxObjects < held) throw new HsmError('BAD_REQUEST', `the partition holds ${held} objects: it cannot be sized below that`);
      rec.detail = `${p.name} maxObjects ${p.policy.maxObjects} -> ${maxObjects}`;
      const next = this.partitions.setPolicyIn(change, p, { maxObjects });
      return { ...this.info(next), users: await this.store.count('users', { partition: p.id }), objects: held };
    });
  }

  /** Deletes a partition: its row (and so its sealing key), its users and credentials in one audited
   *  transaction; then its other rows, which nobody can open any more, in pages. Never `default`. */
  async delete(caller: Caller, name: string): Promise<{ deleted: string; id: string; purged: number }> {
    const p = await this.ops.run(caller, 'partition.delete', async (a, change, rec) => {
      rec.detail = String(name).slice(0, 32);
      this.gate.authorize(a, 'partition.manage');
      const p = await this.named(name);
      rec.object = p.id;
      if (p.id === DEFAULT_PARTITION) throw new HsmError('FORBIDDEN', 'the partition default holds the HSM\'s own officers and is never deleted');
      let rows = 0;
      for (const table of WITH_THE_ROW) {
        for (const row of await this.rawRows(table, p.id, Number.MAX_SAFE_INTEGER)) { change.delete(table, row); rows++; }
      }
      this.partitions.deleteIn(change, p);
      rec.detail = `${p.name} (slot ${p.slot}, account ${p.accountId}): sealing key destroyed, ${rows} users and credentials deleted`;
      return p;
    });
    const purged = await this.purge(p.id);
    // Every cache of this process drops the partition's rows (other nodes learn it from the change log).
    this.coherence.flushAll();
    await this.ops.run(caller, 'partition.purge', async (a, _c, rec) => {
      this.gate.authorize(a, 'partition.manage');
      rec.object = p.id;
      rec.detail = `${p.name}: ${purged} rows removed`;
    });
    return { deleted: p.name, id: p.id, purged };
  }

  /** Deletes every remaining row of a deleted partition, PURGE_PAGE at a time (each page atomic). */
  private async purge(id: string): Promise<number> {
    let n = 0;
    for (const def of RECORD_TABLES) {
      const table = def.name as TableName;
      if (NOT_PARTITIONED.includes(table)) continue;
      for (;;) {
        const rows = await this.rawRows(table, id, PURGE_PAGE);
        if (rows.length === 0) break;
        const change = new Change();
        for (const row of rows) change.delete(table, row);
        if (table === 'objects') for (const row of rows) for (const u of sharesOf(row)) change.remove('object_shares', { object_id: row.id, user_id: u });
        await this.ops.applyUnrecorded(change);
        n += rows.length;
      }
    }
    return n;
  }

  /** Rows as stored (not MAC-checked: they are being removed, whatever they hold). */
  private async rawRows(table: TableName, partition: string, max: number): Promise<RecordRow[]> {
    const out: RecordRow[] = [];
    for (let after: string | undefined; out.length < max;) {
      const want = Math.min(1000, max - out.length);
      const page = await this.store.find(table, { partition }, { after, limit: want });
      out.push(...page);
      if (page.length < want) break;
      after = page[page.length - 1].id;
    }
    return out;
  }

  private async named(name: string): Promise<Partition> {
    const p = typeof name === 'string' ? await this.partitions.byName(name) : undefined;
    if (!p) throw new HsmError('PARTITION_NOT_FOUND');
    return p;
  }

  /** The HSM level sees every partition; anyone else only its own (another looks like none). */
  private async visible(a: Admitted, name: string): Promise<Partition> {
    if (this.gate.permits(a, 'partition.list')) return this.named(name);
    this.gate.authorize(a, 'partition.show');
    const p = await this.partitions.byName(String(name));
    if (!p || p.id !== a.partition) throw new HsmError('PARTITION_NOT_FOUND');
    return p;
  }

  private info(p: Partition): Omit<PartitionInfo, 'users' | 'objects'> {
    return { id: p.id, name: p.name, slot: p.slot, serial: p.serial, accountId: p.accountId, created: new Date(p.row.created).toISOString(), policy: { ...p.policy } };
  }

  private async counted(p: Partition): Promise<PartitionInfo> {
    return { ...this.info(p), users: await this.store.count('users', { partition: p.id }), objects: await this.store.count('objects', { partition: p.id }) };
  }
}

/** The user ids an object row was shared with (its public JSON), for removing the lookup rows. */
function sharesOf(row: RecordRow): string[] {
  try {
    const data = JSON.parse(row.data) as { sharedWith?: unknown };
    return Array.isArray(data.sharedWith) ? data.sharedWith.filter((u): u is string => typeof u === 'string') : [];
  } catch { return []; }
}
