// Module lifecycle: init with Shamir shares, unseal, wrong/duplicate/malformed shares, seal,
// restart, and the error state after a failed power-up self-test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Hsm } from '../../src/core/hsm';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { CKA, CKM } from '../../src/pkcs11/constants';
import { freshModule, OFFICER_PASSWORD, tempDir } from '../helpers/harness';

async function openModule(dir: string, fault?: string) {
  const store = new SqliteKeyStore(path.join(dir, 'inkan.db'));
  const hsm = new Hsm(store, { selfTestFault: fault });
  await hsm.start();
  return { hsm, store };
}

const code = (c: string) => (err: unknown) => { assert.equal((err as { code?: string }).code, c); return true; };

test('init 5/3: three distinct shares unseal; keys survive a restart; seal drops them', async () => {
  const dir = tempDir();
  try {
    let { hsm, store } = await openModule(dir);
    assert.equal(hsm.state, 'uninitialized');
    await assert.rejects(hsm.login('officer', OFFICER_PASSWORD), code('NOT_INITIALIZED'));
    const shares = await hsm.lifecycle.init(5, 3, { username: 'officer', password: OFFICER_PASSWORD });
    assert.equal(shares.length, 5);
    assert.equal(new Set(shares).size, 5);
    assert.equal(hsm.state, 'sealed');
    await assert.rejects(hsm.lifecycle.init(1, 1, { username: 'x', password: OFFICER_PASSWORD }), code('ALREADY_INITIALIZED'));
    await assert.rejects(hsm.login('officer', OFFICER_PASSWORD), code('SEALED'));
    assert.deepEqual(await hsm.lifecycle.unseal(shares[4]), { sealed: true, progress: 1, threshold: 3 });
    await assert.rejects(hsm.lifecycle.unseal(shares[4]), code('SHARE_DUPLICATE'));
    await hsm.lifecycle.unseal(shares[0]);
    assert.equal((await hsm.lifecycle.unseal(shares[2])).sealed, false);
    assert.equal(hsm.state, 'unsealed');
    const officer = hsm.callerOf(await hsm.login('officer', OFFICER_PASSWORD), 'admin');
    await hsm.users.create(officer, 'alice', 'user', 'alice-password');
    const alice = hsm.callerOf(await hsm.login('alice', 'alice-password'), 'admin');
    const { privateKey } = await hsm.keys.generateKeyPair(alice, CKM.EC_KEY_PAIR_GEN,
      new Map<number, any>([[CKA.EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex')], [CKA.TOKEN, true]]), new Map<number, any>([[CKA.LABEL, 'k']]));
    const sig = await hsm.crypto.sign(alice, privateKey, CKM.ECDSA_SHA256, {}, Buffer.from('data'));
    await hsm.lifecycle.seal(officer);
    assert.equal(hsm.state, 'sealed');
    await assert.rejects(hsm.lookup.find(alice), code('SEALED'));
    await store.close();

    ({ hsm, store } = await openModule(dir));
    assert.equal(hsm.state, 'sealed');
    await hsm.lifecycle.unseal(shares[1]);
    await hsm.lifecycle.unseal(shares[3]);
    await hsm.lifecycle.unseal(shares[0]);
    const again = hsm.callerOf(await hsm.login('alice', 'alice-password'), 'admin');
    const key = await hsm.lookup.resolve(again, 'k');
    assert.equal(await hsm.crypto.verify(again, key, CKM.ECDSA_SHA256, {}, Buffer.from('data'), sig), true);
    await store.close();
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('shares of another module, malformed shares and a too-small set are refused', async () => {
  const a = tempDir(); const b = tempDir();
  try {
    const { hsm, store } = await openModule(a);
    const mine = await hsm.lifecycle.init(3, 2, { username: 'officer', password: OFFICER_PASSWORD });
    const other = await openModule(b);
    const foreign = await other.hsm.lifecycle.init(3, 2, { username: 'officer', password: OFFICER_PASSWORD });
    await assert.rejects(hsm.lifecycle.unseal('not-a-share'), code('SHARE_INVALID'));
    await assert.rejects(hsm.lifecycle.unseal(mine[0].slice(0, -4)), code('SHARE_INVALID'));
    await hsm.lifecycle.unseal(mine[0]);
    // Every share is checked against the digests the module kept at init: a foreign share is refused
    // on its own and the custodians' progress is kept (issue #14).
    await assert.rejects(hsm.lifecycle.unseal(foreign[1]), code('SHARE_UNKNOWN'));
    assert.equal(hsm.state, 'sealed');
    assert.equal((await hsm.status()).unsealProgress, 1, 'a refused share costs nobody their progress');
    await hsm.lifecycle.unseal(mine[2]);
    assert.equal(hsm.state, 'unsealed');
    await assert.rejects(hsm.lifecycle.unseal(mine[0]), code('ALREADY_UNSEALED'));
    await store.close(); await other.store.close();
  } finally { for (const d of [a, b]) fs.rmSync(d, { recursive: true, force: true }); }
});

test('init rejects impossible share counts', async () => {
  const dir = tempDir();
  try {
    const { hsm, store } = await openModule(dir);
    for (const [n, m] of [[2, 3], [0, 0], [17, 3], [3, 1]]) {
      await assert.rejects(hsm.lifecycle.init(n, m, { username: 'officer', password: OFFICER_PASSWORD }), code('BAD_REQUEST'));
    }
    assert.equal(hsm.state, 'uninitialized');
    await store.close();
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('a failed self-test puts the module in the error state that refuses crypto', async () => {
  const dir = tempDir();
  try {
    const { hsm, store } = await openModule(dir, 'AES-GCM');
    assert.equal(hsm.state, 'error');
    const st = await hsm.status();
    assert.equal(st.selfTests.passed, false);
    assert.deepEqual(st.selfTests.failed, ['AES-GCM']);
    await assert.rejects(hsm.lifecycle.init(1, 1, { username: 'officer', password: OFFICER_PASSWORD }), code('SELF_TEST_FAILED'));
    await store.close();
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('all self-tests pass on a healthy module and cover every family', async () => {
  const m = await freshModule();
  try {
    const st = await m.hsm.status();
    assert.equal(st.selfTests.passed, true);
    assert.ok(st.selfTests.count >= 14);
  } finally { await m.close(); }
});

test('junk unseal shares from one source: each refused alone, the next one from there waits, and the custodians keep their progress', async () => {
  const dir = tempDir(); const otherDir = tempDir();
  try {
    const store = new SqliteKeyStore(path.join(dir, 'inkan.db'));
    const hsm = new Hsm(store, { loginDelayMs: 300 });
    await hsm.start();
    const shares = await hsm.lifecycle.init(3, 2, { username: 'officer', password: OFFICER_PASSWORD });
    const other = await openModule(otherDir);
    const foreign = await other.hsm.lifecycle.init(3, 2, { username: 'officer', password: OFFICER_PASSWORD });
    await hsm.lifecycle.unseal(shares[0], 'custodian-1');
    // The attacker's junk: a foreign share, then at once a mistyped one — the second is not even read.
    await assert.rejects(hsm.lifecycle.unseal(foreign[0], 'attacker'), code('SHARE_UNKNOWN'));
    await assert.rejects(hsm.lifecycle.unseal(foreign[1], 'attacker'), code('LOGIN_THROTTLED'));
    assert.equal((await hsm.status()).unsealProgress, 1, 'the junk reset nobody\'s progress');
    // Another source is not slowed by the attacker, and its share completes the unseal.
    await hsm.lifecycle.unseal(shares[1], 'custodian-2');
    assert.equal(hsm.state, 'unsealed');
    await store.close(); await other.store.close();
  } finally { for (const d of [dir, otherDir]) fs.rmSync(d, { recursive: true, force: true }); }
});
