// Backups restore only where the same master key is known; truncated, edited or foreign
// backups change nothing; zeroisation leaves nothing that the old shares can decrypt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Hsm } from '../../src/core/hsm';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { fromCanonical } from '../../src/audit-chain/chain';
import { CKA, CKM } from '../../src/pkcs11/constants';
import { opensslOk, OFFICER_PASSWORD, tempDir, USER_PASSWORD, writeTemp } from '../helpers/harness';

const code = (c: string) => (err: unknown) => { assert.equal((err as { code?: string }).code, c); return true; };

interface Node { hsm: Hsm; store: SqliteKeyStore; dir: string }
async function node(): Promise<Node> {
  const dir = tempDir();
  const store = new SqliteKeyStore(path.join(dir, 'inkan.db'));
  const hsm = new Hsm(store);
  await hsm.start();
  return { hsm, store, dir };
}
async function initialised(): Promise<Node & { shares: string[] }> {
  const n = await node();
  const shares = await n.hsm.lifecycle.init(3, 2, { username: 'officer', password: OFFICER_PASSWORD });
  await n.hsm.lifecycle.unseal(shares[0]);
  await n.hsm.lifecycle.unseal(shares[1]);
  await n.hsm.users.create(n.hsm.callerOf(await n.hsm.login('officer', OFFICER_PASSWORD), 'admin'), 'user', 'user', USER_PASSWORD);
  return { ...n, shares };
}
/** A restore onto an empty module: the header first, then the backup's custodians' shares, then the body. */
async function restoreFresh(n: Node, blob: Buffer, shares: string[]) {
  const offered = await n.hsm.backups.offer(blob.subarray(0, 64 * 1024));
  let token: string | undefined;
  for (const s of shares) token = (await n.hsm.backups.share(s)).token ?? token;
  if (!token) return { offered, restored: undefined };
  return { offered, restored: await n.hsm.backups.restoreWithToken(token, blob) };
}
async function done(...nodes: Node[]) {
  for (const n of nodes) { await n.store.close(); fs.rmSync(n.dir, { recursive: true, force: true }); }
}
const userOf = async (n: Node) => (n.hsm.callerOf(await n.hsm.login('user', USER_PASSWORD), 'admin'));
const officerOf = async (n: Node) => n.hsm.callerOf(await n.hsm.login('officer', OFFICER_PASSWORD), 'admin');

test('backup round trip onto a fresh data directory, unsealed with the same shares', async () => {
  const a = await initialised();
  const b = await node();
  try {
    const user = await userOf(a);
    const rsa = await a.hsm.keys.generateKeyPair(user, CKM.RSA_PKCS_KEY_PAIR_GEN, new Map<number, any>([[CKA.MODULUS_BITS, 2048], [CKA.TOKEN, true]]), new Map<number, any>([[CKA.LABEL, 'signer']]));
    const aes = await a.hsm.keys.generateKey(user, CKM.AES_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.LABEL, 'box'], [CKA.TOKEN, true]]));
    const data = Buffer.from('signed before the backup');
    const sig = await a.hsm.crypto.sign(user, rsa.privateKey, CKM.SHA256_RSA_PKCS, {}, data);
    const iv = Buffer.alloc(12, 3);
    const ct = await a.hsm.crypto.encrypt(user, aes, CKM.AES_GCM, { iv }, Buffer.from('encrypted before the backup'));
    const blob = await a.hsm.backups.backup(await officerOf(a));

    const offered = await b.hsm.backups.offer(blob.subarray(0, 64 * 1024));
    assert.equal(offered.threshold, 2);
    assert.equal(offered.shares, 3);
    assert.equal((await b.hsm.status()).restorePending, true);
    assert.equal((await b.hsm.status()).shares, 3, 'status knows the backup\'s share count (no "3 of undefined")');
    await assert.rejects(b.hsm.backups.restoreWithToken('guess', blob), code('AUTH_REQUIRED'));
    assert.equal((await b.hsm.backups.share(a.shares[2])).complete, false);
    const { token } = await b.hsm.backups.share(a.shares[0]);
    assert.ok(token);
    assert.equal((await b.hsm.backups.restoreWithToken(token!, blob)).restored, true);
    assert.equal(b.hsm.state, 'unsealed');
    const buser = await userOf(b);
    const signer = await b.hsm.lookup.resolve(buser, 'signer', [2]);
    const pub = await b.hsm.lookup.exportPublic(buser, signer);
    const pem = `-----BEGIN PUBLIC KEY-----\n${pub.toString('base64').replace(/(.{64})/g, '$1\n')}\n-----END PUBLIC KEY-----\n`;
    const dir = tempDir();
    try {
      assert.ok(opensslOk(['dgst', '-sha256', '-verify', writeTemp(dir, 'pub.pem', pem), '-signature', writeTemp(dir, 'sig', sig), writeTemp(dir, 'data', data)]),
        'a signature made before the backup verifies (openssl) with the restored key');
    } finally { fs.rmSync(dir, { recursive: true, force: true }); }
    const box = await b.hsm.lookup.resolve(buser, 'box');
    assert.equal((await b.hsm.crypto.decrypt(buser, box, CKM.AES_GCM, { iv }, ct)).toString(), 'encrypted before the backup');
    assert.equal((await b.hsm.crypto.sign(buser, await b.hsm.lookup.resolve(buser, 'signer'), CKM.SHA256_RSA_PKCS, {}, data)).equals(sig), true);
  } finally { await done(a, b); }
});

