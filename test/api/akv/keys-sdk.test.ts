// The Key Vault keys API through the real @azure/keyvault-keys KeyClient: create (RSA, EC on
// every curve, oct-HSM), versions, get, update, list with nextLink paging, soft delete, deleted
// keys, recover, purge, backup/restore, rotation and its policy, import, random. Returned JWKs
// are checked independently (node:crypto builds keys from n/e and x/y; @noble/curves checks
// points are on the curve).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import type { KeyClient, KeyVaultKey } from '@azure/keyvault-keys';
import { startAkvCore, type AkvCoreFixture } from './fixture';

let f: AkvCoreFixture;
let kc: KeyClient;
before(async () => { f = await startAkvCore({ retentionDays: 7 }); kc = f.keyClient(); });
after(async () => { await f.close(); });

const poll = { intervalInMs: 10 };
const hex32 = /^[0-9a-f]{32}$/;

function nodeKeyOf(key: KeyVaultKey): nc.KeyObject {
  const k = key.key!;
  const b = (u?: Uint8Array) => Buffer.from(u!).toString('base64url');
  if (k.kty === 'RSA-HSM') return nc.createPublicKey({ key: { kty: 'RSA', n: b(k.n), e: b(k.e) }, format: 'jwk' });
  const crv = k.crv === 'P-256K' ? 'secp256k1' : k.crv!;
  return nc.createPublicKey({ key: { kty: 'EC', crv, x: b(k.x), y: b(k.y) }, format: 'jwk' });
}

test('RSA keys of 2048, 3072 and 4096 bits: exact n/e that node:crypto accepts, default key_ops, HSM kty', async () => {
  for (const keySize of [2048, 3072, 4096]) {
    const key = await kc.createRsaKey(`rsa-${keySize}`, { keySize, hsm: true });
    assert.equal(key.keyType, 'RSA-HSM');
    assert.match(key.properties.version!, hex32);
    assert.equal(key.id, `${f.vaultUrl}/keys/rsa-${keySize}/${key.properties.version}`);
    assert.deepEqual(key.keyOperations, ['encrypt', 'decrypt', 'sign', 'verify', 'wrapKey', 'unwrapKey']);
    const pub = nodeKeyOf(key);
    assert.equal(pub.asymmetricKeyDetails!.modulusLength, keySize);
    assert.equal(pub.asymmetricKeyDetails!.publicExponent, 65537n);
    assert.notEqual(key.key!.n![0], 0, 'no leading zero byte (RFC 7518 §6.3.1.1)');
  }
});

test('EC keys on P-256, P-384, P-521 and P-256K: the points are on their curves', async () => {
  const curves = { 'P-256': [p256, 32], 'P-384': [p384, 48], 'P-521': [p521, 66], 'P-256K': [secp256k1, 32] } as const;
  for (const [crv, [curve, size]] of Object.entries(curves)) {
    const key = await kc.createEcKey(`ec-${crv}`, { curve: crv as 'P-256' });
    assert.equal(key.keyType, 'EC-HSM');
    assert.equal(key.key!.crv, crv);
    assert.deepEqual(key.keyOperations, ['sign', 'verify']);
    assert.equal(key.key!.x!.length, size);
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(key.key!.x!), Buffer.from(key.key!.y!)]);
    (curve as typeof p256).Point.fromHex(point.toString('hex')).assertValidity();
    nodeKeyOf(key);
  }
});

test('oct-HSM keys of 128, 192, 256 bits expose no key material', async () => {
  for (const keySize of [128, 192, 256]) {
    const key = await kc.createOctKey(`oct-${keySize}`, { keySize, hsm: true });
    assert.equal(key.keyType, 'oct-HSM');
    assert.equal(key.key!.k, undefined);
    assert.deepEqual(key.keyOperations, ['encrypt', 'decrypt', 'wrapKey', 'unwrapKey']);
  }
});

test('creating an existing name adds a version; get by version and latest; versions listed', async () => {
  const v1 = await kc.createEcKey('versioned', { curve: 'P-256', tags: { app: 'one' } });
  const v2 = await kc.createEcKey('versioned', { curve: 'P-256', tags: { app: 'two' } });
  assert.notEqual(v1.properties.version, v2.properties.version);
  assert.equal((await kc.getKey('versioned')).properties.version, v2.properties.version);
  const old = await kc.getKey('versioned', { version: v1.properties.version });
  assert.deepEqual(old.properties.tags, { app: 'one' });
  assert.deepEqual(Buffer.from(old.key!.x!), Buffer.from(v1.key!.x!));
  const versions = [];
  for await (const p of kc.listPropertiesOfKeyVersions('versioned')) versions.push(p.version);
  assert.deepEqual(versions, [v1.properties.version, v2.properties.version]);
  await assert.rejects(kc.createRsaKey('versioned'), (e: { code?: string; statusCode?: number }) => e.statusCode === 400);
});

