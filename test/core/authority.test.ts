// One authority, one transaction per operation, coherent caches (issue #9, points 2, 1, 3, 4, 5):
// a typed or foreign principal is refused; random bytes follow one rule whatever the face; a
// store failure injected in the middle of a composite operation (a SQLite trigger on the real
// file) leaves no half-done state; a second module on the same file sees a revocation at once;
// a sharee's read of a managed key due for rotation writes nothing.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { Hsm } from '../../src/core/hsm';
import type { Caller, Principal } from '../../src/core/principal';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { CKA, CKM, CKO } from '../../src/pkcs11/constants';
import { freshModule, TestModule, USER_PASSWORD } from '../helpers/harness';

const T = (entries: [number, unknown][]) => new Map<number, any>(entries);
const code = (c: string) => (err: unknown) => { assert.equal((err as { code?: string }).code, c); return true; };
const aes = (label: string) => T([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.LABEL, label]]);
const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

describe('one authority', () => {
  let m: TestModule;
  before(async () => { m = await freshModule(); });
  after(() => m.close());

  test('a principal typed as an object literal, or minted by another module, is refused', async () => {
    const typed = { ...m.user } as Principal;
    await assert.rejects(m.hsm.keys.generateKey(m.as(typed), CKM.AES_KEY_GEN, aes('typed')), code('FORBIDDEN'));
    const forged = Object.create(Object.getPrototypeOf(m.user), Object.getOwnPropertyDescriptors(m.user)) as Principal;
    await assert.rejects(m.hsm.lookup.find(m.as(forged)), code('FORBIDDEN'));
    const other = await freshModule();
    try {
      // Same username, same password, same role: still not a principal of this module.
      await assert.rejects(m.hsm.lookup.find(m.as(other.user)), code('FORBIDDEN'));
      await assert.rejects(m.hsm.crypto.random(m.as(other.user), 8), code('FORBIDDEN'));
    } finally { await other.close(); }
    // The system actor is the module's own; an unauthenticated caller off PKCS#11 has nothing.
    await assert.rejects(m.hsm.crypto.random({ face: 'admin', partition: 'default' } as Caller, 8), code('AUTH_REQUIRED'));
  });

  test('random bytes: one rule on every face, for every role and a public PKCS#11 session', async () => {
    const auditorLogin = async () => {
      await m.hsm.users.create(m.officer, 'auditor-r', 'auditor', USER_PASSWORD);
      return m.hsm.login('auditor-r', USER_PASSWORD);
    };
    const principals = [m.officer.principal!, m.user, await auditorLogin()];
    for (const face of ['admin', 'kms', 'p11', 'akv'] as const) {
      for (const p of principals) assert.equal((await m.hsm.crypto.random(m.hsm.callerOf(p, face), 16)).length, 16, `${p.role} on ${face}`);
    }
    assert.equal((await m.hsm.crypto.random({ face: 'p11', partition: 'default' } as Caller, 16)).length, 16, 'a public session');
  });
});

