// Partitions (Luna's partitions, PKCS#11 tokens): every user, object, name and credential belongs
// to one. Each has its own policy and its own random sealing key, kept in its row sealed under the
// DMK-derived partition KEK: deleting a partition destroys that key (docs/sealing.md says what a
// backup keeps). The partition `default` holds the HSM's own officers (gate.ts HSM_PARTITION).
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { DomainKeys } from '../keystore/seal';
import type { RecordRow } from '../keystore/types';
import type { Change } from './change';
import type { Coherence } from './coherence';
import type { Gate, GatePolicy } from './policy/gate';
import type { Operations } from './operation';
import type { Caller } from './principal';
import type { QuotaLimits } from './quotas';
import type { Records } from './records';

export const DEFAULT_PARTITION = 'default';

export interface PartitionPolicy extends GatePolicy {
  /** Refuse legacy algorithms and key sizes (FIPS style): DES3, RSA-1024, SHA-1 signatures, short HMAC keys. */
  approvedOnly: boolean;
  /** Token objects made in a PKCS#11 public session (owned by nobody) are allowed. */
  publicTokenObjects: boolean;
  maxObjects: number;
  maxObjectsPerUser: number;
  /** Password rules for the partition's users: the shortest length, and how many of the four
   *  character classes (lower case, upper case, digits, others) a password must mix. */
  passwordMin: number;
  passwordClasses: number;
}

export const DEFAULT_POLICY: PartitionPolicy = {
  approvedOnly: true, publicObjectsVisible: true, publicTokenObjects: true,
  maxObjects: 1_000_000, maxObjectsPerUser: 100_000, passwordMin: 8, passwordClasses: 1,
};

export interface Partition {
  id: string;
  name: string;
  /** The PKCS#11 slot id: derived from the partition id, so stable across restarts and nodes. */
  slot: number;
  /** The PKCS#11 token serial: stable across restarts and nodes. */
  serial: string;
  /** The 12-digit account id the HTTP faces show (KMS ARNs). */
  accountId: string;
  policy: PartitionPolicy;
  row: RecordRow;
}

interface PartitionData { serial: string; accountId: string; policy: PartitionPolicy }

/** The policy fields an officer sets through `setPolicy` (the admin API's POST /v1/policy), with their types. */
const SETTABLE: Readonly<Record<string, 'boolean' | 'count'>> = {
  approvedOnly: 'boolean', publicObjectsVisible: 'boolean', publicTokenObjects: 'boolean',
  maxObjects: 'count', maxObjectsPerUser: 'count', passwordMin: 'count', passwordClasses: 'count',
};

/** The default partition's slot stays 1 (the one slot there was before partitions); others are
 *  2 … 2^31 from a hash of their id (a clash with a live partition makes create pick another id). */
export function slotOf(id: string): number {
  if (id === DEFAULT_PARTITION) return 1;
  return 2 + (c.digest('sha256', Buffer.from(`slot/${id}`)).readUInt32BE(0) % 0x7fff_fff0);
}

/** The token serial of a partition (16 hex digits), from its id: the same on every node. */
export function serialOf(id: string): string {
  return c.digest('sha256', Buffer.from(`serial/${id}`)).toString('hex').slice(0, 16).toUpperCase();
}

export class PartitionService {
  private readonly loaded = new Map<string, Partition>();
  /** Told when partitions may have been added, removed or changed (here or on another node): the PKCS#11 slot table. */
  private readonly watchers: (() => void)[] = [];
  /** Set by the module once the gate and operations exist (they need this service to be made first). */
  private run?: { gate: Gate; ops: Operations };

  constructor(private readonly records: Records, private readonly keys: () => DomainKeys, coherence: Coherence) {
    coherence.register('partitions', (id) => { this.loaded.delete(id); this.changed(); }, () => { this.loaded.clear(); this.changed(); });
  }

  /** `fn` runs (synchronously, must not throw) whenever the set of partitions may have changed. */
  watch(fn: () => void): void { this.watchers.push(fn); }

  /** Tells the watchers (after a local create or delete, or a change another node made). */
  changed(): void {
    for (const fn of this.watchers) { try { fn(); } catch { /* a watcher's problem is its own */ } }
  }

