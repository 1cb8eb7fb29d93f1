// Key Vault's response shapes (KeyBundle, KeyItem, DeletedKeyBundle, DeletedKeyItem) from the
// port's KeyVersion/DeletedKey; `kid` is built on the vault URL the client called.
import type { DeletedKey, KeyVersion } from '../key-port';
import { epochSeconds } from '../../protocol/akv';
import { jwkOf } from './jwk';

export const keyUrl = (vault: string, name: string): string => `${vault}/keys/${name}`;
export const kidOf = (vault: string, name: string, version: string): string => `${vault}/keys/${name}/${version}`;
export const recoveryIdOf = (vault: string, name: string): string => `${vault}/deletedkeys/${name}`;

/**
 * Key Vault's DeletionRecoveryLevel: a 90-day window is "Recoverable", a shorter one
 * "CustomizedRecoverable"; "+Purgeable" unless purge protection holds it.
 */
export function recoveryLevelOf(v: KeyVersion): string {
  const base = v.retentionDays >= 90 ? 'Recoverable' : 'CustomizedRecoverable';
  return v.purgeProtected ? base : `${base}+Purgeable`;
}

export function attributesOf(v: KeyVersion): Record<string, unknown> {
  const a: Record<string, unknown> = { enabled: v.enabled };
  if (v.notBefore) a.nbf = epochSeconds(v.notBefore);
  if (v.expiresAt) a.exp = epochSeconds(v.expiresAt);
  a.created = epochSeconds(v.createdAt);
  a.updated = epochSeconds(v.updatedAt);
  a.recoverableDays = v.retentionDays;
  a.recoveryLevel = recoveryLevelOf(v);
  a.exportable = false;
  return a;
}

function withTags(out: Record<string, unknown>, v: KeyVersion): Record<string, unknown> {
  if (Object.keys(v.tags).length > 0) out.tags = { ...v.tags };
  return out;
}

export function keyBundle(vault: string, v: KeyVersion): Record<string, unknown> {
  return withTags({ key: jwkOf(kidOf(vault, v.name, v.version), v), attributes: attributesOf(v) }, v);
}

/** A list entry: `kid` without a version for /keys, with one for /keys/{name}/versions. */
export function keyItem(vault: string, v: KeyVersion, withVersion: boolean): Record<string, unknown> {
  const kid = withVersion ? kidOf(vault, v.name, v.version) : keyUrl(vault, v.name);
  return withTags({ kid, attributes: attributesOf(v) }, v);
}

function deletion(vault: string, d: DeletedKey): Record<string, unknown> {
  return {
    recoveryId: recoveryIdOf(vault, d.latest.name),
    scheduledPurgeDate: epochSeconds(d.purgeAt),
    deletedDate: epochSeconds(d.deletedAt),
  };
}

export function deletedKeyBundle(vault: string, d: DeletedKey): Record<string, unknown> {
  return { ...keyBundle(vault, d.latest), ...deletion(vault, d) };
}

export function deletedKeyItem(vault: string, d: DeletedKey): Record<string, unknown> {
  return { ...keyItem(vault, d.latest, false), ...deletion(vault, d) };
}