describe('one transaction per operation: a store failure in the middle leaves nothing half-done', () => {
  let m: TestModule;
  let db: Database.Database;
  before(async () => { m = await freshModule(); db = new Database(m.store.file); });
  after(async () => { db.close(); await m.close(); });

  const objects = () => (db.prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n;
  /** Makes the store fail the statement `when` describes, for the duration of `fn` (a real SQLite error). */
  async function failing<T>(event: string, when: string, fn: () => Promise<T>): Promise<void> {
    db.exec(`CREATE TRIGGER inject BEFORE ${event} WHEN ${when} BEGIN SELECT RAISE(ABORT, 'injected store failure'); END`);
    try { await assert.rejects(fn()); } finally { db.exec('DROP TRIGGER inject'); }
  }

  test('a key pair whose private half cannot be written: neither half is stored', async () => {
    const before = objects();
    await failing('INSERT ON objects', `NEW.cls = ${CKO.PRIVATE_KEY}`, () => m.hsm.keys.generateKeyPair(m.caller, CKM.EC_KEY_PAIR_GEN,
      T([[CKA.EC_PARAMS, P256], [CKA.TOKEN, true], [CKA.LABEL, 'half']]), T([[CKA.TOKEN, true], [CKA.LABEL, 'half']])));
    assert.equal(objects(), before);
    assert.deepEqual(await m.hsm.lookup.find(m.caller, T([[CKA.LABEL, 'half']])), []);
    // Without the fault the same call stores both halves.
    await m.hsm.keys.generateKeyPair(m.caller, CKM.EC_KEY_PAIR_GEN, T([[CKA.EC_PARAMS, P256], [CKA.TOKEN, true], [CKA.LABEL, 'whole']]), T([[CKA.TOKEN, true], [CKA.LABEL, 'whole']]));
    assert.equal(objects(), before + 2);
  });

  test('sharing a pair whose private half cannot be updated: the public half is not shared either', async () => {
    const sharee = await m.newUser('tx-sharee');
    const pair = await m.hsm.keys.generateKeyPair(m.caller, CKM.EC_KEY_PAIR_GEN, T([[CKA.EC_PARAMS, P256], [CKA.TOKEN, true], [CKA.LABEL, 'pair-share']]), T([[CKA.TOKEN, true], [CKA.LABEL, 'pair-share']]));
    await failing('UPDATE ON objects', `NEW.cls = ${CKO.PRIVATE_KEY}`, () => m.hsm.keys.share(m.caller, pair.privateKey, sharee.principal!.id, true));
    assert.deepEqual(await m.hsm.lookup.find(sharee, T([[CKA.LABEL, 'pair-share']])), [], 'the sharee sees neither half');
    const shares = db.prepare('SELECT count(*) AS n FROM object_shares').get() as { n: number };
    assert.equal(shares.n, 0);
  });

  test('a rotation whose managed-key row cannot be written: no new version object is left', async () => {
    const key = await m.hsm.managed.create(m.caller, { spec: { kind: 'aes', size: 256 }, purpose: 'encrypt' });
    const before = objects();
    await failing('UPDATE ON managed_keys', '1', () => m.hsm.managed.rotate(m.caller, key, 'on-demand'));
    assert.equal(objects(), before, 'the version generated for the rotation went with it');
    assert.equal((await m.hsm.managed.get(m.caller, key.id)).data.versions.length, 1);
  });
});

describe('coherence: two modules on one SQLite file', () => {
  let m: TestModule;
  let b: { hsm: Hsm; store: SqliteKeyStore };
  before(async () => {
    m = await freshModule();
    const store = new SqliteKeyStore(m.store.file);
    const hsm = new Hsm(store, { loginDelayMs: 0, node: 'node-2' });
    await hsm.start();
    await hsm.lifecycle.unseal(m.shares[0]);
    b = { hsm, store };
  });
  after(async () => { await b.store.close(); await m.close(); });

  test('unshare, destroy and lock on one node are refused on the other at once', async () => {
    const sharee = await m.newUser('coh-sharee');
    const key = await m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, aes('coherent'));
    await m.hsm.keys.share(m.caller, key, sharee.principal!.id, true);
    const onB = b.hsm.callerOf(await b.hsm.login('coh-sharee', USER_PASSWORD), 'admin');
    const ownerOnB = b.hsm.callerOf(await b.hsm.login('user', USER_PASSWORD), 'admin');
    const use = async (c: Caller) => b.hsm.crypto.encrypt(c, await b.hsm.lookup.resolve(c, key.id), CKM.AES_GCM, { iv: Buffer.alloc(12, 1) }, Buffer.from('x'));
    assert.equal((await use(onB)).length, 17, 'node B uses the shared key (now cached there)');
    await m.hsm.keys.share(m.caller, key, sharee.principal!.id, false);
    await assert.rejects(use(onB), code('KEY_NOT_FOUND'));
    assert.equal((await use(ownerOnB)).length, 17);
    await m.hsm.keys.destroy(m.caller, key);
    await assert.rejects(use(ownerOnB), code('KEY_NOT_FOUND'));
    await m.hsm.users.lock(m.officer, 'coh-sharee');
    await assert.rejects(b.hsm.crypto.random(onB, 4), code('SESSION_REVOKED'));
  });

  test('a managed key disabled on one node is refused on the other; a sharee\'s read writes nothing', async () => {
    const key = await m.hsm.managed.create(m.caller, { spec: { kind: 'aes', size: 256 }, purpose: 'encrypt' });
    const ownerOnB = b.hsm.callerOf(await b.hsm.login('user', USER_PASSWORD), 'admin');
    const version = async () => b.hsm.managed.versionObject(ownerOnB, await b.hsm.managed.get(ownerOnB, key.id));
    const enc = async () => b.hsm.crypto.encrypt(ownerOnB, await version(), CKM.AES_GCM, { iv: Buffer.alloc(12, 2) }, Buffer.from('y'));
    assert.equal((await enc()).length, 17);
    // Reads write nothing, even for a key whose rotation is overdue: rotation is the scheduler's.
    await m.hsm.managed.update(m.caller, key, 'managed-key.rotation', (d) => { d.rotation = { enabled: true, periodDays: 1, next: Date.now() - 1000 } as never; });
    const commits = { n: 0 };
    const commit = b.store.commit.bind(b.store);
    b.store.commit = async (req) => { if (req.units.length) commits.n++; return commit(req); };
    try {
      await b.hsm.managed.get(ownerOnB, key.id);
      await b.hsm.managed.list(ownerOnB);
      assert.equal(commits.n, 0, 'describing a key due for rotation wrote nothing');
      await b.hsm.keys.generateKey(ownerOnB, CKM.AES_KEY_GEN, aes('control'));
      assert.ok(commits.n > 0, 'the spy sees the writes node B makes');
    } finally { b.store.commit = commit; }
    await m.hsm.managed.setEnabled(m.caller, await m.hsm.managed.get(m.caller, key.id), false);
    await assert.rejects(enc(), code('KEY_DISABLED'));
  });
});
