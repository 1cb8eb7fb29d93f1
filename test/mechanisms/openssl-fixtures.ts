// Fixtures for the openssl cross-checks in test/mechanisms: a fresh module plus a scratch
// directory per test, templates, PEM framing, and a tiny DER codec for ECDSA signatures that is
// written here on purpose, independent of src/crypto/raw-ecdsa.ts (RFC 3279 ECDSA-Sig-Value).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { freshModule, openssl, opensslOk, tempDir, TestModule, writeTemp } from '../helpers/harness';
import type { AttrValue } from '../../src/core/policy/attributes';
import type { Template } from '../../src/core/templates';

export { openssl, opensslOk };

/** A scratch directory whose files are passed to openssl. */
export class Scratch {
  constructor(readonly dir: string) {}
  /** Writes `data` to `name` and returns the path. */
  put(name: string, data: Buffer | string): string { return writeTemp(this.dir, name, data); }
  path(name: string): string { return path.join(this.dir, name); }
  read(name: string): Buffer { return fs.readFileSync(this.path(name)); }
}

/** A fresh module for checking mechanisms against openssl. Legacy algorithms (SHA-1 signatures, short
 *  HMAC keys, DES3) are allowed unless `approvedOnly`: these tests are about the algorithms; what
 *  approved-only mode refuses is test/mechanisms/approved.test.ts. Always closes and removes both. */
export async function withModule(fn: (m: TestModule, s: Scratch) => Promise<void>, opts: { approvedOnly?: boolean } = {}): Promise<void> {
  const m = await freshModule();
  const dir = tempDir('inkan-openssl-');
  try {
    if (!opts.approvedOnly) await m.hsm.partitions.setPolicy(m.officer, { approvedOnly: false });
    await fn(m, new Scratch(dir));
  } finally {
    await m.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function tpl(...entries: [number, AttrValue][]): Template {
  return new Map<number, AttrValue>(entries);
}

/** PEM framing of DER (RFC 7468), done by hand so no key parser of ours is involved. */
export function pem(der: Buffer, label = 'PUBLIC KEY'): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/** Writes an openssl-generated key (`genpkey` args) and its public half; returns both paths and PEM texts. */
export function opensslKeyPair(s: Scratch, name: string, genArgs: string[]): { priv: string; pub: string; privPem: Buffer; pubPem: Buffer } {
  const priv = s.path(`${name}.key.pem`);
  const pub = s.path(`${name}.pub.pem`);
  openssl(['genpkey', ...genArgs, '-out', priv]);
  openssl(['pkey', '-in', priv, '-pubout', '-out', pub]);
  return { priv, pub, privPem: fs.readFileSync(priv), pubPem: fs.readFileSync(pub) };
}

/** Asserts that a promise (or a thunk) fails with an HsmError of `code`. */
export async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  const run = typeof p === 'function' ? async () => p() : () => p;
  await assert.rejects(run, (err: unknown) => {
    assert.equal((err as { code?: string }).code, code, `expected ${code}, got ${String(err)}`);
    return true;
  });
}

/** The uncompressed point at the end of an EC SubjectPublicKeyInfo (the BIT STRING's content). */
export function spkiPoint(spki: Buffer, fieldBytes: number): Buffer {
  const point = spki.subarray(spki.length - (1 + 2 * fieldBytes));
  assert.equal(point[0], 0x04, 'expected an uncompressed point');
  return point;
}

// --- DER ECDSA-Sig-Value ------------------------------------------------------------------
function derLen(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  if (n < 0x100) return Buffer.from([0x81, n]);
  return Buffer.from([0x82, n >> 8, n & 0xff]);
}
function derInteger(unsigned: Buffer): Buffer {
  let i = 0;
  while (i < unsigned.length - 1 && unsigned[i] === 0) i++;
  let v = unsigned.subarray(i);
  if (v[0] & 0x80) v = Buffer.concat([Buffer.from([0]), v]);
  return Buffer.concat([Buffer.from([0x02]), derLen(v.length), v]);
}

/** PKCS#11 raw r‖s → DER SEQUENCE { INTEGER r, INTEGER s }. */
export function ecdsaRawToDer(rs: Buffer): Buffer {
  assert.equal(rs.length % 2, 0, 'r‖s has an odd length');
  const half = rs.length / 2;
  const body = Buffer.concat([derInteger(rs.subarray(0, half)), derInteger(rs.subarray(half))]);
  return Buffer.concat([Buffer.from([0x30]), derLen(body.length), body]);
}

/** DER ECDSA-Sig-Value → raw r‖s with each half left-padded to `n` bytes. */
export function ecdsaDerToRaw(der: Buffer, n: number): Buffer {
  let o = 0;
  const readLen = (): number => {
    const first = der[o++];
    if (first < 0x80) return first;
    let len = 0;
    for (let k = first & 0x7f; k > 0; k--) len = (len << 8) | der[o++];
    return len;
  };
  assert.equal(der[o++], 0x30, 'not a SEQUENCE');
  assert.equal(readLen() + o, der.length, 'SEQUENCE length mismatch');
  const halves: Buffer[] = [];
  for (let j = 0; j < 2; j++) {
    assert.equal(der[o++], 0x02, 'not an INTEGER');
    const len = readLen();
    let v = der.subarray(o, o + len);
    o += len;
    while (v.length > n && v[0] === 0) v = v.subarray(1);
    assert.ok(v.length <= n, 'INTEGER longer than the curve order');
    halves.push(Buffer.concat([Buffer.alloc(n - v.length), v]));
  }
  return Buffer.concat(halves);
}

/** The curves under test, with their DER OIDs (RFC 5480 / SEC 2) and openssl names, spelled out here. */
export const TEST_CURVES = [
  { name: 'P-256', openssl: 'prime256v1', oid: '06082a8648ce3d030107', bytes: 32 },
  { name: 'P-384', openssl: 'secp384r1', oid: '06052b81040022', bytes: 48 },
  { name: 'P-521', openssl: 'secp521r1', oid: '06052b81040023', bytes: 66 },
  { name: 'secp256k1', openssl: 'secp256k1', oid: '06052b8104000a', bytes: 32 },
] as const;
export const ED25519_OID_HEX = '06032b6570';

export const hex = (b: Buffer): string => b.toString('hex');
