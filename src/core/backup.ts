// Encrypted backups of the whole domain (objects, users, access keys, KMS state, meta and the
// audit head). The file is authenticated and encrypted under a key derived from the master key,
// so it restores only where the same shares are known (CloudHSM's rule). Format, version 1:
//   "INKANBK1" ‖ u32be header length ‖ header JSON ‖ IV (12) ‖ AES-256-GCM(deflate(JSON of tables)) ‖ tag (16)
// with AAD = everything before the IV, so the header cannot be edited either.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { DomainKeys } from '../keystore/seal';
import type { AuditHead, RawRow } from '../keystore/types';

const MAGIC = Buffer.from('INKANBK1');
const IV_LEN = 12;
const TAG_LEN = 16;
const MAX_HEADER = 64 * 1024;
export const MAX_BACKUP = 512 * 1024 * 1024;
/** The header alone is at most this long: a restore may read it before anything else. */
export const MAX_BACKUP_HEADER = MAX_HEADER + 12;
/** Tables a backup never carries: the audit chains stay with the module that wrote them, the
 *  change log and the integrity accumulators are the store's own (rebuilt on restore). */
export const NOT_BACKED_UP = ['audit', 'audit_checkpoints', 'change_log', 'integrity'];

export interface BackupHeader {
  version: 1;
  created: string;
  node: string;
  domain: string;
  /** The domain's check value (a MAC, not a secret): says which master key the backup needs. */
  dmkCheck: string;
  threshold: number;
  shares: number;
  /** Digests of the domain's shares (core/shares.ts), so custodians' shares are checked one by one. */
  shareDigests: string[];
  auditHead: AuditHead;
  counts: Record<string, number>;
}

type Tables = Record<string, RawRow[]>;

function encodeTables(tables: Tables): Buffer {
  return Buffer.from(JSON.stringify(tables, (_k, v) => {
    if (v && typeof v === 'object' && v.type === 'Buffer' && Array.isArray(v.data)) return { $b: Buffer.from(v.data).toString('base64') };
    if (typeof v === 'bigint') return { $n: v.toString() };
    return v;
  }));
}
function decodeTables(json: Buffer): Tables {
  return JSON.parse(json.toString('utf8'), (_k, v) => {
    if (v && typeof v === 'object' && typeof v.$b === 'string') return Buffer.from(v.$b, 'base64');
    if (v && typeof v === 'object' && typeof v.$n === 'string') return BigInt(v.$n);
    return v;
  }) as Tables;
}

export function createBackup(keys: DomainKeys, tables: Tables, header: Omit<BackupHeader, 'version' | 'counts'>): Buffer {
  const full: BackupHeader = { version: 1, ...header, counts: Object.fromEntries(Object.entries(tables).map(([t, r]) => [t, r.length])) };
  const head = Buffer.from(JSON.stringify(full));
  const len = Buffer.alloc(4);
  len.writeUInt32BE(head.length);
  const aad = Buffer.concat([MAGIC, len, head]);
  const iv = c.randomBytes(IV_LEN);
  const plain = deflateRawSync(encodeTables(tables));
  try {
    const { data, tag } = c.cipher('aes-256-gcm', c.secretKey(keys.derive('backup')), iv, plain, { aad, tagLength: TAG_LEN });
    return Buffer.concat([aad, iv, data, tag!]);
  } finally { plain.fill(0); }
}

/** Reads the header without decrypting (it is authenticated when the body is opened). */
export function readHeader(blob: Buffer, headerOnly = false): { header: BackupHeader; aadLength: number } {
  if (blob.length < MAGIC.length + 4 || !blob.subarray(0, MAGIC.length).equals(MAGIC)) throw new HsmError('BACKUP_INVALID', 'not an Inkan backup');
  const len = blob.readUInt32BE(MAGIC.length);
  const need = MAGIC.length + 4 + len + (headerOnly ? 0 : IV_LEN + TAG_LEN);
  if (len > MAX_HEADER || blob.length < need) throw new HsmError('BACKUP_INVALID', 'the backup is truncated');
  let header: BackupHeader;
  try { header = JSON.parse(blob.subarray(MAGIC.length + 4, MAGIC.length + 4 + len).toString('utf8')); } catch { throw new HsmError('BACKUP_INVALID'); }
  if (header?.version !== 1 || typeof header.dmkCheck !== 'string' || !Number.isInteger(header.threshold) || header.threshold < 1 || header.threshold > 16
    || typeof header.domain !== 'string' || !Array.isArray(header.shareDigests) || !header.shareDigests.every((d) => typeof d === 'string')) {
    throw new HsmError('BACKUP_INVALID', 'unsupported backup version');
  }
  return { header, aadLength: MAGIC.length + 4 + len };
}

/** Decrypts and authenticates a backup with the current master key. */
export function openBackup(keys: DomainKeys, blob: Buffer): { header: BackupHeader; tables: Tables } {
  const { header, aadLength } = readHeader(blob);
  if (header.dmkCheck !== keys.checkValue().toString('hex')) throw new HsmError('BACKUP_FOREIGN');
  const iv = blob.subarray(aadLength, aadLength + IV_LEN);
  const body = blob.subarray(aadLength + IV_LEN, blob.length - TAG_LEN);
  const tag = blob.subarray(blob.length - TAG_LEN);
  let plain: Buffer;
  try {
    plain = c.decipher('aes-256-gcm', c.secretKey(keys.derive('backup')), iv, body, { aad: blob.subarray(0, aadLength), tag, tagLength: TAG_LEN });
  } catch {
    throw new HsmError('BACKUP_INVALID', 'the backup failed authentication (edited or truncated)');
  }
  try {
    return { header, tables: decodeTables(inflateRawSync(plain, { maxOutputLength: MAX_BACKUP * 4 })) };
  } catch {
    throw new HsmError('BACKUP_INVALID');
  } finally { plain.fill(0); }
}
