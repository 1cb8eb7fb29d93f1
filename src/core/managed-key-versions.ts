// One managed key's versions, read and changed one at a time (Key Vault's per-version attributes):
// what each version is (its uses, read from its objects' usage flags, enable, validity, tags and
// public key), changing one version's settings (uses become the objects' flags, so every face is
// bound by them), and taking imported material back out of a key (KMS DeleteImportedKeyMaterial).
// Each entry point is one operation of the managed-key service's kind (gate, audit, one transaction).
import { CKA } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import type { Change } from './change';
import type { HsmObject } from './hsm-object';
import type { KeyService } from './key-service';
import type { ObjectStore } from './object-store';
import type { Operations } from './operation';
import type { Admitted } from './policy/gate';
import type { Caller } from './principal';
import { checkUses, flagsForUses, usesOfObjects, type VersionUse } from './key-specs';
import { applySettings, type ManagedKey, type ManagedKeyData, type Validity, type VersionSettings } from './managed-key-data';

/** One version as faces describe it. */
export interface VersionInfo {
  index: number;
  id: string;
  objectId: string;
  publicObjectId?: string;
  created: number;
  updated: number;
  origin: 'generated' | 'imported';
  /** The version's own switch (the key's state is reported separately). */
  enabled: boolean;
  validity?: Validity;
  tags: [string, string][];
  uses: VersionUse[];
  /** SPKI DER of an asymmetric version's public key (public information). */
  publicKeyInfo?: Buffer;
}

/** What this file needs of the managed-key service (managed-keys.ts implements it). */
export interface ManagedInternals {
  readonly ops: Operations;
  readonly objects: ObjectStore;
  readonly keys: KeyService;
  now(): number;
  getIn(a: Admitted, id: string): Promise<ManagedKey>;
  owned(a: Admitted, key: ManagedKey): Promise<ManagedKey>;
  save(change: Change, a: Admitted, cur: ManagedKey, next: ManagedKeyData): Promise<ManagedKey>;
}

export class ManagedVersions {
  constructor(private readonly svc: ManagedInternals) {}

  /** Every version of a key the caller can see (its description; officers and auditors too). */
  info(caller: Caller, key: ManagedKey): Promise<VersionInfo[]> {
    return this.svc.ops.run(caller, 'managed-key.read', async (a) => {
      const cur = await this.svc.getIn(a, key.id);
      const out: VersionInfo[] = [];
      for (const [index, v] of cur.data.versions.entries()) {
        const { main, pub } = await this.objectsOf(v.objectId, v.publicObjectId);
        const spki = (pub ?? main)?.attrs.get(CKA.PUBLIC_KEY_INFO);
        out.push({
          index, id: v.id, objectId: v.objectId, publicObjectId: v.publicObjectId, created: v.created, updated: v.updated ?? v.created,
          origin: v.origin, enabled: v.enabled !== false, validity: v.validity, tags: v.tags ?? [],
          uses: main ? usesOfObjects(main, pub) : [], publicKeyInfo: Buffer.isBuffer(spki) ? spki : undefined,
        });
      }
      return out;
    }, { recordSuccess: false });
  }

  /** Changes one version's enable, validity, tags or uses (owner only). Uses become the usage flags
   *  of the version's objects (the public half encrypts, verifies and wraps), in the same transaction. */
  update(caller: Caller, key: ManagedKey, index: number, patch: VersionSettings): Promise<ManagedKey> {
    return this.svc.ops.run(caller, 'managed-key.update-version', async (a, change, rec) => {
      rec.object = key.id;
      const cur = await this.svc.owned(a, key);
      const next = structuredClone(cur.data);
      const v = next.versions[index];
      if (!v) throw new HsmError('KEY_NOT_FOUND', 'no such version of this key');
      rec.detail = `version ${v.id}${patch.uses ? `, uses ${patch.uses.join(',')}` : ''}${patch.enabled === undefined ? '' : patch.enabled ? ', enabled' : ', disabled'}`;
      const validity = patch.validity === undefined ? undefined : { ...v.validity, ...patch.validity };
      if (validity?.notBefore !== undefined && validity.notAfter !== undefined && validity.notBefore >= validity.notAfter) {
        throw new HsmError('BAD_REQUEST', 'a version\'s not-before must be earlier than its expiry');
      }
      applySettings(v, { enabled: patch.enabled, tags: patch.tags, validity }, this.svc.now());
      if (patch.uses) {
        checkUses(next.spec.kind, patch.uses);
        const { main, pub } = await this.objectsOf(v.objectId, v.publicObjectId);
        for (const obj of [main, pub]) if (obj) this.setFlags(change, obj, patch.uses);
      }
      return this.svc.save(change, a, cur, next);
    });
  }

  /** Takes the material of a key of external origin back out (KMS DeleteImportedKeyMaterial): its
   *  version objects are destroyed and it waits for material again (pending import). */
  deleteImported(caller: Caller, key: ManagedKey): Promise<ManagedKey> {
    return this.svc.ops.run(caller, 'managed-key.delete-imported-material', async (a, change, rec) => {
      rec.object = key.id;
      const cur = await this.svc.owned(a, key);
      if (!(cur.data.external ?? cur.data.versions.some((v) => v.origin === 'imported'))) {
        throw new HsmError('NOT_SUPPORTED', 'only keys of external origin have imported material to delete');
      }
      if (cur.state === 'pending-deletion') throw new HsmError('KEY_STATE_INVALID', `${cur.id} is pending deletion.`);
      if (cur.state === 'pending-import') throw new HsmError('KEY_STATE_INVALID', `${cur.id} has no key material.`);
      rec.detail = `${cur.data.versions.length} version(s)`;
      for (const v of cur.data.versions) {
        const { main, pub } = await this.objectsOf(v.objectId, v.publicObjectId);
        for (const obj of [main, pub]) if (obj) this.svc.keys.destroyVersionIn(change, obj);
      }
      const next = structuredClone(cur.data);
      next.versions = [];
      next.state = 'pending-import';
      next.external = true;
      return this.svc.save(change, a, cur, next);
    });
  }

  private async objectsOf(objectId: string, publicObjectId?: string): Promise<{ main?: HsmObject; pub?: HsmObject }> {
    return { main: await this.svc.objects.get(objectId), pub: publicObjectId ? await this.svc.objects.get(publicObjectId) : undefined };
  }

  private setFlags(change: Change, obj: HsmObject, uses: readonly VersionUse[]): void {
    const attrs = new Map(obj.attrs);
    for (const [attr, on] of flagsForUses(obj.cls, uses)) attrs.set(attr, on);
    this.svc.objects.replace(change, obj, { attrs });
  }
}
