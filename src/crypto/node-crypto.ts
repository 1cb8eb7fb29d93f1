// Thin promise adapters over node:crypto. This folder is the only importer of node:crypto
// (STYLE.md); it holds no policy. Slow operations use node's callback forms, which run on
// the libuv thread pool, so the event loop keeps serving while RSA works.
import * as nc from 'node:crypto';
import { promisify } from 'node:util';
import { offLoop } from './off-loop';
import { nativeEcdsa } from './native-ecdsa';
import { verifyDigest } from './raw-ecdsa';
import type { HashName } from './hash-name';

export type KeyObject = nc.KeyObject;
export type { HashName } from './hash-name';

const signAsync = promisify(nc.sign) as (alg: string | null, data: Buffer, key: nc.SignKeyObjectInput | nc.KeyObject) => Promise<Buffer>;
const verifyAsync = promisify(nc.verify) as (alg: string | null, data: Buffer, key: nc.VerifyKeyObjectInput | nc.KeyObject, sig: Buffer) => Promise<boolean>;
const randomAsync = promisify(nc.randomBytes);
const scryptAsync = promisify(nc.scrypt) as (pw: Buffer, salt: Buffer, len: number, opts: nc.ScryptOptions) => Promise<Buffer>;
const hkdfAsync = promisify(nc.hkdf);

export const constants = nc.constants;

export function randomBytes(n: number): Buffer { return nc.randomBytes(n); }
export function randomBytesAsync(n: number): Promise<Buffer> { return randomAsync(n); }
export function randomUuid(): string { return nc.randomUUID(); }

export function digest(hash: HashName, data: Buffer): Buffer { return nc.createHash(hash).update(data).digest(); }
export function hmac(hash: HashName, key: KeyObject | Buffer, data: Buffer): Buffer {
  return nc.createHmac(hash, key).update(data).digest();
}
export function timingSafeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && nc.timingSafeEqual(a, b);
}
export function hkdf(hash: HashName, ikm: KeyObject | Buffer, salt: Buffer, info: Buffer, len: number): Buffer {
  return Buffer.from(nc.hkdfSync(hash, ikm, salt, info, len));
}
export async function hkdfAsyncBytes(hash: HashName, ikm: KeyObject | Buffer, salt: Buffer, info: Buffer, len: number): Promise<Buffer> {
  return Buffer.from(await hkdfAsync(hash, ikm, salt, info, len));
}
export function scrypt(password: Buffer, salt: Buffer, len: number, opts: nc.ScryptOptions): Promise<Buffer> {
  return scryptAsync(password, salt, len, opts);
}

