// Red-team findings 2, 3 and 11 (issue #8), each attack performed by someone who can write the
// database (from another connection, behind the module's back): the audit trail cut or wiped, the
// domain emptied out of the store, a single old row put back. The module notices and refuses to
// serve, and says what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Hsm } from '../../src/core/hsm';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { AnchorFiles, ANCHOR_FILE } from '../../src/runtime/anchor-file';
import { startServer } from '../../src/server';
import { silentLogger } from '../../src/logger';
import { CKA, CKM } from '../../src/pkcs11/constants';
import { OFFICER_PASSWORD, tempDir, USER_PASSWORD } from '../helpers/harness';

interface Node { hsm: Hsm; store: SqliteKeyStore; dir: string; file: string }
async function open(dir: string, opts: { newDomain?: boolean } = {}): Promise<Node> {
  const file = path.join(dir, 'inkan.db');
  const store = new SqliteKeyStore(file);
  const hsm = new Hsm(store, { anchor: new AnchorFiles([path.join(dir, ANCHOR_FILE)]), loginDelayMs: 0, ...opts });
  try { await hsm.start(); } catch (err) { await store.close(); throw err; }
  return { hsm, store, dir, file };
}
async function initialised(): Promise<Node & { share: string }> {
  const n = await open(tempDir('inkan-tamper-'));
  const [share] = await n.hsm.lifecycle.init(1, 1, { username: 'officer', password: OFFICER_PASSWORD });
  await n.hsm.lifecycle.unseal(share);
  await n.hsm.users.create(n.hsm.callerOf(await n.hsm.login('officer', OFFICER_PASSWORD), 'admin'), 'user', 'user', USER_PASSWORD);
  return { ...n, share };
}
const user = async (n: Node) => n.hsm.callerOf(await n.hsm.login('user', USER_PASSWORD), 'admin');
const attacker = (n: Node) => new Database(n.file);
const aes = (n: Node, label: string) => user(n).then((u) => n.hsm.keys.generateKey(u, CKM.AES_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.LABEL, label]])));

test('audit rows deleted while the module is stopped: the anchor catches it at unseal and the module refuses to serve', async () => {
  const n = await initialised();
  try {
    for (let i = 0; i < 5; i++) await aes(n, `k${i}`);
    await n.hsm.audit.checkpoint(); // signed and anchored beside the store
    await n.hsm.lifecycle.seal();
    await n.store.close();
    const db = attacker(n);
    const head = (db.prepare('SELECT max(seq) AS s FROM audit').get() as { s: number }).s;
    db.prepare('DELETE FROM audit WHERE seq > ?').run(head - 4);
    db.prepare('DELETE FROM audit_checkpoints').run();
    db.close();

    const again = await open(n.dir);
    await again.hsm.lifecycle.unseal(n.share);
    const st = await again.hsm.status();
    assert.equal(st.state, 'error');
    assert.match(st.problem!, /audit chain node-1 was cut: the store ends at record \d+, the anchor vouches for \d+/);
    await assert.rejects(again.hsm.login('user', USER_PASSWORD), (e: Error & { code?: string }) => e.code === 'STORE_CORRUPT' && /restore a backup/.test(e.message));
    await again.store.close();
  } finally { fs.rmSync(n.dir, { recursive: true, force: true }); }
});

test('audit rows deleted or rewritten while the module runs: the next write finds the chain cut and nothing is committed', async () => {
  const n = await initialised();
  try {
    await aes(n, 'before');
    const db = attacker(n);
    db.prepare('DELETE FROM audit WHERE seq > (SELECT max(seq) - 2 FROM audit)').run();
    db.close();
    const before = (n.store.rawDatabase().prepare('SELECT count(*) AS c FROM objects').get() as { c: number }).c;
    await assert.rejects(aes(n, 'after'), { code: 'AUDIT_FAILED' });
    assert.equal((n.store.rawDatabase().prepare('SELECT count(*) AS c FROM objects').get() as { c: number }).c, before, 'the refused creation left nothing');
    assert.match((await n.hsm.status()).problem ?? '', /audit chain node-1 was cut/);
    assert.equal(n.hsm.state, 'error');
  } finally { await n.store.close(); fs.rmSync(n.dir, { recursive: true, force: true }); }
});

