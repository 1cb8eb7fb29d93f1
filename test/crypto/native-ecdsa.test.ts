// The raw-digest ECDSA addon (native/inkan-ecdsa.c → OpenSSL's EVP_PKEY_sign): its signatures
// are checked by node:crypto's hash-and-verify over the message the digest came from, and by
// @noble/curves; r‖s is fixed-length (PKCS#11 2.40 §2.3.1) and converts to the DER that KMS and
// openssl speak; the noble fallback is what a process without the addon uses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as nc from 'node:crypto';
import * as path from 'node:path';
import { p256, p384, p521 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import { nativeEcdsa, rawEcdsaProvider } from '../../src/crypto/native-ecdsa';
import { rawToDer } from '../../src/crypto/raw-ecdsa';

const CURVES = [
  { name: 'prime256v1', half: 32, noble: p256, hash: 'sha256' },
  { name: 'secp384r1', half: 48, noble: p384, hash: 'sha384' },
  { name: 'secp521r1', half: 66, noble: p521, hash: 'sha512' },
  { name: 'secp256k1', half: 32, noble: secp256k1 as unknown as typeof p256, hash: 'sha256' },
];

/** The uncompressed public point (SEC 1 §2.3.3), from the JWK node exports. */
function point(key: nc.KeyObject, half: number): Buffer {
  const jwk = key.export({ format: 'jwk' });
  const pad = (v?: string) => { const b = Buffer.from(v ?? '', 'base64url'); return Buffer.concat([Buffer.alloc(half - b.length), b]); };
  return Buffer.concat([Buffer.from([4]), pad(jwk.x), pad(jwk.y)]);
}

const addon = () => {
  const n = nativeEcdsa();
  assert.ok(n, `the addon is built by npm install in this checkout (${rawEcdsaProvider()})`);
  return n;
};

test('the addon loads and uses the OpenSSL node runs on', () => {
  assert.match(addon().openssl, new RegExp(`OpenSSL ${process.versions.openssl.replace(/\./g, '\\.')}\\b`));
  assert.match(rawEcdsaProvider(), /^OpenSSL .*native addon/);
});

test('signatures over a digest verify with node:crypto (hash-and-verify) and with @noble/curves, on every curve', async () => {
  for (const c of CURVES) {
    const { privateKey, publicKey } = nc.generateKeyPairSync('ec', { namedCurve: c.name });
    for (let i = 0; i < 20; i++) {
      const message = nc.randomBytes(40);
      const digest = nc.createHash(c.hash).update(message).digest();
      const rs = await addon().sign(privateKey, digest);
      assert.equal(rs.length, 2 * c.half, `${c.name}: r‖s is twice the order length`);
      assert.ok(nc.verify(c.hash, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, rs), `${c.name}: node:crypto verifies r‖s`);
      assert.ok(nc.verify(c.hash, message, publicKey, rawToDer(c.name, rs)), `${c.name}: node:crypto verifies the DER form`);
      assert.ok(c.noble.verify(rs, digest, point(publicKey, c.half), { prehash: false, lowS: false }), `${c.name}: noble verifies`);
    }
  }
});

test('r‖s keeps its fixed length when r or s has leading zero bytes (P-256, 1,500 signatures)', async () => {
  const { privateKey, publicKey } = nc.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const message = Buffer.from('leading zeros');
  const digest = nc.createHash('sha256').update(message).digest();
  const sigs = await Promise.all(Array.from({ length: 1500 }, () => addon().sign(privateKey, digest)));
  const short = sigs.filter((s) => s[0] === 0 || s[32] === 0);
  assert.ok(short.length > 0, 'some r or s starts with a zero byte (expected ~12 of 1,500)');
  for (const s of sigs) assert.equal(s.length, 64);
  for (const s of short) assert.ok(nc.verify('sha256', message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, s));
  assert.equal(new Set(sigs.map((s) => s.toString('hex'))).size, sigs.length, 'every nonce differs');
});

test('digests of other lengths are truncated as ECDSA specifies (SEC 1 §4.1.3), as node:crypto does', async () => {
  const { privateKey, publicKey } = nc.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const message = Buffer.from('truncation');
  for (const hash of ['sha1', 'sha224', 'sha256', 'sha384', 'sha512']) {
    const rs = await addon().sign(privateKey, nc.createHash(hash).update(message).digest());
    assert.ok(nc.verify(hash, message, { key: publicKey, dsaEncoding: 'ieee-p1363' }, rs), hash);
  }
});

test('verify accepts node:crypto\'s signatures and refuses altered ones', async () => {
  const { privateKey, publicKey } = nc.generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const message = Buffer.from('verify me');
  const digest = nc.createHash('sha384').update(message).digest();
  const theirs = nc.sign('sha384', message, { key: privateKey, dsaEncoding: 'ieee-p1363' });
  assert.equal(await addon().verify(publicKey, digest, theirs), true);
  assert.equal(await addon().verify(privateKey, digest, theirs), true, 'a private key verifies too');
  const bad = Buffer.from(theirs);
  bad[10] ^= 1;
  assert.equal(await addon().verify(publicKey, digest, bad), false);
  assert.equal(await addon().verify(publicKey, Buffer.alloc(48, 1), theirs), false, 'another digest');
  assert.equal(await addon().verify(publicKey, digest, Buffer.alloc(96)), false, 'r = s = 0');
  assert.throws(() => addon().verify(publicKey, digest, theirs.subarray(1)), /signature length/);
});

test('bad input is refused with an error, not a crash', async () => {
  const { privateKey } = nc.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  assert.throws(() => addon().sign(privateKey, Buffer.alloc(0)), /digest length/);
  assert.throws(() => addon().sign(privateKey, Buffer.alloc(65)), /digest length/);
  const rsa = nc.generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey;
  assert.throws(() => addon().sign(rsa, Buffer.alloc(32)), /not an EC key/);
  const pub = nc.createPublicKey(privateKey);
  assert.throws(() => addon().sign(pub, Buffer.alloc(32)), /private key is needed/);
});

test('without the addon (INKAN_NATIVE=0) raw digests are signed by @noble/curves, verifiable by node:crypto', () => {
  const crypto = path.join(__dirname, '..', '..', 'src', 'crypto');
  const script = `
    const nc = require('node:crypto');
    const n = require(${JSON.stringify(path.join(crypto, 'native-ecdsa.js'))});
    const c = require(${JSON.stringify(path.join(crypto, 'node-crypto.js'))});
    const { privateKey, publicKey } = nc.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const m = Buffer.from('fallback');
    c.ecdsaSignDigestAsync('prime256v1', privateKey, nc.createHash('sha256').update(m).digest()).then(async (rs) => {
      const back = await c.ecdsaVerifyDigestAsync('prime256v1', publicKey, nc.createHash('sha256').update(m).digest(), rs);
      process.stdout.write(JSON.stringify({ provider: n.rawEcdsaProvider(), native: !!n.nativeEcdsa(), rs: rs.toString('hex'), back, pub: publicKey.export({ type: 'spki', format: 'der' }).toString('hex') }));
    });`;
  const out = JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, INKAN_NATIVE: '0' } }).toString()) as { provider: string; native: boolean; rs: string; back: boolean; pub: string };
  assert.equal(out.native, false);
  assert.match(out.provider, /@noble\/curves.*INKAN_NATIVE=0/);
  assert.equal(out.back, true);
  const rs = Buffer.from(out.rs, 'hex');
  assert.equal(rs.length, 64);
  const pub = nc.createPublicKey({ key: Buffer.from(out.pub, 'hex'), format: 'der', type: 'spki' });
  assert.ok(nc.verify('sha256', Buffer.from('fallback'), { key: pub, dsaEncoding: 'ieee-p1363' }, rs));
});
