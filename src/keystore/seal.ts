// Sealing of secret attributes and integrity of stored rows (docs/sealing.md).
// Keys are derived from the domain master key (DMK) with HKDF-SHA256; each secret is
// AES-256-GCM sealed with AAD binding object id, attribute type, partition and scheme
// version, and every row carries an HMAC-SHA256 over all its fields.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { AccessKeyRow, KmsAliasRow, KmsKeyRow, ObjectRow, UserRow } from './types';

export const SEAL_SCHEME = 1;
const HKDF_SALT = Buffer.from('inkan/hkdf-salt/v1');
const IV_LEN = 12;
const TAG_LEN = 16;

/** Keys derived from the DMK; exists only while the module is unsealed. */
export class DomainKeys {
  private readonly dmk: c.KeyObject;
  private readonly partitionKeys = new Map<string, c.KeyObject>();
  readonly macKey: Buffer;

  constructor(dmk: Buffer) {
    this.dmk = c.secretKey(dmk);
    this.macKey = this.derive('mac');
  }

  /** HKDF-SHA256(DMK, salt, "inkan/v1/<purpose>") — one key per purpose (DESIGN.md key hierarchy). */
  derive(purpose: string, len = 32): Buffer {
    return c.hkdf('sha256', this.dmk, HKDF_SALT, Buffer.from(`inkan/v1/${purpose}`), len);
  }

  partitionKey(partition: string): c.KeyObject {
    let key = this.partitionKeys.get(partition);
    if (!key) {
      key = c.secretKey(this.derive(`seal/partition/${partition}`));
      this.partitionKeys.set(partition, key);
    }
    return key;
  }

  /** A value stored in meta at init; a reconstructed DMK must reproduce it. */
  checkValue(): Buffer { return c.hmac('sha256', this.derive('check'), Buffer.from('inkan-dmk-check')); }
}

function sealAad(partition: string, objectId: string, attrType: number): Buffer {
  const head = Buffer.from(`inkan-seal\0${SEAL_SCHEME}\0${partition}\0${objectId}\0`);
  const type = Buffer.alloc(4);
  type.writeUInt32BE(attrType >>> 0);
  return Buffer.concat([head, type]);
}

/** Layout: scheme(1) ‖ iv(12) ‖ tag(16) ‖ ciphertext. */
export function seal(keys: DomainKeys, partition: string, objectId: string, attrType: number, plaintext: Buffer): Buffer {
  const iv = c.randomBytes(IV_LEN);
  const { data, tag } = c.cipher('aes-256-gcm', keys.partitionKey(partition), iv, plaintext,
    { aad: sealAad(partition, objectId, attrType), tagLength: TAG_LEN });
  return Buffer.concat([Buffer.from([SEAL_SCHEME]), iv, tag!, data]);
}

export function unseal(keys: DomainKeys, partition: string, objectId: string, attrType: number, blob: Buffer): Buffer {
  if (blob.length < 1 + IV_LEN + TAG_LEN || blob[0] !== SEAL_SCHEME) {
    throw new HsmError('STORE_CORRUPT', `sealed value of object ${objectId} is malformed`);
  }
  const iv = blob.subarray(1, 1 + IV_LEN);
  const tag = blob.subarray(1 + IV_LEN, 1 + IV_LEN + TAG_LEN);
  try {
    return c.decipher('aes-256-gcm', keys.partitionKey(partition), iv, blob.subarray(1 + IV_LEN + TAG_LEN),
      { aad: sealAad(partition, objectId, attrType), tag, tagLength: TAG_LEN });
  } catch {
    throw new HsmError('STORE_CORRUPT', `sealed value of object ${objectId} failed authentication`);
  }
}

function objectMacInput(r: ObjectRow): Buffer {
  return Buffer.from(JSON.stringify(['object', SEAL_SCHEME, r.id, r.partition, r.owner, r.cls, r.label, r.attrs,
    r.sealed ? r.sealed.toString('base64') : null, r.sharedWith, r.version, r.created]));
}
function userMacInput(r: UserRow): Buffer {
  return Buffer.from(JSON.stringify(['user', SEAL_SCHEME, r.id, r.username, r.role, r.passwordHash,
    r.failedLogins, r.locked, r.version, r.created]));
}

