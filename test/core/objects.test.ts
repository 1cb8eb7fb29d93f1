// The object model: defaults, template checks, attribute change rules, sensitive attributes,
// key sizes, sharing and visibility (PKCS#11 2.40 §4 and the ownership model of DESIGN.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { CKA, CKK, CKM, CKO } from '../../src/pkcs11/constants';
import { freshModule } from '../helpers/harness';

const code = (c: string) => (err: unknown) => { assert.equal((err as { code?: string }).code, c); return true; };
const T = (entries: [number, unknown][]) => new Map<number, any>(entries);
const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

test('generated keys get PKCS#11 defaults and module-set attributes', async () => {
  const m = await freshModule();
  try {
    const k = await m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, T([[CKA.VALUE_LEN, 16], [CKA.LABEL, 'd'], [CKA.TOKEN, true]]));
    const a = k.attrs;
    assert.equal(a.get(CKA.CLASS), CKO.SECRET_KEY);
    assert.equal(a.get(CKA.KEY_TYPE), CKK.AES);
    assert.equal(a.get(CKA.SENSITIVE), true);
    assert.equal(a.get(CKA.EXTRACTABLE), false);
    assert.equal(a.get(CKA.ALWAYS_SENSITIVE), true);
    assert.equal(a.get(CKA.NEVER_EXTRACTABLE), true);
    assert.equal(a.get(CKA.LOCAL), true);
    assert.equal(a.get(CKA.KEY_GEN_MECHANISM), CKM.AES_KEY_GEN);
    assert.equal(a.get(CKA.VALUE_LEN), 16);
    assert.equal(a.has(CKA.VALUE), false, 'the value is sealed, not an attribute');
    const read = await m.hsm.lookup.readAttributes(m.caller, k, [CKA.VALUE, CKA.LABEL, CKA.MODULUS]);
    assert.deepEqual(read.get(CKA.VALUE), { error: 'sensitive' });
    assert.deepEqual(read.get(CKA.LABEL), { value: 'd' });
    assert.deepEqual(read.get(CKA.MODULUS), { error: 'invalid' });
  } finally { await m.close(); }
});

test('templates: unknown, module-only, wrongly typed and contradictory attributes are refused', async () => {
  const m = await freshModule();
  try {
    const gen = (t: Map<number, any>) => m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, t);
    await assert.rejects(gen(T([[CKA.VALUE_LEN, 32], [CKA.MODULUS, Buffer.alloc(8)]])), code('ATTRIBUTE_TYPE_INVALID'));
    await assert.rejects(gen(T([[CKA.VALUE_LEN, 32], [CKA.LOCAL, false]])), code('ATTRIBUTE_READ_ONLY'));
    await assert.rejects(gen(T([[CKA.VALUE_LEN, 32], [CKA.SENSITIVE, 1]])), code('ATTRIBUTE_VALUE_INVALID'));
    await assert.rejects(gen(T([[CKA.VALUE_LEN, '32']])), code('ATTRIBUTE_VALUE_INVALID'));
    await assert.rejects(gen(T([[CKA.VALUE_LEN, 32], [CKA.KEY_TYPE, CKK.RSA]])), code('TEMPLATE_INCONSISTENT'));
    await assert.rejects(gen(T([[CKA.VALUE_LEN, 32], [CKA.CLASS, CKO.PRIVATE_KEY]])), code('TEMPLATE_INCONSISTENT'));
    await assert.rejects(gen(T([])), code('TEMPLATE_INCOMPLETE'));
    await assert.rejects(gen(T([[CKA.VALUE_LEN, 20]])), code('KEY_SIZE_RANGE'));
    assert.equal((await m.hsm.lookup.find(m.caller)).length, 0, 'nothing was created by the failures');
  } finally { await m.close(); }
});

