// KMS aliases: friendly names for KMS keys, one namespace per crypto user (each user is its own
// "account"), stored MACed. Names follow the AWS model: `alias/` + [a-zA-Z0-9/_-], `alias/aws/` reserved.
import { HsmError } from '../errors/hsm-error';
import { checkKmsAlias, DomainKeys, macKmsAlias } from '../keystore/seal';
import type { KeyStore, KmsAliasRow } from '../keystore/types';
import type { KmsKey } from './kms-keys';
import { requireRole } from './policy/gate';
import type { Caller } from './principal';

export const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

export interface KmsAlias { name: string; targetKeyId: string; created: number; updated: number }

export class KmsAliasService {
  constructor(private readonly store: KeyStore, private readonly domain: () => DomainKeys, private readonly now: () => number = () => Date.now()) {}

  /** The key id an alias of the caller names, or KEY_NOT_FOUND. */
  async resolve(caller: Caller, name: string): Promise<string> {
    const row = await this.store.getKmsAlias(caller.principal.id, name);
    if (!row) throw new HsmError('KEY_NOT_FOUND', `Alias ${name.slice(0, 256)} is not found.`);
    return checkKmsAlias(this.domain(), row).targetKeyId;
  }

  async list(caller: Caller, keyId?: string): Promise<KmsAlias[]> {
    requireRole(caller.principal, 'key.list');
    // Rows that fail their integrity check are left out, as ObjectStore.list does with objects.
    return (await this.store.listKmsAliases(caller.principal.id))
      .filter((r) => { try { checkKmsAlias(this.domain(), r); return true; } catch { return false; } })
      .filter((r) => keyId === undefined || r.targetKeyId === keyId)
      .map((r) => ({ name: r.name, targetKeyId: r.targetKeyId, created: r.created, updated: r.updated }));
  }

  async create(caller: Caller, name: string, target: KmsKey): Promise<void> {
    this.checkTarget(caller, name, target);
    const now = this.now();
    await this.store.insertKmsAlias(macKmsAlias(this.domain(), { owner: caller.principal.id, name, targetKeyId: target.id, created: now, updated: now, version: 1 }));
  }

  /** UpdateAlias: the new target must have the same key type and usage as the old (AWS rule). */
  async update(caller: Caller, name: string, target: KmsKey, old: KmsKey | undefined): Promise<void> {
    this.checkTarget(caller, name, target);
    const row = await this.load(caller, name);
    if (old && (old.record.keySpec === 'SYMMETRIC_DEFAULT') !== (target.record.keySpec === 'SYMMETRIC_DEFAULT')
      || old && old.record.keyUsage !== target.record.keyUsage) {
      throw new HsmError('BAD_REQUEST', 'the new target key must have the same key type and key usage as the current one');
    }
    const next: Omit<KmsAliasRow, 'mac'> = { ...row, targetKeyId: target.id, updated: this.now(), version: row.version + 1 };
    await this.store.updateKmsAlias(macKmsAlias(this.domain(), next), row.version);
  }

  async delete(caller: Caller, name: string): Promise<void> {
    requireRole(caller.principal, 'key.manage');
    await this.load(caller, name);
    await this.store.deleteKmsAlias(caller.principal.id, name);
  }

  private async load(caller: Caller, name: string): Promise<KmsAliasRow> {
    const row = await this.store.getKmsAlias(caller.principal.id, name);
    if (!row) throw new HsmError('KEY_NOT_FOUND', `Alias ${name.slice(0, 256)} is not found.`);
    return checkKmsAlias(this.domain(), row);
  }

  private checkTarget(caller: Caller, name: string, target: KmsKey): void {
    requireRole(caller.principal, 'key.manage');
    if (!ALIAS_NAME.test(name) || name.length > 256) throw new HsmError('BAD_REQUEST', 'alias names are alias/ followed by letters, digits, /, _ and -');
    if (name.startsWith('alias/aws/')) throw new HsmError('NOT_OWNER', 'alias names beginning with alias/aws/ are reserved');
    if (target.record.owner !== caller.principal.id) throw new HsmError('NOT_OWNER', 'an alias may only name a key the caller owns');
  }
}
