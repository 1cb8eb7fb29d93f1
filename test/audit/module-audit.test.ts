// The real module (core v2: every operation committed with its record through linkRecords) on a
// real SQLite file: its chain exports and verifies, its own stored checkpoints and its anchor
// file are read by the verifier, records carry the partition, and a cut store is caught --after
// the anchor. No faces: this runs while the faces are being adapted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CKA, CKM } from '../../src/pkcs11/constants';
import { Hsm } from '../../src/core/hsm';
import { signCheckpoint } from '../../src/audit-chain/chain';
import { openExport } from '../../src/core/audit/export';
import { readAnchors, verifyExport } from '../../src/audit-chain/verify';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { AnchorFiles } from '../../src/runtime/anchor-file';
import { fromArray, parse, tempDir } from './fixtures';

const PASSWORD = 'officer-password-1';

async function moduleWithActivity() {
  const dir = tempDir();
  const store = new SqliteKeyStore(path.join(dir, 'inkan.db'));
  const anchorFile = path.join(dir, 'anchor.json');
  const hsm = new Hsm(store, { node: 'node-a', anchor: new AnchorFiles([anchorFile]) });
  const close = async () => { await store.close(); fs.rmSync(dir, { recursive: true, force: true }); };
  try { await activity(hsm); } catch (err) { await close(); throw err; }
  const pem = (await store.getMeta('audit_public_key'))!.toString();
  const lines = async () => {
    const out: string[] = [];
    // The export-time signature the route asks the module for (AuditLog.signCheckpoint).
    const sign = (chain: string, head: { seq: number; hash: string }) => signCheckpoint(hsm.core.auditKey!, chain, head, hsm.node);
    for await (const l of await openExport(store.audit, { publicKey: pem, sign })) out.push(l);
    return out;
  };
  return { hsm, store, dir, anchorFile, pem, lines, close };
}

async function activity(hsm: Hsm): Promise<void> {
  await hsm.start();
  const [share] = await hsm.lifecycle.init(1, 1, { username: 'officer', password: PASSWORD });
  await hsm.lifecycle.unseal(share);
  const officer = hsm.callerOf(await hsm.login('officer', PASSWORD), 'admin');
  await hsm.users.create(officer, 'alice', 'user', 'alice-password-1');
  const alice = hsm.callerOf(await hsm.login('alice', 'alice-password-1'), 'admin');
  const key = await hsm.keys.generateKey(alice, CKM.GENERIC_SECRET_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true]]));
  // Enough uses for the module's own checkpoint every 100 records (and so an anchor).
  await Promise.all(Array.from({ length: 120 }, (_, i) => hsm.crypto.sign(alice, key, CKM.SHA256_HMAC, {}, Buffer.from(`secret data ${i}`))));
  await assert.rejects(hsm.crypto.sign(alice, key, CKM.ECDSA, {}, Buffer.from('x')));
  await assert.rejects(hsm.login('alice', 'wrong-password-xyz'));
}

test('the module\'s chain exports and verifies, with partitions and its own checkpoints, and no secrets', async () => {
  const m = await moduleWithActivity();
  try {
    const lines = await m.lines();
    const r = await verifyExport(fromArray(lines), { publicKey: m.pem });
    assert.equal(r.ok, true, r.problem);
    assert.deepEqual(r.chains.map((ch) => ch.chain), ['node-a']);
    assert.ok(r.checkpoints >= 1, 'the module stored a checkpoint every 100 records, in the format the verifier checks');
    const records = lines.map(parse).filter((l) => l.type === 'record');
    const ops = new Set(records.map((x) => `${x.op}:${x.outcome}`));
    for (const want of ['key.generate:success', 'key.sign:success', 'key.sign:failure', 'user.login:failure']) assert.ok(ops.has(want), `missing ${want}`);
    const sign = records.find((x) => x.op === 'key.sign' && x.outcome === 'success')!;
    assert.deepEqual([sign.actor, sign.face, sign.partition], ['alice', 'admin', 'default']);
    const text = lines.join('');
    for (const secret of ['secret data', 'wrong-password-xyz', 'alice-password-1', PASSWORD]) assert.ok(!text.includes(secret), `the log holds ${secret}`);
  } finally { await m.close(); }
});

test('the module\'s anchor file is an --after anchor: a store cut behind it is named', async () => {
  const m = await moduleWithActivity();
  try {
    const anchors = await readAnchors(fromArray([fs.readFileSync(m.anchorFile, 'utf8')]));
    assert.equal(anchors.length, 1);
    assert.equal(anchors[0].chain, 'node-a');
    const now = await verifyExport(fromArray(await m.lines()), { publicKey: m.pem, anchors });
    assert.equal(now.ok, true, now.problem);
    assert.equal(now.chains[0].consistentWith, anchors[0].seq);
    const db = m.store.rawDatabase();
    db.prepare('DELETE FROM audit WHERE seq > ?').run(anchors[0].seq - 5);
    db.prepare('DELETE FROM audit_checkpoints WHERE seq > ?').run(anchors[0].seq - 5);
    const cut = await verifyExport(fromArray(await m.lines()), { publicKey: m.pem, anchors });
    assert.equal(cut.chains[0].problem, `truncated: the log now ends at seq ${anchors[0].seq - 5}, before the earlier checkpoint at ${anchors[0].seq}`);
  } finally { await m.close(); }
});