test('key sizes outside the supported ranges are refused', async () => {
  const m = await freshModule();
  try {
    const rsa = (bits: number) => m.hsm.keys.generateKeyPair(m.caller, CKM.RSA_PKCS_KEY_PAIR_GEN, T([[CKA.MODULUS_BITS, bits]]), T([]));
    await assert.rejects(rsa(1024), code('KEY_SIZE_RANGE'));
    await assert.rejects(rsa(8192), code('KEY_SIZE_RANGE'));
    await assert.rejects(m.hsm.keys.generateKeyPair(m.caller, CKM.EC_KEY_PAIR_GEN, T([[CKA.EC_PARAMS, Buffer.from('06052b81040021', 'hex')]]), T([])), code('CURVE_NOT_SUPPORTED'));
    await assert.rejects(m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN, T([[CKA.VALUE_LEN, 4]])), code('KEY_SIZE_RANGE'));
    await assert.rejects(m.hsm.keys.createObject(m.caller, T([[CKA.CLASS, CKO.SECRET_KEY], [CKA.KEY_TYPE, CKK.AES], [CKA.VALUE, Buffer.alloc(17)]])), code('KEY_SIZE_RANGE'));
  } finally { await m.close(); }
});

test('attribute change rules: sensitive only to true, extractable only to false, fixed ones never', async () => {
  const m = await freshModule();
  try {
    const k = await m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, T([[CKA.VALUE_LEN, 32], [CKA.SENSITIVE, false], [CKA.EXTRACTABLE, true], [CKA.TOKEN, true]]));
    await m.hsm.keys.setAttributes(m.caller, k, T([[CKA.LABEL, 'renamed'], [CKA.ENCRYPT, false]]));
    await m.hsm.keys.setAttributes(m.caller, k, T([[CKA.SENSITIVE, true]]));
    await assert.rejects(m.hsm.keys.setAttributes(m.caller, k, T([[CKA.SENSITIVE, false]])), code('ATTRIBUTE_READ_ONLY'));
    await m.hsm.keys.setAttributes(m.caller, k, T([[CKA.EXTRACTABLE, false]]));
    await assert.rejects(m.hsm.keys.setAttributes(m.caller, k, T([[CKA.EXTRACTABLE, true]])), code('ATTRIBUTE_READ_ONLY'));
    await assert.rejects(m.hsm.keys.setAttributes(m.caller, k, T([[CKA.KEY_TYPE, CKK.GENERIC_SECRET]])), code('ATTRIBUTE_READ_ONLY'));
    await assert.rejects(m.hsm.keys.setAttributes(m.caller, k, T([[CKA.VALUE_LEN, 16]])), code('ATTRIBUTE_READ_ONLY'));
    // all-or-nothing: the label must not change when a later attribute is refused
    await assert.rejects(m.hsm.keys.setAttributes(m.caller, k, T([[CKA.LABEL, 'half'], [CKA.LOCAL, false]])), code('ATTRIBUTE_READ_ONLY'));
    const again = await m.hsm.lookup.resolve(m.caller, k.id);
    assert.equal(again.label, 'renamed');
    assert.equal(again.bool(CKA.ENCRYPT), false);
    await assert.rejects(m.hsm.crypto.encrypt(m.caller, again, CKM.AES_GCM, { iv: Buffer.alloc(12) }, Buffer.from('x')), code('KEY_FUNCTION_NOT_PERMITTED'));
    const ro = await m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, T([[CKA.VALUE_LEN, 32], [CKA.MODIFIABLE, false], [CKA.DESTROYABLE, false]]));
    await assert.rejects(m.hsm.keys.setAttributes(m.caller, ro, T([[CKA.LABEL, 'x']])), code('OBJECT_NOT_MODIFIABLE'));
    await assert.rejects(m.hsm.keys.destroy(m.caller, ro), code('OBJECT_NOT_DESTROYABLE'));
  } finally { await m.close(); }
});

