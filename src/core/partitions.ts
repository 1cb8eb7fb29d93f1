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
import type { GatePolicy } from './policy/gate';
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

export class PartitionService {
  private readonly loaded = new Map<string, Partition>();

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

  clear(): void { this.loaded.clear(); }

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
