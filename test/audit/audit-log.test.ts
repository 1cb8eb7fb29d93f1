// The audit log: every security-relevant operation is recorded (success and failure), the
// chain and checkpoints verify offline, and each kind of tampering is named by the verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CKA, CKM } from '../../src/pkcs11/constants';
import { AuditRecord, Checkpoint, chainHash, verifyExport } from '../../src/core/audit/chain';
import { freshModule, TestModule, USER_PASSWORD } from '../helpers/harness';

const code = (c: string) => (err: unknown) => { assert.equal((err as { code?: string }).code, c); return true; };
type Export = { records: AuditRecord[]; checkpoints: Checkpoint[]; publicKey: string };

async function activity(m: TestModule): Promise<void> {
  const key = await m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true]]));
  await m.hsm.crypto.sign(m.caller, key, CKM.SHA256_HMAC, {}, Buffer.from('audited data'));
  await assert.rejects(m.hsm.crypto.sign(m.caller, key, CKM.ECDSA, {}, Buffer.from('x')), code('KEY_TYPE_INCONSISTENT'));
  await assert.rejects(m.hsm.login('user', 'wrong-password-xyz'), code('LOGIN_FAILED'));
}

async function exported(m: TestModule): Promise<Export> {
  const e = await m.hsm.audit.export(await m.hsm.auditPublicKey());
  return JSON.parse(JSON.stringify(e)) as Export;
}

test('operations are recorded with actor, face, object and outcome, and never secrets', async () => {
  const m = await freshModule();
  try {
    await activity(m);
    const e = await exported(m);
    const ops = e.records.map((r) => `${r.op}:${r.outcome}`);
    for (const want of ['module.self-test:success', 'module.init:success', 'module.unseal:success', 'user.create:success',
      'user.login:success', 'key.generate:success', 'key.sign:success', 'key.sign:failure', 'user.login:failure']) {
      assert.ok(ops.includes(want), `missing ${want} in ${ops.join(' ')}`);
    }
    const failedSign = e.records.find((r) => r.op === 'key.sign' && r.outcome === 'failure')!;
    assert.equal(failedSign.code, 'KEY_TYPE_INCONSISTENT');
    assert.equal(failedSign.actor, 'user');
    assert.equal(failedSign.face, 'admin');
    assert.ok(failedSign.object);
    const failedLogin = e.records.find((r) => r.op === 'user.login' && r.outcome === 'failure')!;
    assert.equal(failedLogin.actor, 'user');
    const text = JSON.stringify(e);
    for (const secret of ['audited data', 'wrong-password-xyz', USER_PASSWORD, Buffer.from('audited data').toString('base64')]) {
      assert.ok(!text.includes(secret), `the audit log contains ${secret}`);
    }
    assert.equal(verifyExport(e.records, e.checkpoints, e.publicKey).ok, true);
  } finally { await m.close(); }
});

test('five failed logins show the lockout in the log', async () => {
  const m = await freshModule();
  try {
    for (let i = 0; i < 5; i++) await m.hsm.login('user', 'nope-nope-nope').catch(() => undefined);
    const e = await exported(m);
    assert.ok(e.records.some((r) => r.op === 'user.login' && r.code === 'ACCOUNT_LOCKED'));
  } finally { await m.close(); }
});

