// Names of managed keys, per partition and kind (KMS aliases, Key Vault key names): one namespace
// per partition — each partition is its own "account". A name points at a key its creator owns;
// the rows are MACed like everything else, and a name never outlives its key. The faces decide
// what a valid name looks like (api/kms: "alias/…", reserved prefixes).
import { HsmError } from '../errors/hsm-error';
import type { RecordRow } from '../keystore/types';
import type { Change } from './change';
import type { ObjectStore } from './object-store';
import type { Operations } from './operation';
import type { Admitted, Gate } from './policy/gate';
import type { Caller } from './principal';
import type { Records } from './records';

export interface KeyName { kind: string; name: string; target: string; created: number; updated: number }
/** What a name may point at: a managed key (managed-keys.ts), as far as names need to know it. */
export interface NameTarget { id: string; owner: string; partition: string; data: { versions: { objectId: string }[] } }

const MAX_NAME = 256;
const nameId = (partition: string, kind: string, name: string) => `${partition}/${kind}/${name}`;

export class NameService {
  constructor(private readonly records: Records, private readonly objects: ObjectStore, private readonly gate: Gate, private readonly ops: Operations) {}

  private decode(row: RecordRow): KeyName {
    const data = JSON.parse(row.data) as { updated: number };
    return { kind: String(row.cols.kind), name: String(row.cols.name), target: String(row.cols.target), created: row.created, updated: data.updated };
  }

  private async row(partition: string, kind: string, name: string): Promise<RecordRow | undefined> {
    if (typeof name !== 'string' || name.length > MAX_NAME) return undefined;
    const [row] = await this.records.find('names', { partition, kind, name });
    return row;
  }

  /** The key id a name points at, or KEY_NOT_FOUND. */
  resolve(caller: Caller, kind: string, name: string): Promise<string> {
    return this.ops.run(caller, 'name.resolve', async (a) => {
      const row = await this.row(a.partition, kind, name);
      if (!row) throw new HsmError('KEY_NOT_FOUND', `${String(name).slice(0, MAX_NAME)} is not found.`);
      return String(row.cols.target);
    }, { recordSuccess: false });
  }

  list(caller: Caller, kind: string, target?: string): Promise<KeyName[]> {
    return this.ops.run(caller, 'name.list', async (a) => {
      const where: Record<string, string> = { partition: a.partition, kind };
      if (target !== undefined) where.target = target;
      const out: KeyName[] = [];
      // Rows that fail their integrity check are left out, as object listings do.
      for await (const row of this.records.all('names', where, () => undefined)) out.push(this.decode(row));
      return out.sort((x, y) => (x.name < y.name ? -1 : 1));
    }, { recordSuccess: false });
  }

  create(caller: Caller, kind: string, name: string, target: NameTarget): Promise<void> {
    return this.ops.run(caller, 'name.create', async (a, change, rec) => {
      rec.detail = `${kind} ${String(name).slice(0, MAX_NAME)}`;
      rec.object = target.id;
      await this.createIn(a, change, kind, name, target);
    });
  }

  async createIn(a: Admitted, change: Change, kind: string, name: string, target: NameTarget): Promise<void> {
    await this.checkTarget(a, target);
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME) throw new HsmError('BAD_REQUEST', 'names are 1-256 characters');
    const now = Date.now();
    const row = this.records.make('names', { id: nameId(a.partition, kind, name), partition: a.partition, cols: { kind, name, target: target.id },
      data: JSON.stringify({ updated: now }), sealed: null });
    change.existsAs = 'ALIAS_EXISTS';
    change.insert('names', row).onCommit(() => this.records.wrote('names', row));
  }

  /** Points a name at another key; `check(oldTarget)` may refuse (KMS: same type and usage). */
  update(caller: Caller, kind: string, name: string, target: NameTarget, check?: (oldTarget: string) => Promise<void>): Promise<void> {
    return this.ops.run(caller, 'name.update', async (a, change, rec) => {
      rec.detail = `${kind} ${String(name).slice(0, MAX_NAME)}`;
      rec.object = target.id;
      await this.checkTarget(a, target);
      const old = await this.row(a.partition, kind, name);
      if (!old) throw new HsmError('KEY_NOT_FOUND', `${String(name).slice(0, MAX_NAME)} is not found.`);
      await check?.(String(old.cols.target));
      const row = this.records.make('names', { id: old.id, partition: a.partition, cols: { kind, name, target: target.id },
        data: JSON.stringify({ updated: Date.now() }), sealed: null }, old);
      change.update('names', row, old).onCommit(() => this.records.wrote('names', row));
    });
  }

  delete(caller: Caller, kind: string, name: string): Promise<void> {
    return this.ops.run(caller, 'name.delete', async (a, change, rec) => {
      rec.detail = `${kind} ${String(name).slice(0, MAX_NAME)}`;
      this.gate.authorize(a, 'key.create');
      const old = await this.row(a.partition, kind, name);
      if (!old) throw new HsmError('KEY_NOT_FOUND', `${String(name).slice(0, MAX_NAME)} is not found.`);
      rec.object = String(old.cols.target);
      change.delete('names', old);
    });
  }

  /** Every name of a key goes with it (inside the deletion's transaction). */
  async removeTargetIn(change: Change, partition: string, target: string): Promise<void> {
    for await (const row of this.records.all('names', { partition, target }, () => undefined)) change.delete('names', row);
  }

  /** A name may only point at a key its creator may manage (the owner). */
  private async checkTarget(a: Admitted, target: NameTarget): Promise<void> {
    const v = target.data.versions[0];
    const obj = v && await this.objects.get(v.objectId);
    if (obj) { this.gate.authorize(a, 'key.name', { kind: 'object', object: obj }); return; }
    if (!(a.principal?.isUser && target.owner === a.principal.id && target.partition === a.partition)) throw new HsmError('NOT_OWNER', 'a name may only point at a key the caller owns');
  }
}