test('the whole database wiped: a data directory that held a domain refuses to start, and only --new-domain re-initialises it', async () => {
  const dir = tempDir('inkan-wipe-');
  try {
    const first = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, log: silentLogger });
    const init = await fetch(`${first.url}/v1/init`, { method: 'POST', body: JSON.stringify({ shares: 1, threshold: 1, officerUsername: 'admin', officerPassword: OFFICER_PASSWORD }) });
    assert.equal(init.status, 201);
    await first.close();
    for (const f of ['inkan.db', 'inkan.db-wal', 'inkan.db-shm']) fs.rmSync(path.join(dir, f), { force: true });
    await assert.rejects(startServer({ dataDir: dir, host: '127.0.0.1', port: 0, log: silentLogger }),
      (e: Error & { code?: string }) => e.code === 'DOMAIN_MISSING' && /inkan serve --new-domain/.test(e.message));
    // An HTTP call can never re-initialise it: only the local, explicit option does.
    const fresh = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, log: silentLogger, newDomain: true });
    try {
      const again = await fetch(`${fresh.url}/v1/init`, { method: 'POST', body: JSON.stringify({ shares: 1, threshold: 1, officerUsername: 'admin', officerPassword: OFFICER_PASSWORD }) });
      assert.equal(again.status, 201);
    } finally { await fresh.close(); }
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('only the domain row deleted: refused the same way; the configured domain id is checked too', async () => {
  const n = await initialised();
  try {
    const domain = (await n.hsm.status()).domain!;
    await n.hsm.lifecycle.seal();
    await n.store.close();
    const db = attacker(n);
    db.prepare("DELETE FROM meta WHERE name IN ('domain_id', 'dmk_check')").run();
    db.close();
    await assert.rejects(open(n.dir), { code: 'DOMAIN_MISSING' });
    // With the domain in the configuration (INKAN_DOMAIN / --domain), even a missing anchor file does not help the attacker.
    fs.rmSync(path.join(n.dir, ANCHOR_FILE));
    const store = new SqliteKeyStore(n.file);
    const hsm = new Hsm(store, { expectDomain: domain });
    await assert.rejects(hsm.start(), { code: 'DOMAIN_MISSING' });
    await store.close();
  } finally { fs.rmSync(n.dir, { recursive: true, force: true }); }
});

test('dev mode: a key file beside an emptied store is refused, never silently replaced', async () => {
  const dir = tempDir('inkan-devwipe-');
  try {
    const first = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger });
    const keyFile = fs.readFileSync(path.join(dir, 'dev-master-key.DEVELOPMENT-ONLY'), 'utf8');
    await first.close();
    for (const f of ['inkan.db', 'inkan.db-wal', 'inkan.db-shm', ANCHOR_FILE]) fs.rmSync(path.join(dir, f), { force: true });
    await assert.rejects(startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger }), /emptied or replaced/);
    assert.equal(fs.readFileSync(path.join(dir, 'dev-master-key.DEVELOPMENT-ONLY'), 'utf8'), keyFile, 'the key file was not overwritten');
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('one old row put back (an old password valid again): refused at once while running, and found by the integrity scan', async () => {
  const n = await initialised();
  try {
    const db = attacker(n);
    const old = db.prepare("SELECT * FROM users WHERE username = 'user'").get() as Record<string, unknown>;
    const officer = n.hsm.callerOf(await n.hsm.login('officer', OFFICER_PASSWORD), 'admin');
    await n.hsm.users.setPassword(officer, 'user', 'a-brand-new-password');
    await n.hsm.login('user', 'a-brand-new-password');
    // The attacker restores the user's previous row, MAC and all: the old password would work again.
    db.prepare('UPDATE users SET version = @version, data = @data, mac = @mac WHERE id = @id').run(old);
    db.close();
    await assert.rejects(n.hsm.login('user', USER_PASSWORD), (e: Error & { code?: string }) => e.code === 'STORE_CORRUPT' && /rolled back/.test(e.message));
    // After a restart the process remembers nothing: the accumulator over every row catches it at unseal.
    await n.hsm.lifecycle.seal();
    await n.store.close();
    const again = await open(n.dir);
    await again.hsm.lifecycle.unseal(n.share);
    assert.match((await again.hsm.status()).problem ?? '', /rolled back to an older version, removed, or added/);
    await assert.rejects(again.hsm.login('user', USER_PASSWORD), { code: 'STORE_CORRUPT' });
    await again.store.close();
  } finally { fs.rmSync(n.dir, { recursive: true, force: true }); }
});

test('a deleted key put back, and a whole store rolled back to an earlier copy: both found at unseal', async () => {
  const n = await initialised();
  try {
    const doomed = await aes(n, 'doomed');
    const db = attacker(n);
    const row = db.prepare('SELECT * FROM objects WHERE id = ?').get(doomed.id) as Record<string, unknown>;
    await n.hsm.keys.destroy(await user(n), doomed);
    const cols = Object.keys(row);
    db.prepare(`INSERT INTO objects (${cols.join(',')}) VALUES (${cols.map((c) => '@' + c).join(',')})`).run(row);
    db.close();
    await n.hsm.lifecycle.seal();
    await n.store.close();
    const again = await open(n.dir);
    await again.hsm.lifecycle.unseal(n.share);
    assert.match((await again.hsm.status()).problem ?? '', /rolled back to an older version, removed, or added/);
    await again.store.close();
  } finally { fs.rmSync(n.dir, { recursive: true, force: true }); }

  const m = await initialised();
  try {
    await aes(m, 'k1');
    await m.hsm.lifecycle.seal();
    await m.store.close();
    const copy = path.join(m.dir, 'earlier.db');
    fs.copyFileSync(m.file, copy);
    const later = await open(m.dir);
    await later.hsm.lifecycle.unseal(m.share);
    await aes(later, 'k2');
    await later.hsm.audit.checkpoint();
    await later.hsm.lifecycle.seal();
    await later.store.close();
    for (const f of ['inkan.db-wal', 'inkan.db-shm']) fs.rmSync(path.join(m.dir, f), { force: true });
    fs.copyFileSync(copy, m.file);
    const rolled = await open(m.dir);
    await rolled.hsm.lifecycle.unseal(m.share);
    assert.match((await rolled.hsm.status()).problem ?? '', /was cut|rolled back/);
    await rolled.store.close();
  } finally { fs.rmSync(m.dir, { recursive: true, force: true }); }
});