  /** A new partition row in `change`, its sealing key installed once committed. */
  createIn(change: Change, name: string, id: string = c.randomUuid(), policy: Partial<PartitionPolicy> = {}): Partition {
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(name)) throw new HsmError('BAD_REQUEST', 'partition names are 1-32 letters, digits, ".", "_" and "-"');
    const { key, sealed } = this.keys().newPartitionKey(id);
    const digits = BigInt('0x' + c.digest('sha256', Buffer.from(`account/${id}`)).toString('hex').slice(0, 15)) % 1_000_000_000_000n;
    const data: PartitionData = {
      serial: serialOf(id),
      accountId: digits.toString().padStart(12, '0'), policy: { ...DEFAULT_POLICY, ...policy },
    };
    const row = this.records.make('partitions', { id, partition: '', cols: { name }, data: JSON.stringify(data), sealed });
    change.existsAs = 'PARTITION_EXISTS';
    change.insert('partitions', row).onCommit(() => { this.keys().installPartitionKey(id, key); key.fill(0); this.records.wrote('partitions', row); this.changed(); });
    return { id, name, slot: slotOf(id), ...data, row };
  }

  /** Loads every partition and installs its key (at unseal; a few rows), forgetting the keys of
   *  partitions that are gone (deleted here or on another node). */
  async loadAll(): Promise<Partition[]> {
    const out: Partition[] = [];
    for await (const row of this.records.all('partitions', {})) out.push(this.install(row));
    const live = new Set(out.map((p) => p.id));
    for (const id of [...this.loaded.keys()]) if (!live.has(id)) this.forget(id);
    this.changed();
    return out.sort(byName);
  }

  /** Every partition, read from the store (a few rows): the slot table and `inkan partition list`. */
  async all(): Promise<Partition[]> {
    const out: Partition[] = [];
    for await (const row of this.records.all('partitions', {})) {
      const hit = this.loaded.get(row.id);
      out.push(hit && hit.row.version === row.version ? hit : this.install(row));
    }
    return out.sort(byName);
  }

  async get(id: string): Promise<Partition> {
    const hit = this.loaded.get(id);
    if (hit) return hit;
    const row = typeof id === 'string' && id.length <= 64 ? await this.records.get('partitions', id) : undefined;
    // Gone (deleted, perhaps on another node): its key is dropped from memory here too.
    if (!row) { this.forget(id); throw new HsmError('PARTITION_NOT_FOUND'); }
    return this.install(row);
  }

  /** A partition's id from its name (the faces take names: `--partition NAME`, a slot's label). */
  async idOf(name: string): Promise<string> {
    const p = typeof name === 'string' ? await this.byName(name) : undefined;
    if (!p) throw new HsmError('PARTITION_NOT_FOUND', `no partition named ${String(name).slice(0, 32)}`);
    return p.id;
  }

  /** Drops a deleted partition's key and cached row from this process. */
  forget(id: string): void {
    this.loaded.delete(id);
    this.keys().forgetPartitionKey(id);
  }

  async byName(name: string): Promise<Partition | undefined> {
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(name)) return undefined;
    const [row] = await this.records.find('partitions', { name });
    return row && this.install(row);
  }

  async policy(id: string): Promise<PartitionPolicy> {
    return (await this.get(id)).policy;
  }

  async quotas(id: string): Promise<QuotaLimits> {
    const p = await this.policy(id);
    return { perUser: p.maxObjectsPerUser, perPartition: p.maxObjects };
  }

  /** The next version of a partition's policy, in `change`. */
  setPolicyIn(change: Change, p: Partition, patch: Partial<PartitionPolicy>): Partition {
    const data: PartitionData = { serial: p.serial, accountId: p.accountId, policy: { ...p.policy, ...patch } };
    const row = this.records.make('partitions', { id: p.id, partition: '', cols: { name: p.name }, data: JSON.stringify(data), sealed: p.row.sealed }, p.row);
    change.update('partitions', row, p.row).onCommit(() => { this.records.wrote('partitions', row); this.loaded.delete(p.id); });
    return { ...p, policy: data.policy, row };
  }

  /** The partition row's deletion in `change`: once committed its key is forgotten, and with it
   *  every secret sealed under it (the rows themselves are purged by partition-admin.ts). */
  deleteIn(change: Change, p: Partition): void {
    change.delete('partitions', p.row).onCommit(() => { this.forget(p.id); this.changed(); });
  }

  /** Gives this service the gate and operations its audited entry points run through (hsm.ts). */
  attach(gate: Gate, ops: Operations): void { this.run = { gate, ops }; }

  /** An officer reads its partition's policy (`inkan policy show`). */
  readPolicy(caller: Caller): Promise<PartitionPolicy> {
    const { gate, ops } = this.operations();
    return ops.run(caller, 'partition.policy-read', async (a) => {
      gate.authorize(a, 'module.policy');
      return { ...(await this.get(a.partition)).policy };
    }, { recordSuccess: false });
  }

  /** An officer changes its partition's policy (approved-only mode, public objects, quotas): one audited
   *  operation; the record names every field and its new value. Unknown fields or wrong types change nothing. */
  setPolicy(caller: Caller, patch: Record<string, unknown>): Promise<PartitionPolicy> {
    const { gate, ops } = this.operations();
    return ops.run(caller, 'partition.set-policy', async (a, change, rec) => {
      gate.authorize(a, 'module.policy');
      const clean = checkPolicyPatch(patch);
      // A partition's size is the HSM officer's to set (Luna: the HSM SO sizes partitions): `inkan partition resize`.
      if (clean.maxObjects !== undefined && !a.hsmLevel) throw new HsmError('FORBIDDEN', 'the HSM officer sizes partitions (inkan partition resize); max-objects is not yours to change');
      const p = await this.get(a.partition);
      rec.object = p.id;
      rec.detail = Object.entries(clean).map(([k, v]) => `${k}=${v}`).join(',');
      return { ...this.setPolicyIn(change, p, clean).policy };
    });
  }

  clear(): void { this.loaded.clear(); }

  private operations(): { gate: Gate; ops: Operations } {
    if (!this.run) throw new HsmError('INTERNAL', 'partition service not attached');
    return this.run;
  }

  private install(row: RecordRow): Partition {
    const data = JSON.parse(row.data) as PartitionData;
    if (!row.sealed) throw new HsmError('STORE_CORRUPT', `partition ${row.id} has no key`);
    const key = this.keys().openPartitionKey(row.id, row.sealed);
    try { this.keys().installPartitionKey(row.id, key); } finally { key.fill(0); }
    const p: Partition = { id: row.id, name: String(row.cols.name), slot: slotOf(row.id), serial: data.serial, accountId: data.accountId, policy: { ...DEFAULT_POLICY, ...data.policy }, row };
    this.loaded.set(row.id, p);
    return p;
  }
}

