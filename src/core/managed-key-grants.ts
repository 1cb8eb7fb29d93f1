// Scoped sharing of a managed key (the core's form of KMS grants), as this branch's own rule until
// the core's general scoped sharing lands: the owner shares the key's version objects with a crypto
// user of its partition and records which actions that user may do (its uses; it may always read
// the description). The gate holds a grantee to the union of its grants (KeyLifecycle.grants), on
// every face; a grant counts as an Allow against the key's access list, whose Deny still wins.
// Revoking (the owner) or retiring (the grantee, or its retiring principal) removes the grant, and
// the last grant a share was made for takes the share back — one transaction each.
// Not here: conditions on the encryption context (no face-neutral form yet): the faces refuse them.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { Change } from './change';
import type { HsmObject } from './hsm-object';
import type { KeyReads } from './key-reads';
import type { KeyService } from './key-service';
import type { ObjectStore } from './object-store';
import type { Operations } from './operation';
import type { Admitted } from './policy/gate';
import type { KeyAccessAction } from './policy/key-access';
import type { Caller } from './principal';
import type { UserService } from './users';
import type { KeyGrant, ManagedKey, ManagedKeyData } from './managed-key-data';

/** Grants per key at most (KMS allows 50 000 per key; a managed key's record holds them). */
export const MAX_GRANTS_PER_KEY = 100;

export interface GrantInternals {
  readonly ops: Operations;
  readonly objects: ObjectStore;
  readonly keys: KeyService;
  now(): number;
  getIn(a: Admitted, id: string): Promise<ManagedKey>;
  owned(a: Admitted, key: ManagedKey): Promise<ManagedKey>;
  /** A stored key by id, whoever can see it (retiring principals need not). */
  load(id: string): Promise<ManagedKey | undefined>;
  /** Every stored key of a partition. */
  allIn(partition: string): AsyncGenerator<ManagedKey>;
  save(change: Change, a: Admitted, cur: ManagedKey, next: ManagedKeyData): Promise<ManagedKey>;
}

export class KeyGrants {
  constructor(private readonly svc: GrantInternals, private readonly users: UserService, private readonly reads: KeyReads) {}

  /** The owner lets `grantee` (a crypto user of the partition) do `actions` with the key. */
  create(caller: Caller, key: ManagedKey, o: { grantee: string; retiring?: string; actions: KeyAccessAction[]; name?: string; labels?: string[] }): Promise<KeyGrant> {
    return this.svc.ops.run(caller, 'managed-key.grant', async (a, change, rec) => {
      rec.object = key.id;
      const cur = await this.svc.owned(a, key);
      const grantee = await this.users.byId(o.grantee);
      if (!grantee || grantee.partition !== a.partition || grantee.role !== 'user') throw new HsmError('USER_NOT_FOUND', 'the grantee is not a crypto user of this partition');
      if (grantee.id === cur.owner) throw new HsmError('BAD_REQUEST', 'the owner already has the key');
      if (o.retiring !== undefined && (await this.users.byId(o.retiring))?.partition !== a.partition) throw new HsmError('USER_NOT_FOUND', 'the retiring principal is not a user of this partition');
      if (!o.actions.length || o.actions.includes('manage')) throw new HsmError('BAD_REQUEST', 'a grant names one or more uses (or describe), never management');
      const grants = cur.data.grants ?? [];
      if (grants.length >= MAX_GRANTS_PER_KEY) throw new HsmError('QUOTA_EXCEEDED', `a key holds at most ${MAX_GRANTS_PER_KEY} grants`);
      if (o.name !== undefined) {
        const same = grants.find((g) => g.name === o.name && g.grantee === o.grantee && g.retiring === o.retiring && g.actions.join() === o.actions.join());
        if (same) return same; // KMS: the same grant with the same name is returned again (idempotent)
      }
      const objs = await this.versionObjects(cur);
      const shared = !objs.some((x) => x.sharedWith.includes(grantee.id));
      if (shared) for (const obj of objs) this.setShare(change, obj, grantee.id, true);
      const grant: KeyGrant = { id: c.randomBytes(32).toString('hex'), grantee: grantee.id, retiring: o.retiring, actions: [...new Set(o.actions)],
        name: o.name, created: this.svc.now(), creator: a.principal!.id, shared, labels: o.labels?.slice(0, 32) };
      const next = structuredClone(cur.data);
      next.grants = [...grants, grant];
      rec.detail = `grant ${grant.id.slice(0, 16)}… to ${grantee.username}: ${grant.actions.join(',')}`;
      await this.svc.save(change, a, cur, next);
      return grant;
    });
  }