test('update: disable, validity, tags and key_ops of one version', async () => {
  const key = await kc.createEcKey('updatable', { curve: 'P-384' });
  const nbf = new Date(Math.floor(Date.now() / 1000) * 1000 - 60_000);
  const exp = new Date(nbf.getTime() + 86_400_000);
  const updated = await kc.updateKeyProperties('updatable', key.properties.version!, {
    enabled: false, notBefore: nbf, expiresOn: exp, tags: { env: 'test' }, keyOps: ['verify'],
  });
  assert.equal(updated.properties.enabled, false);
  assert.deepEqual(updated.properties.notBefore, nbf);
  assert.deepEqual(updated.properties.expiresOn, exp);
  assert.deepEqual(updated.properties.tags, { env: 'test' });
  assert.deepEqual(updated.keyOperations, ['verify']);
  await assert.rejects(kc.updateKeyProperties('updatable', key.properties.version!, { keyOps: ['encrypt'] }),
    (e: { code?: string }) => e.code === 'BadParameter');
});

test('listing keys follows nextLink pages of maxresults entries; kids carry no version', async () => {
  for (let i = 0; i < 5; i++) await kc.createOctKey(`page-${i}`, { keySize: 128 });
  const pages: string[][] = [];
  for await (const page of kc.listPropertiesOfKeys().byPage({ maxPageSize: 2 })) pages.push(page.map((p) => p.name));
  assert.ok(pages.length >= 3);
  assert.ok(pages.slice(0, -1).every((p) => p.length === 2));
  const all = pages.flat();
  assert.equal(new Set(all).size, all.length);
  for (let i = 0; i < 5; i++) assert.ok(all.includes(`page-${i}`));
  for await (const p of kc.listPropertiesOfKeys()) assert.equal(p.id, `${f.vaultUrl}/keys/${p.name}`);
});

test('soft delete, deleted key reads, recover; purge needs a Crypto Officer; names of deleted keys are held', async () => {
  await kc.createEcKey('doomed', { curve: 'P-256' });
  const poller = await kc.beginDeleteKey('doomed', poll);
  const deleted = await poller.pollUntilDone();
  assert.equal(deleted.properties.recoveryId, `${f.vaultUrl}/deletedkeys/doomed`);
  assert.equal(deleted.properties.recoveryLevel, 'CustomizedRecoverable+Purgeable');
  assert.equal(deleted.properties.recoverableDays, 7);
  assert.equal(deleted.properties.scheduledPurgeDate!.getTime() - deleted.properties.deletedOn!.getTime(), 7 * 86_400_000);
  await assert.rejects(kc.getKey('doomed'), (e: { code?: string; statusCode?: number }) => e.code === 'KeyNotFound' && e.statusCode === 404);
  await assert.rejects(kc.createEcKey('doomed'), (e: { code?: string; statusCode?: number }) => e.code === 'Conflict' && e.statusCode === 409);
  const names = [];
  for await (const d of kc.listDeletedKeys()) names.push(d.name);
  assert.ok(names.includes('doomed'));
  assert.equal((await kc.getDeletedKey('doomed')).name, 'doomed');

  const recovered = await (await kc.beginRecoverDeletedKey('doomed', poll)).pollUntilDone();
  assert.equal(recovered.name, 'doomed');
  await (await kc.beginDeleteKey('doomed', poll)).pollUntilDone();
  await assert.rejects(kc.purgeDeletedKey('doomed'), (e: { code?: string; statusCode?: number }) => e.code === 'Forbidden' && e.statusCode === 403);
  await f.addClient('app-officer', 'officer-secret-0123456789', 'officer');
  await f.keyClient('app-officer', 'officer-secret-0123456789').purgeDeletedKey('doomed');
  await assert.rejects(kc.getDeletedKey('doomed'), (e: { code?: string }) => e.code === 'KeyNotFound');
  assert.ok(!(await f.names()).includes('doomed'));
});

test('backup and restore bring back every version with the same public key', async () => {
  const a = await kc.createEcKey('backed-up', { curve: 'P-256' });
  const b = await kc.createEcKey('backed-up', { curve: 'P-256' });
  const blob = await kc.backupKey('backed-up');
  assert.ok(blob && blob.length > 0);
  await assert.rejects(kc.restoreKeyBackup(blob!), (e: { code?: string; statusCode?: number }) => e.statusCode === 409);
  await (await kc.beginDeleteKey('backed-up', poll)).pollUntilDone();
  await f.keyClient('app-officer', 'officer-secret-0123456789').purgeDeletedKey('backed-up');
  const restored = await kc.restoreKeyBackup(blob!);
  assert.equal(restored.properties.version, b.properties.version);
  assert.deepEqual(Buffer.from(restored.key!.x!), Buffer.from(b.key!.x!));
  assert.deepEqual(Buffer.from((await kc.getKey('backed-up', { version: a.properties.version })).key!.y!), Buffer.from(a.key!.y!));
  const tampered = Buffer.from(blob!);
  tampered[tampered.length - 1] ^= 1;
  await assert.rejects(kc.restoreKeyBackup(tampered), (e: { code?: string }) => e.code === 'BadParameter');
});