const byName = (a: Partition, b: Partition) => (a.id === DEFAULT_PARTITION ? -1 : b.id === DEFAULT_PARTITION ? 1 : a.name.localeCompare(b.name));

function checkPolicyPatch(patch: Record<string, unknown>): Partial<PartitionPolicy> {
  const entries = Object.entries(patch);
  if (entries.length === 0) throw new HsmError('BAD_REQUEST', 'name at least one policy field');
  for (const [k, v] of entries) {
    const kind = SETTABLE[k];
    if (!kind) throw new HsmError('BAD_REQUEST', `unknown policy field ${k.slice(0, 40)}; fields: ${Object.keys(SETTABLE).join(', ')}`);
    if (kind === 'boolean' ? typeof v !== 'boolean' : !(Number.isSafeInteger(v) && (v as number) >= 1)) {
      throw new HsmError('BAD_REQUEST', `${k} must be ${kind === 'boolean' ? 'true or false' : 'a positive integer'}`);
    }
  }
  const clean = Object.fromEntries(entries) as Partial<PartitionPolicy>;
  if (clean.passwordClasses !== undefined && clean.passwordClasses > 4) throw new HsmError('BAD_REQUEST', 'passwordClasses is 1 to 4 (lower, upper, digits, others)');
  if (clean.passwordMin !== undefined && clean.passwordMin > 256) throw new HsmError('BAD_REQUEST', 'passwordMin is at most 256');
  return clean;
}
