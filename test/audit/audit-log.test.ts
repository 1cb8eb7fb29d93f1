// The audit log: every security-relevant operation is recorded (success and failure), the
// chain and checkpoints verify offline, and each kind of tampering is named by the verifier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CKA, CKM } from '../../src/pkcs11/constants';
import type { AuditRecord } from '../../src/audit-chain/chain';
import { verifyExport, type VerifyReport } from '../../src/audit-chain/verify';
import { freshModule, TestModule, USER_PASSWORD } from '../helpers/harness';

const code = (c: string) => (err: unknown) => { assert.equal((err as { code?: string }).code, c); return true; };
type Export = { records: AuditRecord[]; checkpoints: unknown[]; lines: string[]; report: VerifyReport };

async function activity(m: TestModule): Promise<void> {
  const key = await m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true]]));
  await m.hsm.crypto.sign(m.caller, key, CKM.SHA256_HMAC, {}, Buffer.from('audited data'));
  await assert.rejects(m.hsm.crypto.sign(m.caller, key, CKM.ECDSA, {}, Buffer.from('x')), code('KEY_TYPE_INCONSISTENT'));
  await assert.rejects(m.hsm.login('user', 'wrong-password-xyz'), code('LOGIN_FAILED'));
}

/** The module's own export (as an auditor asks for it), parsed, and its verification. */
async function exported(m: TestModule): Promise<Export> {
  if (!(await m.hsm.users.find('default', 'audrey'))) await m.hsm.users.create(m.officer, 'audrey', 'auditor', 'auditor-password-1');
  const auditor = m.as(await m.hsm.login('audrey', 'auditor-password-1'));
  const lines: string[] = [];
  for await (const line of await m.hsm.auditExport(auditor, {})) lines.push(line.trimEnd());
  const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const report = await verifyExport((async function* () { for (const l of lines) yield l + '\n'; })(), { publicKey: await m.hsm.auditPublicKey() });
  return {
    records: parsed.filter((l) => l.type === 'record') as unknown as AuditRecord[],
    checkpoints: parsed.filter((l) => l.type === 'checkpoint' || l.type === 'final'), lines, report,
  };
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
    const text = e.lines.join('\n');
    for (const secret of ['audited data', 'wrong-password-xyz', USER_PASSWORD, Buffer.from('audited data').toString('base64')]) {
      assert.ok(!text.includes(secret), `the audit log contains ${secret}`);
    }
    assert.equal(e.report.ok, true, e.report.problem);
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

// The offline verifier's findings (edited, removed, inserted, reordered, truncated records, foreign
// keys) are asserted on the v2 export format in verify.test.ts and consistency.test.ts.

test('if an audit record cannot be written the operation is refused, and status shows it', async () => {
  const m = await freshModule();
  try {
    const key = await m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true]]));
    // A real fault: the audit table disappears from under the module.
    m.store.rawDatabase().exec('ALTER TABLE audit RENAME TO audit_gone');
    const before = (m.store.rawDatabase().prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n;
    await assert.rejects(m.hsm.crypto.sign(m.caller, key, CKM.SHA256_HMAC, {}, Buffer.from('x')), code('AUDIT_FAILED'));
    await assert.rejects(m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.LABEL, 'refused-1']])), code('AUDIT_FAILED'));
    await assert.rejects(m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.LABEL, 'refused-2']])), code('AUDIT_FAILED'));
    // The red team's finding: refused creations were stored anyway. Now the change and its record commit together or not at all.
    assert.equal((m.store.rawDatabase().prepare('SELECT count(*) AS n FROM objects').get() as { n: number }).n, before, 'a refused operation left nothing in the store');
    const st = await m.hsm.status();
    assert.ok(st.audit.writeFailures >= 2);
    assert.ok(st.audit.lastFailure);
    m.store.rawDatabase().exec('ALTER TABLE audit_gone RENAME TO audit');
    assert.equal((await m.hsm.crypto.sign(m.caller, key, CKM.SHA256_HMAC, {}, Buffer.from('x'))).length, 32);
    assert.equal((await m.hsm.status()).audit.lastFailure, undefined);
    const e = await exported(m);
    assert.equal(e.report.ok, true, `refused operations left no gap in the chain: ${e.report.problem}`);
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
    assert.equal(e.report.ok, true, e.report.problem);
  } finally { await m.close(); }
});

test('access-key changes are audited, and the secret half never reaches the log', async () => {
  const m = await freshModule();
  try {
    const created = await m.hsm.credentials.create(m.caller);
    await m.hsm.credentials.delete(m.caller, created.accessKeyId);
    const e = await exported(m);
    const ops = e.records.map((r) => r.op);
    assert.ok(ops.includes('access-key.create') && ops.includes('access-key.delete'), ops.join(' '));
    assert.ok(!e.lines.join('\n').includes(created.secretAccessKey));
    assert.equal(e.report.ok, true, e.report.problem);
  } finally { await m.close(); }
});