export function macObject(keys: DomainKeys, row: Omit<ObjectRow, 'mac'>): ObjectRow {
  return { ...row, mac: c.hmac('sha256', keys.macKey, objectMacInput({ ...row, mac: Buffer.alloc(0) })) };
}
export function checkObject(keys: DomainKeys, row: ObjectRow): ObjectRow {
  if (!c.timingSafeEqual(row.mac, c.hmac('sha256', keys.macKey, objectMacInput(row)))) {
    throw new HsmError('STORE_CORRUPT', `stored object ${row.id} failed its integrity check and was not used`);
  }
  return row;
}
export function macUser(keys: DomainKeys, row: Omit<UserRow, 'mac'>): UserRow {
  return { ...row, mac: c.hmac('sha256', keys.macKey, userMacInput({ ...row, mac: Buffer.alloc(0) })) };
}
export function checkUser(keys: DomainKeys, row: UserRow): UserRow {
  if (!c.timingSafeEqual(row.mac, c.hmac('sha256', keys.macKey, userMacInput(row)))) {
    throw new HsmError('STORE_CORRUPT', `stored user record ${row.id} failed its integrity check and was not used`);
  }
  return row;
}

// KMS key records, aliases and access keys: the same HMAC-over-every-field scheme as objects.
function kmsKeyMacInput(r: KmsKeyRow): Buffer {
  return Buffer.from(JSON.stringify(['kms-key', SEAL_SCHEME, r.id, r.owner, r.data, r.version, r.created]));
}
function kmsAliasMacInput(r: KmsAliasRow): Buffer {
  return Buffer.from(JSON.stringify(['kms-alias', SEAL_SCHEME, r.owner, r.name, r.targetKeyId, r.created, r.updated, r.version]));
}
function accessKeyMacInput(r: AccessKeyRow): Buffer {
  return Buffer.from(JSON.stringify(['access-key', SEAL_SCHEME, r.id, r.userId, r.sealed.toString('base64'), r.created]));
}
function macWith<R extends { mac: Buffer }>(keys: DomainKeys, row: Omit<R, 'mac'>, input: (r: R) => Buffer): R {
  return { ...row, mac: c.hmac('sha256', keys.macKey, input({ ...row, mac: Buffer.alloc(0) } as R)) } as R;
}
function checkWith<R extends { mac: Buffer }>(keys: DomainKeys, row: R, input: (r: R) => Buffer, what: string): R {
  if (!c.timingSafeEqual(row.mac, c.hmac('sha256', keys.macKey, input(row)))) {
    throw new HsmError('STORE_CORRUPT', `stored ${what} failed its integrity check and was not used`);
  }
  return row;
}
export const macKmsKey = (keys: DomainKeys, row: Omit<KmsKeyRow, 'mac'>): KmsKeyRow => macWith(keys, row, kmsKeyMacInput);
export const checkKmsKey = (keys: DomainKeys, row: KmsKeyRow): KmsKeyRow => checkWith(keys, row, kmsKeyMacInput, `KMS key ${row.id}`);
export const macKmsAlias = (keys: DomainKeys, row: Omit<KmsAliasRow, 'mac'>): KmsAliasRow => macWith(keys, row, kmsAliasMacInput);
export const checkKmsAlias = (keys: DomainKeys, row: KmsAliasRow): KmsAliasRow => checkWith(keys, row, kmsAliasMacInput, 'KMS alias');
export const macAccessKey = (keys: DomainKeys, row: Omit<AccessKeyRow, 'mac'>): AccessKeyRow => macWith(keys, row, accessKeyMacInput);
export const checkAccessKey = (keys: DomainKeys, row: AccessKeyRow): AccessKeyRow => checkWith(keys, row, accessKeyMacInput, `access key ${row.id}`);