test('rotation policy round-trips; rotate makes a version that expires after the policy expiryTime', async () => {
  await kc.createRsaKey('rotating');
  const policy = await kc.updateKeyRotationPolicy('rotating', {
    lifetimeActions: [{ action: 'Rotate', timeAfterCreate: 'P90D' }, { action: 'Notify', timeBeforeExpiry: 'P30D' }],
    expiresIn: 'P1Y',
  });
  assert.equal(policy.id, `${f.vaultUrl}/keys/rotating/rotationpolicy`);
  assert.equal(policy.expiresIn, 'P1Y');
  assert.deepEqual(policy.lifetimeActions, [
    { action: 'Rotate', timeAfterCreate: 'P90D', timeBeforeExpiry: undefined },
    { action: 'Notify', timeAfterCreate: undefined, timeBeforeExpiry: 'P30D' },
  ]);
  assert.deepEqual((await kc.getKeyRotationPolicy('rotating')).lifetimeActions, policy.lifetimeActions);
  const before = await kc.getKey('rotating');
  const rotated = await kc.rotateKey('rotating');
  assert.notEqual(rotated.properties.version, before.properties.version);
  const days = (rotated.properties.expiresOn!.getTime() - Date.now()) / 86_400_000;
  assert.ok(days > 364 && days < 367, `expires in ${days} days`);
  await assert.rejects(kc.updateKeyRotationPolicy('rotating', { lifetimeActions: [{ action: 'Rotate', timeAfterCreate: 'P1D' }] }),
    (e: { code?: string }) => e.code === 'BadParameter');
});

test('import RSA and EC JWKs made by node:crypto; the vault returns their exact public halves', async () => {
  const rsa = nc.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsaJwk = rsa.privateKey.export({ format: 'jwk' });
  const b = (s?: string) => Buffer.from(s!, 'base64url');
  const imported = await kc.importKey('imported-rsa', {
    kty: 'RSA', n: b(rsaJwk.n), e: b(rsaJwk.e), d: b(rsaJwk.d), p: b(rsaJwk.p), q: b(rsaJwk.q),
    dp: b(rsaJwk.dp), dq: b(rsaJwk.dq), qi: b(rsaJwk.qi), keyOps: ['sign', 'verify'],
  }, { hardwareProtected: true });
  assert.equal(Buffer.from(imported.key!.n!).toString('base64url'), rsaJwk.n);
  assert.deepEqual(imported.keyOperations, ['sign', 'verify']);
  const ec = nc.generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'jwk' });
  const ecKey = await kc.importKey('imported-ec', { kty: 'EC', crv: 'P-256K', x: b(ec.x), y: b(ec.y), d: b(ec.d) });
  assert.equal(Buffer.from(ecKey.key!.x!).toString('base64url'), ec.x);
  assert.equal(ecKey.key!.d, undefined);
  await assert.rejects(kc.importKey('bad-ec', { kty: 'EC', crv: 'P-256', x: b(ec.x), y: b(ec.y), d: b(ec.d) }),
    (e: { code?: string }) => e.code === 'BadParameter');
  // Halves that do not belong together are refused before anything is stored: another key's d
  // under this public point, and an RSA key whose d is another modulus's.
  const other = nc.generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'jwk' });
  await assert.rejects(kc.importKey('mixed-ec', { kty: 'EC', crv: 'P-256K', x: b(ec.x), y: b(ec.y), d: b(other.d) }),
    (e: { code?: string }) => e.code === 'BadParameter');
  const rsa2 = nc.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  await assert.rejects(kc.importKey('mixed-rsa', {
    kty: 'RSA', n: b(rsaJwk.n), e: b(rsaJwk.e), d: b(rsa2.d), p: b(rsa2.p), q: b(rsa2.q), dp: b(rsa2.dp), dq: b(rsa2.dq), qi: b(rsa2.qi),
  }), (e: { code?: string }) => e.code === 'BadParameter');
  for (const name of ['mixed-ec', 'mixed-rsa']) {
    await assert.rejects(kc.getKey(name), (e: { code?: string }) => e.code === 'KeyNotFound', `${name} left nothing`);
  }
});

test('random bytes: 1 to 128 per call', async () => {
  const r = await kc.getRandomBytes(128);
  assert.equal(r.length, 128);
  assert.notDeepEqual(Buffer.from(r), Buffer.alloc(128));
  await assert.rejects(kc.getRandomBytes(129), (e: { code?: string }) => e.code === 'BadParameter');
});
