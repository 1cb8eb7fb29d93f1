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
  passwordMin: number;
}

export const DEFAULT_POLICY: PartitionPolicy = {
  approvedOnly: true, publicObjectsVisible: true, publicTokenObjects: true,
  maxObjects: 1_000_000, maxObjectsPerUser: 100_000, passwordMin: 8,
};

export interface Partition {
  id: string;
  name: string;
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
  maxObjects: 'count', maxObjectsPerUser: 'count', passwordMin: 'count',
};

export class PartitionService {
  private readonly loaded = new Map<string, Partition>();
  /** Set by the module once the gate and operations exist (they need this service to be made first). */
  private run?: { gate: Gate; ops: Operations };

  constructor(private readonly records: Records, private readonly keys: () => DomainKeys, coherence: Coherence) {
    coherence.register('partitions', (id) => this.loaded.delete(id), () => this.loaded.clear());
  }

  /** A new partition row in `change`, its sealing key installed once committed. */
  createIn(change: Change, name: string, id: string = c.randomUuid(), policy: Partial<PartitionPolicy> = {}): Partition {
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(name)) throw new HsmError('BAD_REQUEST', 'partition names are 1-32 letters, digits, ".", "_" and "-"');
    const { key, sealed } = this.keys().newPartitionKey(id);
    const digits = BigInt('0x' + c.digest('sha256', Buffer.from(`account/${id}`)).toString('hex').slice(0, 15)) % 1_000_000_000_000n;
    const data: PartitionData = {
      serial: c.digest('sha256', Buffer.from(`serial/${id}`)).toString('hex').slice(0, 16).toUpperCase(),
      accountId: digits.toString().padStart(12, '0'), policy: { ...DEFAULT_POLICY, ...policy },
    };
    const row = this.records.make('partitions', { id, partition: '', cols: { name }, data: JSON.stringify(data), sealed });
    change.existsAs = 'PARTITION_EXISTS';
    change.insert('partitions', row).onCommit(() => { this.keys().installPartitionKey(id, key); this.records.wrote('partitions', row); });
    return { id, name, ...data, row };
  }

  /** Loads every partition and installs its key (at unseal; a few rows). */
  async loadAll(): Promise<Partition[]> {
    const out: Partition[] = [];
    for await (const row of this.records.all('partitions', {})) out.push(this.install(row));
    return out;
  }

  async get(id: string): Promise<Partition> {
    const hit = this.loaded.get(id);
    if (hit) return hit;
    const row = await this.records.get('partitions', id);
    if (!row) throw new HsmError('PARTITION_NOT_FOUND');
    return this.install(row);
  }

  async byName(name: string): Promise<Partition | undefined> {
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
    const p: Partition = { id: row.id, name: String(row.cols.name), serial: data.serial, accountId: data.accountId, policy: { ...DEFAULT_POLICY, ...data.policy }, row };
    this.loaded.set(row.id, p);
    return p;
  }
}

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
  return Object.fromEntries(entries) as Partial<PartitionPolicy>;
}