  /** The grants of a key (its owner). */
  list(caller: Caller, key: ManagedKey): Promise<KeyGrant[]> {
    return this.svc.ops.run(caller, 'managed-key.list-grants', async (a) => (await this.svc.owned(a, key)).data.grants ?? [], { recordSuccess: false });
  }

  /** Revoke (the owner) or retire (the grantee or the retiring principal, or the owner). */
  remove(caller: Caller, keyId: string, grantId: string, how: 'revoke' | 'retire'): Promise<KeyGrant> {
    return this.svc.ops.run(caller, `managed-key.${how}-grant`, async (a, change, rec) => {
      rec.object = String(keyId).slice(0, 64);
      const loaded = how === 'retire' ? await this.svc.load(keyId) : undefined;
      if (how === 'retire' && (!loaded || loaded.partition !== a.partition)) throw new HsmError('KEY_NOT_FOUND');
      const cur = how === 'revoke' ? await this.svc.owned(a, await this.svc.getIn(a, keyId)) : loaded!;
      const grant = (cur.data.grants ?? []).find((g) => g.id === grantId);
      if (!grant) throw new HsmError('KEY_NOT_FOUND', 'no such grant of this key');
      const me = a.principal?.id;
      if (how === 'retire' && me !== grant.grantee && me !== grant.retiring && me !== cur.owner) throw new HsmError('FORBIDDEN', 'only the grantee, the retiring principal or the owner retires a grant');
      rec.detail = `grant ${grant.id.slice(0, 16)}…`;
      const next = structuredClone(cur.data);
      next.grants = (cur.data.grants ?? []).filter((g) => g.id !== grantId);
      if (!next.grants.length) delete next.grants;
      const remaining = next.grants?.some((g) => g.grantee === grant.grantee);
      if (!remaining && (cur.data.grants ?? []).some((g) => g.grantee === grant.grantee && g.shared)) {
        for (const obj of await this.versionObjects(cur)) this.setShare(change, obj, grant.grantee, false);
      }
      await this.svc.save(change, a, cur, next);
      return grant;
    });
  }

  /** Grants naming the caller (or `retiring`, a user of its partition) as retiring principal, over the partition's keys. */
  retirable(caller: Caller, retiring?: string): Promise<{ key: ManagedKey; grant: KeyGrant }[]> {
    return this.svc.ops.run(caller, 'managed-key.list-retirable-grants', async (a) => {
      const who = retiring ?? a.principal?.id;
      if (who !== a.principal?.id && a.actor !== 'officer') throw new HsmError('FORBIDDEN', 'a user lists the grants it may retire');
      const out: { key: ManagedKey; grant: KeyGrant }[] = [];
      for await (const k of this.svc.allIn(a.partition)) for (const grant of k.data.grants ?? []) if (grant.retiring === who) out.push({ key: k, grant });
      return out;
    }, { recordSuccess: false });
  }

  private async versionObjects(key: ManagedKey): Promise<HsmObject[]> {
    const out: HsmObject[] = [];
    for (const v of key.data.versions) {
      for (const id of [v.objectId, v.publicObjectId]) {
        const obj = id ? await this.svc.objects.get(id) : undefined;
        if (obj) out.push(obj, ...(v.publicObjectId ? [] : (await this.reads.partners(obj)).filter((p) => !out.some((o) => o.id === p.id))));
      }
    }
    return out;
  }

  private setShare(change: Change, obj: HsmObject, userId: string, add: boolean): void {
    const next = add ? [...new Set([...obj.sharedWith, userId])] : obj.sharedWith.filter((u) => u !== userId);
    this.svc.objects.replace(change, obj, { sharedWith: next });
  }
}