test('usage flags, allowed mechanisms and validity dates are enforced by the gate', async () => {
  const m = await freshModule();
  try {
    const { privateKey } = await m.hsm.keys.generateKeyPair(m.caller, CKM.EC_KEY_PAIR_GEN, T([[CKA.EC_PARAMS, P256]]),
      T([[CKA.ALLOWED_MECHANISMS, [CKM.ECDSA_SHA384]], [CKA.DERIVE, false]]));
    const data = Buffer.from('hello');
    await assert.rejects(m.hsm.crypto.sign(m.caller, privateKey, CKM.ECDSA_SHA256, {}, data), code('MECHANISM_NOT_ALLOWED'));
    assert.equal((await m.hsm.crypto.sign(m.caller, privateKey, CKM.ECDSA_SHA384, {}, data)).length, 64);
    await assert.rejects(m.hsm.crypto.derive(m.caller, privateKey, CKM.ECDH1_DERIVE, { publicData: Buffer.alloc(65) }, T([[CKA.KEY_TYPE, CKK.AES]])), code('KEY_FUNCTION_NOT_PERMITTED'));
    const expired = await m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN, T([[CKA.VALUE_LEN, 32], [CKA.END_DATE, '20200101']]));
    await assert.rejects(m.hsm.crypto.sign(m.caller, expired, CKM.SHA256_HMAC, {}, data), code('KEY_EXPIRED'));
    const rsa = await m.hsm.keys.generateKeyPair(m.caller, CKM.RSA_PKCS_KEY_PAIR_GEN, T([[CKA.MODULUS_BITS, 2048]]), T([]));
    await assert.rejects(m.hsm.crypto.sign(m.caller, rsa.privateKey, CKM.ECDSA_SHA256, {}, data), code('KEY_TYPE_INCONSISTENT'));
    await assert.rejects(m.hsm.crypto.sign(m.caller, rsa.privateKey, 0x9999, {}, data), code('MECHANISM_INVALID'));
    await assert.rejects(m.hsm.crypto.encrypt(m.caller, rsa.publicKey, CKM.SHA256_RSA_PKCS, {}, data), code('MECHANISM_INVALID'));
  } finally { await m.close(); }
});

test('visibility and sharing: others see nothing until shared; shared users use but do not manage', async () => {
  const m = await freshModule();
  try {
    const bob = await m.newUser('bob');
    const key = await m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN, T([[CKA.VALUE_LEN, 32], [CKA.LABEL, 'mac'], [CKA.TOKEN, true]]));
    assert.equal((await m.hsm.lookup.find(bob)).length, 0);
    await assert.rejects(m.hsm.lookup.resolve(bob, key.id), code('KEY_NOT_FOUND'));
    await assert.rejects(m.hsm.lookup.resolve(bob, 'mac'), code('KEY_NOT_FOUND'));
    await m.hsm.keys.share(m.caller, key, bob.principal!.id, true);
    const seen = await m.hsm.lookup.resolve(bob, 'mac');
    const mac = await m.hsm.crypto.sign(bob, seen, CKM.SHA256_HMAC, {}, Buffer.from('x'));
    assert.equal(await m.hsm.crypto.verify(m.caller, key, CKM.SHA256_HMAC, {}, Buffer.from('x'), mac), true);
    await assert.rejects(m.hsm.keys.destroy(bob, seen), code('NOT_OWNER'));
    await assert.rejects(m.hsm.keys.setAttributes(bob, seen, T([[CKA.LABEL, 'mine']])), code('NOT_OWNER'));
    await assert.rejects(m.hsm.keys.share(bob, seen, bob.principal!.id, true), code('NOT_OWNER'));
    await m.hsm.keys.share(m.caller, key, bob.principal!.id, false);
    await assert.rejects(m.hsm.lookup.resolve(bob, key.id), code('KEY_NOT_FOUND'));
    await m.hsm.keys.destroy(m.caller, key);
    await assert.rejects(m.hsm.lookup.resolve(m.caller, key.id), code('KEY_NOT_FOUND'));
  } finally { await m.close(); }
});