test('the offline verifier names edited, removed, inserted and reordered records', async () => {
  const m = await freshModule();
  try {
    await activity(m);
    const e = await exported(m);
    const n = e.records.length;
    assert.ok(n > 8);
    const check = (records: AuditRecord[], checkpoints = e.checkpoints) => verifyExport(records, checkpoints, e.publicKey);

    const edited = structuredClone(e.records);
    edited[4] = { ...edited[4], actor: edited[4].actor + 'x' };
    assert.deepEqual([check(edited).ok, check(edited).firstBadSeq], [false, 5]);
    assert.match(check(edited).problem!, /record 5 was edited/);

    // Editing and re-hashing one record (without the audit key) breaks the link of the next one.
    const rehashed = structuredClone(e.records);
    rehashed[2] = { ...rehashed[2], outcome: 'failure' };
    rehashed[2].hash = chainHash(rehashed[2].prev, rehashed[2]);
    assert.equal(check(rehashed).firstBadSeq, 4);

    const removed = e.records.filter((_, i) => i !== 3);
    assert.match(check(removed).problem!, /record 4 was removed/);

    const inserted = [...e.records.slice(0, 3), { ...e.records[3] }, ...e.records.slice(3)];
    assert.equal(check(inserted).ok, false);
    assert.equal(check(inserted).firstBadSeq, 4);

    const reordered = [...e.records];
    [reordered[5], reordered[6]] = [reordered[6], reordered[5]];
    assert.equal(check(reordered).ok, false);
    assert.equal(check(reordered).firstBadSeq, 6);
    assert.match(check(reordered).problem!, /out of order/);

    // Removing the last K records: the chain still links, but the export-time checkpoint names the loss.
    const truncated = e.records.slice(0, n - 3);
    const t = check(truncated);
    assert.equal(t.ok, false);
    assert.match(t.problem!, /missing|removed/);

    // A checkpoint re-signed with another module's key is refused.
    const other = await freshModule();
    try {
      assert.equal(verifyExport(e.records, e.checkpoints, await other.hsm.auditPublicKey()).ok, false);
    } finally { await other.close(); }
  } finally { await m.close(); }
});

test('if an audit record cannot be written the operation is refused, and status shows it', async () => {
  const m = await freshModule();
  try {
    const key = await m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true]]));
    // A real fault: the audit table disappears from under the module.
    m.store.rawDatabase().exec('ALTER TABLE audit RENAME TO audit_gone');
    await assert.rejects(m.hsm.crypto.sign(m.caller, key, CKM.SHA256_HMAC, {}, Buffer.from('x')), code('AUDIT_FAILED'));
    await assert.rejects(m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true]])), code('AUDIT_FAILED'));
    const st = await m.hsm.status();
    assert.ok(st.audit.writeFailures >= 2);
    assert.ok(st.audit.lastFailure);
    m.store.rawDatabase().exec('ALTER TABLE audit_gone RENAME TO audit');
    assert.equal((await m.hsm.crypto.sign(m.caller, key, CKM.SHA256_HMAC, {}, Buffer.from('x'))).length, 32);
    assert.equal((await m.hsm.status()).audit.lastFailure, undefined);
    const e = await exported(m);
    assert.equal(verifyExport(e.records, e.checkpoints, e.publicKey).ok, true, 'refused operations left no gap in the chain');
  } finally { await m.close(); }
});

test('concurrent operations are chained without gaps and checkpoints are made every 100 records', async () => {
  const m = await freshModule();
  try {
    const key = await m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true]]));
    for (let round = 0; round < 5; round++) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => m.hsm.crypto.sign(m.caller, key, CKM.SHA256_HMAC, {}, Buffer.from(String(i)))));
    }
    const e = await exported(m);
    assert.ok(e.records.length > 250);
    assert.ok(e.checkpoints.length >= 3, `only ${e.checkpoints.length} checkpoints`);
    assert.equal(verifyExport(e.records, e.checkpoints, e.publicKey).ok, true);
  } finally { await m.close(); }
});

test('access-key changes are audited, and the secret half never reaches the log', async () => {
  const m = await freshModule();
  try {
    const created = await m.hsm.accessKeys.create(m.user);
    await m.hsm.accessKeys.delete(m.user, created.accessKeyId);
    const e = await exported(m);
    const ops = e.records.map((r) => r.op);
    assert.ok(ops.includes('access-key.create') && ops.includes('access-key.delete'), ops.join(' '));
    assert.ok(!JSON.stringify(e).includes(created.secretAccessKey));
    assert.equal(verifyExport(e.records, e.checkpoints, e.publicKey).ok, true);
  } finally { await m.close(); }
});