// --- key objects ---------------------------------------------------------------------------
export function secretKey(bytes: Buffer): KeyObject { return nc.createSecretKey(bytes); }
export function generateRsa(bits: number, publicExponent: number): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => nc.generateKeyPair('rsa', { modulusLength: bits, publicExponent },
    (err, publicKey, privateKey) => err ? reject(err) : resolve({ publicKey, privateKey })));
}
export function generateEc(namedCurve: string): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => nc.generateKeyPair('ec', { namedCurve },
    (err, publicKey, privateKey) => err ? reject(err) : resolve({ publicKey, privateKey })));
}
export function generateEd25519(): Promise<{ publicKey: KeyObject; privateKey: KeyObject }> {
  return new Promise((resolve, reject) => nc.generateKeyPair('ed25519', undefined,
    (err, publicKey, privateKey) => err ? reject(err) : resolve({ publicKey, privateKey })));
}
export function privateKeyFromDer(der: Buffer): KeyObject { return nc.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' }); }
export function publicKeyFromDer(der: Buffer): KeyObject { return nc.createPublicKey({ key: der, format: 'der', type: 'spki' }); }
export function privateKeyFromPem(pem: string): KeyObject { return nc.createPrivateKey(pem); }
export function publicKeyFromPem(pem: string): KeyObject { return nc.createPublicKey(pem); }
export function publicKeyFromJwk(jwk: nc.JsonWebKey): KeyObject { return nc.createPublicKey({ key: jwk, format: 'jwk' }); }
export function publicOf(priv: KeyObject): KeyObject { return nc.createPublicKey(priv); }
export function exportPkcs8(priv: KeyObject): Buffer { return priv.export({ format: 'der', type: 'pkcs8' }); }
export function exportSpki(pub: KeyObject): Buffer { return pub.export({ format: 'der', type: 'spki' }); }
export function exportSpkiPem(pub: KeyObject): string { return pub.export({ format: 'pem', type: 'spki' }) as string; }
export function exportJwk(key: KeyObject): nc.JsonWebKey { return key.export({ format: 'jwk' }); }
export function exportSecret(key: KeyObject): Buffer { return key.export(); }

// --- signatures ----------------------------------------------------------------------------
export interface SignOptions {
  padding?: number;
  saltLength?: number;
  dsaEncoding?: 'der' | 'ieee-p1363';
}
/** Hash-and-sign (or EdDSA with hash null), on the thread pool. */
export function sign(hash: HashName | null, data: Buffer, key: KeyObject, opts: SignOptions = {}): Promise<Buffer> {
  return signAsync(hash, data, { key, ...opts });
}
export function verify(hash: HashName | null, data: Buffer, key: KeyObject, sig: Buffer, opts: SignOptions = {}): Promise<boolean> {
  return verifyAsync(hash, data, { key, ...opts }, sig);
}
/** RSA private operation with PKCS#1 v1.5 type-1 padding or none, on caller-formatted input (CKM_RSA_PKCS, CKM_RSA_X_509). */
export function rsaPrivateEncrypt(key: KeyObject, data: Buffer, padding: number): Buffer {
  return nc.privateEncrypt({ key, padding }, data);
}
export function rsaPublicDecrypt(key: KeyObject, data: Buffer, padding: number): Buffer {
  return nc.publicDecrypt({ key, padding }, data);
}
export function rsaPublicEncrypt(key: KeyObject, data: Buffer, padding: number, oaepHash?: HashName, oaepLabel?: Buffer): Buffer {
  return nc.publicEncrypt({ key, padding, oaepHash, oaepLabel }, data);
}
export function rsaPrivateDecrypt(key: KeyObject, data: Buffer, padding: number, oaepHash?: HashName, oaepLabel?: Buffer): Buffer {
  return nc.privateDecrypt({ key, padding, oaepHash, oaepLabel }, data);
}

// --- symmetric -----------------------------------------------------------------------------
export interface CipherResult { data: Buffer; tag?: Buffer }
export function cipher(name: string, key: KeyObject, iv: Buffer | null, data: Buffer,
  opts: { padding?: boolean; aad?: Buffer; tagLength?: number } = {}): CipherResult {
  const c = nc.createCipheriv(name, key, iv, opts.tagLength ? { authTagLength: opts.tagLength } as nc.CipherGCMOptions : undefined);
  if (opts.padding === false) c.setAutoPadding(false);
  if (opts.aad) (c as nc.CipherGCM).setAAD(opts.aad);
  const out = Buffer.concat([c.update(data), c.final()]);
  return { data: out, tag: opts.tagLength ? (c as nc.CipherGCM).getAuthTag() : undefined };
}
export function decipher(name: string, key: KeyObject, iv: Buffer | null, data: Buffer,
  opts: { padding?: boolean; aad?: Buffer; tag?: Buffer; tagLength?: number } = {}): Buffer {
  const d = nc.createDecipheriv(name, key, iv, opts.tagLength ? { authTagLength: opts.tagLength } as nc.CipherGCMOptions : undefined);
  if (opts.padding === false) d.setAutoPadding(false);
  if (opts.aad) (d as nc.DecipherGCM).setAAD(opts.aad);
  if (opts.tag) (d as nc.DecipherGCM).setAuthTag(opts.tag);
  return Buffer.concat([d.update(data), d.final()]);
}
export function ecdh(privateKey: KeyObject, publicKey: KeyObject): Buffer {
  return nc.diffieHellman({ privateKey, publicKey });
}

// --- key import from components -----------------------------------------------------------
export function privateKeyFromJwk(jwk: nc.JsonWebKey): KeyObject { return nc.createPrivateKey({ key: jwk, format: 'jwk' }); }
/** The uncompressed public point of an EC private scalar (to build a JWK from CKA_VALUE). */
export function ecPublicPoint(curve: string, d: Buffer): Buffer {
  const ecdhKey = nc.createECDH(curve);
  ecdhKey.setPrivateKey(d);
  return ecdhKey.getPublicKey();
}
/** RFC 8410 PKCS#8 wrapping of a 32-byte Ed25519 seed (DER prefix of OneAsymmetricKey v0). */
export function ed25519PrivateFromSeed(seed: Buffer): KeyObject {
  const prefix = Buffer.from('302e020100300506032b657004220420', 'hex');
  return privateKeyFromDer(Buffer.concat([prefix, seed]));
}

/** Synchronous verify, for the offline audit verifier (no server, no thread-pool needed). */
export function verifySync(hash: HashName | null, data: Buffer, key: KeyObject, sig: Buffer): boolean {
  return nc.verify(hash, data, key, sig);
}
export function signSync(hash: HashName | null, data: Buffer, key: KeyObject): Buffer {
  return nc.sign(hash, data, key);
}

// --- the same private operations on a worker thread (src/crypto/off-loop.ts) ------------
export function rsaPrivateEncryptAsync(key: KeyObject, data: Buffer, padding: number): Promise<Buffer> {
  return offLoop({ op: 'rsa-private-encrypt', key, data, padding });
}
export function rsaPrivateDecryptAsync(key: KeyObject, data: Buffer, padding: number, oaepHash?: HashName, oaepLabel?: Buffer): Promise<Buffer> {
  return offLoop({ op: 'rsa-private-decrypt', key, data, padding, oaepHash, oaepLabel });
}
/** ECDSA over a caller's digest: OpenSSL through the native addon, else @noble/curves on the worker pool. */
export function ecdsaSignDigestAsync(curve: string, key: KeyObject, digest: Buffer): Promise<Buffer> {
  const native = nativeEcdsa();
  return native ? native.sign(key, digest) : offLoop({ op: 'ecdsa-sign-digest', key, data: digest, curve });
}
export async function ecdsaVerifyDigestAsync(curve: string, key: KeyObject, digest: Buffer, rs: Buffer): Promise<boolean> {
  const native = nativeEcdsa();
  return native ? native.verify(key, digest, rs) : verifyDigest(curve, key, digest, rs);
}
export function pssSignDigestAsync(key: KeyObject, hash: HashName, mgfHash: HashName, saltLength: number, digest: Buffer): Promise<Buffer> {
  return offLoop({ op: 'pss-sign-digest', key, data: digest, hash, mgfHash, saltLength });
}
