// Which core operations are audited, under which names (the table audited.ts applies).
import type { CryptoService } from '../crypto-service';
import type { KeyService } from '../key-service';
import type { UserService } from '../users';
import type { AccessKeyService } from '../access-keys';
import type { KmsKeyService } from '../kms-keys';
import type { KmsAliasService } from '../kms-aliases';
import type { AuditedOp } from './audited';

type Table<T> = Partial<Record<keyof T & string, AuditedOp<any>>>;
const mech = (i: number) => (args: unknown[]) => `mechanism 0x${Number(args[i]).toString(16)}`;

export const KEY_OPS: Table<KeyService> = {
  generateKey: { op: 'key.generate', detail: mech(1) },
  generateKeyPair: { op: 'key.generate', detail: mech(1) },
  createObject: { op: 'object.create' },
  importKey: { op: 'key.import' },
  destroy: { op: 'key.delete' },
  setAttributes: { op: 'key.set-attributes' },
  setModuleAttribute: { op: 'key.set-state', detail: (a) => `attribute 0x${Number(a[2]).toString(16)} = ${String(a[3])}` },
  share: { op: 'key.share', detail: (a) => `${a[3] ? 'share with' : 'unshare from'} ${String(a[2])}` },
  exportKey: { op: 'key.export' },
};

export const CRYPTO_OPS: Table<CryptoService> = {
  sign: { op: 'key.sign', detail: mech(2) },
  verify: { op: 'key.verify', detail: mech(2) },
  encrypt: { op: 'key.encrypt', detail: mech(2) },
  decrypt: { op: 'key.decrypt', detail: mech(2) },
  wrap: { op: 'key.wrap', detail: (a) => `${mech(2)(a)} of ${(a[4] as { id?: string })?.id}` },
  unwrap: { op: 'key.unwrap', detail: mech(2) },
  derive: { op: 'key.derive', detail: mech(2) },
  deriveSecret: { op: 'key.derive', detail: mech(2) },
};

export const USER_OPS: Table<UserService> = {
  create: { op: 'user.create', detail: (a) => `${String(a[1])} as ${String(a[2])}` },
  delete: { op: 'user.delete', detail: (a) => String(a[1]) },
  setPassword: { op: 'user.passwd', detail: (a) => String(a[1]) },
  unlock: { op: 'user.unlock', detail: (a) => String(a[1]) },
  // The username is who tried; the password is never looked at here.
  login: { op: 'user.login', actor: (a) => ({ actor: String(a[0]).slice(0, 64), role: '-' }) },
};

/** A KMS key argument's id (KmsKey is not an HsmObject, so it is named in the detail). */
const kmsKey = (i: number) => (args: unknown[]) => `kms key ${(args[i] as { id?: string } | undefined)?.id ?? '?'}`;

export const ACCESS_KEY_OPS: Table<AccessKeyService> = {
  create: { op: 'access-key.create', detail: (a) => (a[1] === undefined ? undefined : `for ${String(a[1])}`) },
  delete: { op: 'access-key.delete', detail: (a) => String(a[1]) },
};

export const KMS_KEY_OPS: Table<KmsKeyService> = {
  create: { op: 'kms-key.create', detail: (a) => (a[1] as { keySpec?: string })?.keySpec },
  setEnabled: { op: 'kms-key.set-enabled', detail: (a) => `${kmsKey(1)(a)} ${a[2] ? 'enable' : 'disable'}` },
  scheduleDeletion: { op: 'kms-key.schedule-deletion', detail: kmsKey(1) },
  cancelDeletion: { op: 'kms-key.cancel-deletion', detail: kmsKey(1) },
  rotate: { op: 'kms-key.rotate', detail: kmsKey(1) },
  finishImport: { op: 'kms-key.import-material', detail: kmsKey(1) },
};

export const KMS_ALIAS_OPS: Table<KmsAliasService> = {
  create: { op: 'kms-alias.create', detail: (a) => String(a[1]).slice(0, 256) },
  update: { op: 'kms-alias.update', detail: (a) => String(a[1]).slice(0, 256) },
  delete: { op: 'kms-alias.delete', detail: (a) => String(a[1]).slice(0, 256) },
};