test('restore on the same domain brings back a deleted key; foreign, truncated and edited backups change nothing', async () => {
  const a = await initialised();
  const c = await initialised();
  const d = await node();
  try {
    const user = await userOf(a);
    const k = await a.hsm.keys.generateKey(user, CKM.GENERIC_SECRET_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.LABEL, 'mac'], [CKA.TOKEN, true]]));
    const mac = await a.hsm.crypto.sign(user, k, CKM.SHA256_HMAC, {}, Buffer.from('x'));
    const officer = await officerOf(a);
    const blob = await a.hsm.backups.backup(officer);
    await a.hsm.keys.destroy(user, k);
    await assert.rejects(a.hsm.lookup.resolve(user, 'mac'), code('KEY_NOT_FOUND'));

    const truncated = blob.subarray(0, blob.length - 10);
    const edited = Buffer.from(blob); edited[Math.floor(edited.length / 2)] ^= 1;
    const header = Buffer.from(blob); header[20] ^= 1;
    for (const bad of [truncated, edited, header, Buffer.from('not a backup'), Buffer.alloc(0)]) {
      await assert.rejects(a.hsm.backups.restore(officer, bad), code('BACKUP_INVALID'));
    }
    await assert.rejects(a.hsm.lookup.resolve(user, 'mac'), code('KEY_NOT_FOUND'), 'a refused restore changed nothing');
    await assert.rejects(a.hsm.backups.restore(user, blob), code('FORBIDDEN'));

    const cOfficer = await officerOf(c);
    const cUser = await userOf(c);
    await c.hsm.keys.generateKey(cUser, CKM.AES_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 16], [CKA.TOKEN, true]]));
    await assert.rejects(c.hsm.backups.restore(cOfficer, blob), code('BACKUP_FOREIGN'));
    assert.equal((await c.hsm.lookup.find(cUser)).length, 1, 'the foreign backup changed nothing');

    // Another domain's shares are refused one by one (the backup carries its shares' digests).
    await d.hsm.backups.offer(blob.subarray(0, 64 * 1024));
    await assert.rejects(d.hsm.backups.share(c.shares[0]), code('SHARE_UNKNOWN'));
    await assert.rejects(d.hsm.backups.share(c.shares[1]), code('SHARE_UNKNOWN'));
    assert.equal(d.hsm.state, 'uninitialized');

    await a.hsm.backups.restore(officer, blob);
    const back = await a.hsm.lookup.resolve(await userOf(a), 'mac');
    assert.equal(await a.hsm.crypto.verify(await userOf(a), back, CKM.SHA256_HMAC, {}, Buffer.from('x'), mac), true);
  } finally { await done(a, c, d); }
});

test('zeroize destroys every key: old shares no longer unseal, nothing sealed remains, the audit log says so', async () => {
  const a = await initialised();
  try {
    const user = await userOf(a);
    const value = Buffer.from('6b65792d6d6174657269616c2d746861742d6d7573742d7661') ;
    await a.hsm.keys.createObject(user, new Map<number, any>([[CKA.CLASS, 4], [CKA.KEY_TYPE, 0x10], [CKA.VALUE, value], [CKA.TOKEN, true]]));
    const sealedBefore = (a.store.rawDatabase().prepare('SELECT sealed FROM objects WHERE sealed IS NOT NULL').all() as { sealed: Buffer }[]).map((r) => r.sealed);
    assert.ok(sealedBefore.length >= 1);
    const blob = await a.hsm.backups.backup(await officerOf(a));
    await assert.rejects(a.hsm.backups.zeroize(user), code('FORBIDDEN'));
    await a.hsm.backups.zeroize(await officerOf(a));
    assert.equal(a.hsm.state, 'uninitialized');
    const db = a.store.rawDatabase();
    const last = db.prepare('SELECT body FROM audit ORDER BY seq DESC LIMIT 1').get() as { body: string };
    assert.equal(fromCanonical(last.body).op, 'module.zeroize', 'the last audit record says it happened');
    await assert.rejects(a.hsm.lifecycle.unseal(a.shares[0]), code('NOT_INITIALIZED'));
    for (const t of ['objects', 'users', 'meta']) assert.equal((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n, 0, t);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const file = Buffer.concat([fs.readFileSync(path.join(a.dir, 'inkan.db')), fs.existsSync(path.join(a.dir, 'inkan.db-wal')) ? fs.readFileSync(path.join(a.dir, 'inkan.db-wal')) : Buffer.alloc(0)]);
    for (const sealed of sealedBefore) assert.equal(file.indexOf(sealed.subarray(0, 32)), -1, 'no sealed value survives in the file');
    // An old backup still needs the old shares.
    const { restored } = await restoreFresh(a, blob, [a.shares[1], a.shares[2]]);
    assert.equal(restored?.restored, true);
    assert.equal(a.hsm.state, 'unsealed');
  } finally { await done(a); }
});