test('session objects belong to their session and vanish when it is dropped', async () => {
  const m = await freshModule();
  try {
    const s1 = { ...m.caller, session: 's1' };
    const s2 = { ...m.caller, session: 's2' };
    const k = await m.hsm.keys.generateKey(s1, CKM.AES_KEY_GEN, T([[CKA.VALUE_LEN, 32]]));
    assert.equal(k.token, false);
    assert.equal((await m.hsm.lookup.find(s1)).length, 1);
    assert.equal((await m.hsm.lookup.find(s2)).length, 0);
    assert.equal((m.store.rawDatabase().prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n, 0, 'session objects are never stored');
    m.hsm.dropSession('s1');
    assert.equal((await m.hsm.lookup.find(s1)).length, 0);
  } finally { await m.close(); }
});

test('certificates and data objects are created from templates; data values are sealed', async () => {
  const m = await freshModule();
  try {
    const secret = Buffer.from('distinctive-data-object-value');
    const d = await m.hsm.keys.createObject(m.caller, T([[CKA.CLASS, CKO.DATA], [CKA.TOKEN, true], [CKA.APPLICATION, 'app'], [CKA.VALUE, secret]]));
    assert.deepEqual((await m.hsm.lookup.readAttributes(m.caller, d, [CKA.VALUE])).get(CKA.VALUE), { value: secret });
    const raw = m.store.rawDatabase().prepare('SELECT data FROM objects WHERE id = ?').get(d.id) as { data: string };
    assert.ok(!raw.data.includes(secret.toString('base64')) && !raw.data.includes(secret.toString()));
    await assert.rejects(m.hsm.keys.createObject(m.caller, T([[CKA.CLASS, CKO.CERTIFICATE]])), code('TEMPLATE_INCOMPLETE'));
    await assert.rejects(m.hsm.keys.createObject(m.caller, T([[CKA.LABEL, 'no class']])), code('TEMPLATE_INCOMPLETE'));
  } finally { await m.close(); }
});

test('a sealed module refuses key operations; unsealing restores them', async () => {
  const m = await freshModule();
  try {
    const k = await m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, T([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true]]));
    await m.hsm.lifecycle.seal(m.officer);
    await assert.rejects(m.hsm.crypto.encrypt(m.caller, k, CKM.AES_GCM, { iv: Buffer.alloc(12) }, Buffer.from('x')), code('SEALED'));
    await m.hsm.lifecycle.unseal(m.shares[0]);
    const again = await m.hsm.lookup.resolve(m.caller, k.id);
    assert.equal((await m.hsm.crypto.encrypt(m.caller, again, CKM.AES_GCM, { iv: Buffer.alloc(12) }, Buffer.from('x'))).length, 17);
  } finally { await m.close(); }
});

test('an imported private key that does not match the public key it carries is refused; a matching one imports', async () => {
  const m = await freshModule();
  try {
    // node:crypto builds such keys without complaint: a's public point (or modulus) with b's secret.
    const mixed = (type: 'ec' | 'rsa') => {
      const gen = () => (type === 'ec' ? nc.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }) : nc.generateKeyPairSync('rsa', { modulusLength: 2048 }))
        .privateKey.export({ format: 'jwk' });
      const a = gen();
      const b = gen();
      const jwk = type === 'ec' ? { ...a, d: b.d } : { ...b, n: a.n, e: a.e };
      return nc.createPrivateKey({ key: jwk, format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
    };
    const before = (await m.hsm.lookup.find(m.caller)).length;
    for (const type of ['ec', 'rsa'] as const) {
      await assert.rejects(m.hsm.keys.importKey(m.caller, mixed(type), 'key', T([[CKA.LABEL, `mixed-${type}`]])), code('KEY_IMPORT_INVALID'));
    }
    assert.equal((await m.hsm.lookup.find(m.caller)).length, before, 'nothing was stored');
    const good = nc.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ format: 'der', type: 'pkcs8' });
    const k = await m.hsm.keys.importKey(m.caller, good, 'key', T([[CKA.LABEL, 'good-ec']]));
    assert.equal(k.cls, CKO.PRIVATE_KEY);
  } finally { await m.close(); }
});
