// Per-key use limits, usage periods, key PINs and scoped shares in the core (issue #11, "Per-key
// authorisation and use limits"), on a SQLite module: exactly N of many concurrent uses succeed;
// uses before not-before and after not-after are refused by period (originator vs recipient);
// a key PIN authorises one operation, wrong PINs are counted and lock; a share names its uses and
// encryption context; and the database writer cannot reset a counter unnoticed. Results are
// checked with node:crypto, not with the module.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { CKA, CKM, INKAN_INTERNAL } from '../../src/pkcs11/constants';
import { freshModule, TestModule } from '../helpers/harness';
import type { HsmObject } from '../../src/core/hsm-object';

const T = (entries: [number, unknown][]) => new Map<number, any>(entries);
const code = (c: string) => (err: unknown) => { assert.equal((err as { code?: string }).code, c); return true; };
const now = () => Math.floor(Date.now() / 1000);
const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

describe('key use limits in the core', () => {
  let m: TestModule;
  before(async () => { m = await freshModule(); });
  after(() => m.close());

  const hmacKey = (label: string, extra: [number, unknown][] = []) =>
    m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN, T([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.LABEL, label], [CKA.SIGN, true], [CKA.VERIFY, true], ...extra]));
  const sign = (k: HsmObject, caller = m.caller) => m.hsm.crypto.sign(caller, k, CKM.SHA256_HMAC, {}, Buffer.from('data'));

  test('exactly N of 40 concurrent uses succeed; the rest are KEY_USES_EXHAUSTED; the count is visible', async () => {
    const k = await hmacKey('limited-5', [[CKA.INKAN_MAX_USES, 5]]);
    const results = await Promise.allSettled(Array.from({ length: 40 }, () => sign(k)));
    const ok = results.filter((r) => r.status === 'fulfilled');
    assert.equal(ok.length, 5);
    for (const r of results) if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'KEY_USES_EXHAUSTED');
    const attrs = await m.hsm.lookup.readAttributes(m.caller, k, [CKA.INKAN_USES, CKA.INKAN_MAX_USES, CKA.INKAN_KEY_PIN]);
    assert.deepEqual(attrs.get(CKA.INKAN_USES), { value: 5 });
    assert.deepEqual(attrs.get(CKA.INKAN_MAX_USES), { value: 5 });
    assert.equal((await m.hsm.limits.view(k)).uses, 5);
    await assert.rejects(sign(k), code('KEY_USES_EXHAUSTED'));
    // A copy would be a fresh counter: refused.
    await assert.rejects(m.hsm.keys.copyObject(m.caller, k, new Map()), code('ACTION_PROHIBITED'));
  });

  test('usage periods: originator (sign) and recipient (verify) bounds, relative to now', async () => {
    const future = await hmacKey('not-yet', [[CKA.INKAN_USE_NOT_BEFORE, now() + 3600]]);
    await assert.rejects(sign(future), code('KEY_USE_PERIOD_NOT_STARTED'));
    // The recipient period is its own: verifying is allowed now.
    const mac = crypto.createHmac('sha256', Buffer.alloc(32)).update('x').digest();
    assert.equal(await m.hsm.crypto.verify(m.caller, future, CKM.SHA256_HMAC, {}, Buffer.from('x'), mac), false);
    const ended = await hmacKey('ended', [[CKA.INKAN_USE_NOT_BEFORE, now() - 7200], [CKA.INKAN_USE_NOT_AFTER, now() - 60], [CKA.INKAN_PROCESS_NOT_AFTER, now() + 3600]]);
    await assert.rejects(sign(ended), code('KEY_USE_PERIOD_ENDED'));
    const processEnded = await hmacKey('process-ended', [[CKA.INKAN_PROCESS_NOT_AFTER, now() - 1]]);
    const sig = await sign(processEnded); // originator period open
    await assert.rejects(m.hsm.crypto.verify(m.caller, processEnded, CKM.SHA256_HMAC, {}, Buffer.from('data'), sig), code('KEY_USE_PERIOD_ENDED'));
    await assert.rejects(hmacKey('backwards', [[CKA.INKAN_USE_NOT_BEFORE, now() + 10], [CKA.INKAN_USE_NOT_AFTER, now()]]), code('TEMPLATE_INCONSISTENT'));
  });

  test('a key PIN: kept as a hash, needed for every use, authorises one operation; wrong PINs lock', async () => {
    const pair = await m.hsm.keys.generateKeyPair(m.caller, CKM.EC_KEY_PAIR_GEN, T([[CKA.EC_PARAMS, P256], [CKA.TOKEN, true]]),
      T([[CKA.TOKEN, true], [CKA.LABEL, 'pin-key'], [CKA.INKAN_KEY_PIN, 'key-pin-123']]));
    const k = pair.privateKey;
    assert.equal(k.bool(CKA.ALWAYS_AUTHENTICATE), true);
    assert.equal(k.attrs.has(CKA.INKAN_KEY_PIN), false);
    assert.match(String(k.attrs.get(INKAN_INTERNAL.KEY_PIN_HASH)), /^scrypt\$/);
    assert.ok(!(await m.store.get('objects', k.id))!.data.includes('key-pin-123'));
    const msg = Buffer.from('message');
    await assert.rejects(m.hsm.crypto.sign(m.caller, k, CKM.ECDSA_SHA256, {}, msg), code('KEY_AUTH_REQUIRED'));
    await assert.rejects(m.hsm.crypto.sign({ ...m.caller, face: 'kms' }, k, CKM.ECDSA_SHA256, {}, msg), code('KEY_AUTH_UNSUPPORTED'));
    const auth = await m.hsm.limits.authenticate(m.caller, k, 'key-pin-123');
    const sig = await m.hsm.crypto.sign({ ...m.caller, keyAuth: auth }, k, CKM.ECDSA_SHA256, {}, msg, { signatureFormat: 'der' });
    const spki = crypto.createPublicKey({ key: pair.publicKey.attrs.get(CKA.PUBLIC_KEY_INFO) as Buffer, format: 'der', type: 'spki' });
    assert.equal(crypto.verify('sha256', msg, { key: spki, dsaEncoding: 'der' }, sig), true);
    // One operation only.
    await assert.rejects(m.hsm.crypto.sign({ ...m.caller, keyAuth: auth }, k, CKM.ECDSA_SHA256, {}, msg), code('KEY_AUTH_REQUIRED'));
    // Another user's authorisation, or one for another key, is no authorisation.
    const other = await m.newUser('pin-other');
    await assert.rejects(m.hsm.limits.authenticate(other, k, 'key-pin-123'), code('KEY_NOT_FOUND'));
    for (let i = 1; i < 5; i++) await assert.rejects(m.hsm.limits.authenticate(m.caller, k, 'wrong-pin-x'), code('KEY_PIN_INCORRECT'));
    await assert.rejects(m.hsm.limits.authenticate(m.caller, k, 'wrong-pin-x'), code('KEY_PIN_LOCKED'));
    await assert.rejects(m.hsm.limits.authenticate(m.caller, k, 'key-pin-123'), code('KEY_PIN_LOCKED'));
    // The PIN never reaches the audit trail.
    const rows = await m.store.audit.list(m.hsm.node, 0, 100_000);
    assert.ok(!rows.some((r) => r.body.includes('key-pin-123') || r.body.includes('wrong-pin-x')));
    assert.ok(rows.some((r) => r.body.includes('KEY_PIN_INCORRECT')));
    const read = await m.hsm.lookup.readAttributes(m.caller, k, [CKA.INKAN_KEY_PIN]);
    assert.deepEqual(read.get(CKA.INKAN_KEY_PIN), { error: 'sensitive' });
  });

  test('scoped shares: only the named uses, and for encrypt/decrypt only with the required context', async () => {
    const bob = await m.newUser('scoped-bob');
    const bobId = bob.principal!.id;
    const k = await hmacKey('scoped');
    await m.hsm.keys.share(m.caller, k, bobId, true, { ops: ['verify'] });
    const sig = await sign(k);
    assert.equal(await m.hsm.crypto.verify(bob, k, CKM.SHA256_HMAC, {}, Buffer.from('data'), sig), true);
    await assert.rejects(sign(k, bob), code('SHARE_SCOPE_DENIED'));
    const aes = await m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, T([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.LABEL, 'scoped-aes']]));
    await m.hsm.keys.share(m.caller, aes, bobId, true, { ops: ['encrypt', 'decrypt'], context: { dept: 'payroll' } });
    const p = { iv: Buffer.alloc(12, 1), tagBits: 128 };
    await assert.rejects(m.hsm.crypto.encrypt(bob, aes, CKM.AES_GCM, p, Buffer.from('x')), code('SHARE_SCOPE_DENIED'));
    await assert.rejects(m.hsm.crypto.encrypt({ ...bob, encryptionContext: { dept: 'sales' } }, aes, CKM.AES_GCM, p, Buffer.from('x')), code('SHARE_SCOPE_DENIED'));
    const ct = await m.hsm.crypto.encrypt({ ...bob, encryptionContext: { dept: 'payroll', extra: '1' } }, aes, CKM.AES_GCM, p, Buffer.from('x'));
    assert.equal(ct.length, 17);
    // The owner is never narrowed; unsharing forgets the scope.
    await m.hsm.crypto.encrypt(m.caller, aes, CKM.AES_GCM, p, Buffer.from('x'));
    const un = await m.hsm.keys.share(m.caller, aes, bobId, false);
    assert.equal(un.attrs.get(INKAN_INTERNAL.SHARE_SCOPES), '{}');
  });

  test('a counter read that was in flight while this process committed a newer version is no rollback', async () => {
    const k = await hmacKey('read-in-flight', [[CKA.INKAN_MAX_USES, 5]]);
    await sign(k);
    // The next read of the counter gets its row (version 2), then is answered only after a sign
    // committed version 3 here (as a pooled PostgreSQL read whose reply comes after the COMMIT's).
    const get = m.store.get.bind(m.store);
    let release!: () => void;
    const held = new Promise<void>((r) => { release = r; });
    let gotRow!: () => void;
    const read = new Promise<void>((r) => { gotRow = r; });
    m.store.get = (async (table, id) => {
      m.store.get = get;
      const row = await get(table, id);
      gotRow();
      await held;
      return row;
    }) as typeof m.store.get;
    const view = m.hsm.limits.view(k);
    await read;
    await sign(k);
    release();
    assert.equal((await view).uses, 1);
    assert.equal((await m.hsm.limits.view(k)).uses, 2);
    await sign(k);
    assert.equal((await m.hsm.limits.view(k)).uses, 3);
  });

  test('a batch that consumed one counter twice and then did not commit leaves no mark behind', async () => {
    const k = await hmacKey('batch-rolled-back', [[CKA.INKAN_MAX_USES, 5]]);
    // The next batch runs its units (both consumes of the same counter), then fails before COMMIT.
    const commit = m.store.commit.bind(m.store);
    m.store.commit = ((req) => {
      m.store.commit = commit;
      return commit({ ...req, finish: (head, out) => { req.finish(head, out); throw new Error('injected failure before COMMIT'); } });
    }) as typeof m.store.commit;
    const both = await Promise.allSettled([sign(k), sign(k)]);
    assert.deepEqual(both.map((r) => r.status === 'rejected' && (r.reason as { code: string }).code), ['AUDIT_FAILED', 'AUDIT_FAILED']);
    assert.equal((await m.store.get('use_counters', k.id))!.version, 1);
    // Nothing was spent, and the counter as committed is not taken for a rolled-back one.
    assert.equal((await m.hsm.limits.view(k)).uses, 0);
    const again = await Promise.allSettled(Array.from({ length: 8 }, () => sign(k)));
    assert.equal(again.filter((r) => r.status === 'fulfilled').length, 5);
    for (const r of again) if (r.status === 'rejected') assert.equal((r.reason as { code: string }).code, 'KEY_USES_EXHAUSTED');
  });

  test('the database writer cannot reset a counter unnoticed: a rolled-back row is refused, a forged one too, and the integrity scan reports it', async () => {
    const k = await hmacKey('tamper', [[CKA.INKAN_MAX_USES, 3]]);
    const fresh = (await m.store.get('use_counters', k.id))!;
    await sign(k);
    await sign(k);
    await sign(k);
    await assert.rejects(sign(k), code('KEY_USES_EXHAUSTED'));
    const db = m.store.rawDatabase();
    // Put back the genuine row as it was at creation (a replay of an old backup of the row).
    db.prepare('UPDATE use_counters SET version = ?, mac = ? WHERE id = ?').run(fresh.version, fresh.mac, k.id);
    await assert.rejects(sign(k), code('STORE_CORRUPT'));
    const report = await m.hsm.integrity.verify(m.store);
    assert.equal(report.ok, false);
    // A forged row (any MAC the writer can make) is refused on a fresh process too: MAC check.
    db.prepare('UPDATE use_counters SET version = 1, mac = ? WHERE id = ?').run(Buffer.alloc(32, 7), k.id);
    m.hsm.records.forget();
    await assert.rejects(sign(k), code('STORE_CORRUPT'));
    // A deleted counter is no fresh start either.
    db.prepare('DELETE FROM use_counters WHERE id = ?').run(k.id);
    await assert.rejects(sign(k), code('STORE_CORRUPT'));
  });
});
