// Sealing of secret values and integrity of stored rows (docs/sealing.md).
// Keys are derived from the domain master key (DMK) with HKDF-SHA256; each secret is
// AES-256-GCM sealed with AAD binding partition, row id, attribute type and scheme
// version, and every record row carries an HMAC-SHA256 over all its fields and its table.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { RecordRow } from './types';

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

  /** The key that seals one partition's secrets: random per partition, kept in the partition's
   *  row sealed under the DMK-derived partition KEK (installed by core/partitions.ts on load). */
  partitionKey(partition: string): c.KeyObject {
    const key = this.partitionKeys.get(partition);
    if (!key) throw new HsmError('PARTITION_NOT_FOUND', `partition ${partition.slice(0, 64)} is not loaded`);
    return key;
  }

  installPartitionKey(partition: string, key: Buffer): void {
    this.partitionKeys.set(partition, c.secretKey(key));
  }

  forgetPartitionKey(partition: string): void {
    this.partitionKeys.delete(partition);
  }

  /** A fresh partition key, sealed under the partition KEK with the partition id as AAD. */
  newPartitionKey(partition: string): { key: Buffer; sealed: Buffer } {
    const key = c.randomBytes(32);
    return { key, sealed: sealWith(c.secretKey(this.derive('partition-kek')), partition, `partition/${partition}`, 0, key) };
  }

  openPartitionKey(partition: string, sealed: Buffer): Buffer {
    return unsealWith(c.secretKey(this.derive('partition-kek')), partition, `partition/${partition}`, 0, sealed);
  }

  /** The DMK's bytes, for one purpose only: handing this unsealed module to a sibling worker process
   *  of the same server over its private IPC channel (runtime/workers.ts). The caller wipes them. */
  dmkForSibling(): Buffer { return this.dmk.export(); }

  /** A value stored in meta at init; a reconstructed DMK must reproduce it. */
  checkValue(): Buffer { return c.hmac('sha256', this.derive('check'), Buffer.from('inkan-dmk-check')); }
}

function sealAad(partition: string, objectId: string, attrType: number): Buffer {
  const head = Buffer.from(`inkan-seal\0${SEAL_SCHEME}\0${partition}\0${objectId}\0`);
  const type = Buffer.alloc(4);
  type.writeUInt32BE(attrType >>> 0);
  return Buffer.concat([head, type]);
}

/** Layout: scheme(1) ‖ iv(12) ‖ tag(16) ‖ ciphertext, under the partition's key. */
export function seal(keys: DomainKeys, partition: string, objectId: string, attrType: number, plaintext: Buffer): Buffer {
  return sealWith(keys.partitionKey(partition), partition, objectId, attrType, plaintext);
}

export function unseal(keys: DomainKeys, partition: string, objectId: string, attrType: number, blob: Buffer): Buffer {
  return unsealWith(keys.partitionKey(partition), partition, objectId, attrType, blob);
}

function sealWith(key: c.KeyObject, partition: string, objectId: string, attrType: number, plaintext: Buffer): Buffer {
  const iv = c.randomBytes(IV_LEN);
  const { data, tag } = c.cipher('aes-256-gcm', key, iv, plaintext, { aad: sealAad(partition, objectId, attrType), tagLength: TAG_LEN });
  return Buffer.concat([Buffer.from([SEAL_SCHEME]), iv, tag!, data]);
}

function unsealWith(key: c.KeyObject, partition: string, objectId: string, attrType: number, blob: Buffer): Buffer {
  if (!Buffer.isBuffer(blob) || blob.length < 1 + IV_LEN + TAG_LEN || blob[0] !== SEAL_SCHEME) {
    throw new HsmError('STORE_CORRUPT', `sealed value of ${objectId.slice(0, 64)} is malformed`);
  }
  const iv = blob.subarray(1, 1 + IV_LEN);
  const tag = blob.subarray(1 + IV_LEN, 1 + IV_LEN + TAG_LEN);
  try {
    return c.decipher('aes-256-gcm', key, iv, blob.subarray(1 + IV_LEN + TAG_LEN), { aad: sealAad(partition, objectId, attrType), tag, tagLength: TAG_LEN });
  } catch {
    throw new HsmError('STORE_CORRUPT', `sealed value of ${objectId.slice(0, 64)} failed authentication`);
  }
}

/** The MAC input of a record row: every field but the MAC, with the table name, in a fixed order
 *  (docs/sealing.md "Row integrity"). Indexed columns are sorted by name. */
function recordMacInput(table: string, r: RecordRow): Buffer {
  const cols = Object.keys(r.cols).sort().map((k) => [k, r.cols[k]]);
  return Buffer.from(JSON.stringify(['record', SEAL_SCHEME, table, r.id, r.partition, r.version, r.created, cols, r.data,
    r.sealed ? r.sealed.toString('base64') : null]));
}

/** The row with its MAC set. */
export function macRecord(keys: DomainKeys, table: string, row: Omit<RecordRow, 'mac'>): RecordRow {
  const r = { ...row, mac: Buffer.alloc(0) };
  return { ...r, mac: c.hmac('sha256', keys.macKey, recordMacInput(table, r)) };
}

/** The row if its MAC verifies; STORE_CORRUPT (and the row unused) otherwise. */
export function checkRecord(keys: DomainKeys, table: string, row: RecordRow): RecordRow {
  if (!Buffer.isBuffer(row.mac) || !c.timingSafeEqual(row.mac, c.hmac('sha256', keys.macKey, recordMacInput(table, row)))) {
    throw new HsmError('STORE_CORRUPT', `stored ${table} row ${String(row.id).slice(0, 64)} failed its integrity check and was not used`);
  }
  return row;
}
