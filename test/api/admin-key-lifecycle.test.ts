// The admin routes behind `inkan key schedule-deletion|cancel-deletion|versions|usage` and
// `inkan user role|lock` (and the console's Keys and Users pages): a key pending deletion is
// refused on every face until cancelled (then disabled, as KMS leaves it), versions after a
// rotation, use counts checked against the audit export counted here, and a role change that
// ends the user's sessions, is audited, is never one's own and is the officers' alone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { devServer, TestServer } from '../helpers/harness';

let srv: TestServer;
type Client = Awaited<ReturnType<TestServer['login']>>;
let creds: Record<'officer' | 'user' | 'auditor', { username: string; password: string }>;
let asOfficer: Client;
let asUser: Client;
let asAuditor: Client;

before(async () => {
  srv = await devServer();
  creds = JSON.parse(fs.readFileSync(path.join(srv.dir, 'dev-credentials.json'), 'utf8'));
  asOfficer = await srv.login(creds.officer.username, creds.officer.password);
  asUser = await srv.login(creds.user.username, creds.user.password);
  asAuditor = await srv.login(creds.auditor.username, creds.auditor.password);
});
after(async () => { await srv?.close(); });

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Audit records, from the export (NDJSON), read by this test rather than by the module's reader. */
async function auditRecords(): Promise<any[]> {
  const r = await fetch(`${srv.url}/v1/audit/export`, { headers: { authorization: `Bearer ${await token(creds.auditor)}` } });
  assert.equal(r.status, 200);
  return (await r.text()).trimEnd().split('\n').map((l) => JSON.parse(l)).filter((l) => l.type === 'record');
}
async function token(a: { username: string; password: string }): Promise<string> {
  return ((await (await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify(a) })).json()) as { token: string }).token;
}

test('schedule deletion refuses every use at once; cancelling leaves the key disabled until enabled', async () => {
  assert.equal((await asUser('POST', '/v1/keys', { type: 'aes', label: 'doomed' })).status, 201);
  const enc = () => asUser('POST', '/v1/keys/doomed/encrypt', { data: b64('x'), mechanism: 'CKM_AES_GCM' });
  assert.equal((await enc()).status, 200);
  for (const days of [6, 31, 'ten']) {
    assert.equal((await asUser('POST', '/v1/keys/doomed/schedule-deletion', { days })).body.error.code, 'BAD_REQUEST', String(days));
  }
  const s = await asUser('POST', '/v1/keys/doomed/schedule-deletion', { days: 7 });
  assert.equal(s.status, 200, JSON.stringify(s.body));
  assert.equal(s.body.key.state, 'pending-deletion');
  assert.equal(s.body.key.deletion.windowDays, 7);
  const due = Date.parse(s.body.key.deletion.due) - Date.parse(s.body.key.deletion.requested);
  assert.equal(due, 7 * 86_400_000);
  assert.equal((await enc()).body.error.code, 'KEY_PENDING_DELETION');
  assert.equal((await asUser('GET', '/v1/keys/doomed')).body.key.state, 'pending-deletion', 'the key list shows it');
  assert.equal((await asUser('POST', '/v1/keys/doomed/schedule-deletion', {})).body.error.code, 'KEY_STATE_INVALID', 'not twice');
  assert.equal((await asUser('POST', '/v1/keys/doomed/enable', {})).body.error.code, 'KEY_STATE_INVALID');
  // Another crypto user, and an officer, cannot schedule or cancel it.
  assert.equal((await asOfficer('POST', '/v1/keys/doomed/cancel-deletion', {})).status >= 400, true);
  const c = await asUser('POST', '/v1/keys/doomed/cancel-deletion', {});
  assert.equal(c.status, 200, JSON.stringify(c.body));
  assert.equal(c.body.key.state, 'disabled');
  assert.equal(c.body.key.deletion, undefined);
  assert.equal((await enc()).body.error.code, 'KEY_DISABLED');
  assert.equal((await asUser('POST', '/v1/keys/doomed/cancel-deletion', {})).body.error.code, 'KEY_STATE_INVALID');
  assert.equal((await asUser('POST', '/v1/keys/doomed/enable', {})).status, 200);
  assert.equal((await enc()).status, 200);
  const ops = (await auditRecords()).filter((r) => r.op.startsWith('managed-key.') && r.outcome === 'success').map((r) => r.op);
  assert.ok(ops.includes('managed-key.schedule-deletion') && ops.includes('managed-key.cancel-deletion'), ops.join(','));
});

test('versions after rotations: the newest is current, each has its own id', async () => {
  assert.equal((await asUser('POST', '/v1/keys', { type: 'ec', curve: 'P-256', label: 'rotating', usage: ['sign', 'verify'] })).status, 201);
  const one = await asUser('GET', '/v1/keys/rotating/versions');
  assert.equal(one.status, 200, JSON.stringify(one.body));
  assert.equal(one.body.versions.length, 1);
  for (let i = 0; i < 2; i++) { const r = await asUser('POST', '/v1/keys/rotating/rotate', {}); assert.equal(r.status, 200, JSON.stringify(r.body)); }
  const three = (await asUser('GET', '/v1/keys/rotating/versions')).body;
  assert.equal(three.versions.length, 3);
  assert.deepEqual(three.versions.map((v: any) => v.current), [false, false, true]);
  assert.deepEqual(three.versions.map((v: any) => v.rotation), [undefined, 'on-demand', 'on-demand']);
  assert.equal(new Set(three.versions.map((v: any) => v.id)).size, 3);
  assert.ok(three.versions.every((v: any) => v.enabled && v.decrypts && v.uses.includes('sign')));
  // An auditor describes it too (access.ts 'key.describe'): by the managed key's id, not by a label it cannot see.
  const seen = await asAuditor('GET', `/v1/keys/${three.key}/versions`);
  assert.equal(seen.status, 200, JSON.stringify(seen.body));
  assert.deepEqual(seen.body, three);
  assert.equal((await asAuditor('GET', '/v1/keys/rotating/versions')).body.error.code, 'KEY_NOT_FOUND', 'labels name the objects a caller sees');
});

test('no usage given: each key type gets its usual job (the CLI\'s defaults), so it rotates and does it', async () => {
  const made: Record<string, any> = {};
  for (const type of ['ec', 'rsa', 'aes']) {
    const r = await asUser('POST', '/v1/keys', { type, label: `plain-${type}` });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    made[type] = r.body;
  }
  assert.deepEqual([made.ec.key.usage, made.ec.publicKey.usage], [['sign'], ['verify']], 'no encrypt, decrypt, wrap or unwrap for EC');
  assert.deepEqual([made.rsa.key.usage, made.rsa.publicKey.usage], [['sign'], ['verify']]);
  assert.deepEqual([...made.aes.key.usage].sort(), ['decrypt', 'encrypt', 'unwrap', 'wrap']);
  for (const type of ['ec', 'rsa', 'aes']) {
    const r = await asUser('POST', `/v1/keys/${made[type].key.id}/rotate`, {});
    assert.equal(r.status, 200, `${type}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.key.versions, 2);
  }
  // Each signs with its newest version; the signature verifies with node:crypto on the exported public key.
  const data = Buffer.from('signed after a rotation');
  for (const type of ['ec', 'rsa']) {
    const { versions } = (await asUser('GET', `/v1/keys/${made[type].key.id}/versions`)).body;
    const cur = versions.find((v: any) => v.current);
    assert.deepEqual(cur.uses, ['sign', 'verify'], type);
    const s = await asUser('POST', `/v1/keys/${cur.objectId}/sign`, { data: data.toString('base64') });
    assert.equal(s.status, 200, `${type}: ${JSON.stringify(s.body)}`);
    const pem = (await asUser('GET', `/v1/keys/${cur.publicObjectId}/public`)).body.pem;
    assert.equal(crypto.verify('sha256', data, crypto.createPublicKey(pem), Buffer.from(s.body.signature, 'base64')), true, `${type} ${s.body.mechanism}`);
    assert.equal(crypto.verify('sha256', Buffer.from('something else'), crypto.createPublicKey(pem), Buffer.from(s.body.signature, 'base64')), false);
    assert.equal((await asUser('POST', `/v1/keys/${cur.publicObjectId}/encrypt`, { data: data.toString('base64') })).status >= 400, true, `${type} does not encrypt`);
  }
  const aes = (await asUser('GET', `/v1/keys/${made.aes.key.id}/versions`)).body.versions.find((v: any) => v.current);
  const e = await asUser('POST', `/v1/keys/${aes.objectId}/encrypt`, { data: data.toString('base64'), mechanism: 'CKM_AES_GCM' });
  assert.equal(e.status, 200, JSON.stringify(e.body));
  const d = await asUser('POST', `/v1/keys/${aes.objectId}/decrypt`, { data: e.body.ciphertext, mechanism: 'CKM_AES_GCM', params: { iv: e.body.iv } });
  assert.equal(Buffer.from(d.body.plaintext, 'base64').toString(), data.toString());
  assert.equal((await asUser('POST', `/v1/keys/${aes.objectId}/sign`, { data: data.toString('base64'), mechanism: 'CKM_SHA256_HMAC' })).status >= 400, true, 'AES does not sign');
});

test('auditors describe keys (versions, use counts, managed fields) and never use them or see their material', async () => {
  const k = (await asUser('POST', '/v1/keys', { type: 'ec', label: 'audited', extractable: true, sensitive: false })).body.key;
  const data = b64('audited');
  assert.equal((await asUser('POST', '/v1/keys/audited/sign', { data })).status, 200);
  // Before and after the key becomes a managed key (a rotation makes it one).
  for (const round of ['made by the API', 'rotated']) {
    const v = await asAuditor('GET', `/v1/keys/${k.id}/versions`);
    assert.equal(v.status, 200, `${round}: ${JSON.stringify(v.body)}`);
    assert.deepEqual(v.body, (await asUser('GET', '/v1/keys/audited/versions')).body, round);
    const u = await asAuditor('GET', `/v1/keys/${k.id}/usage`);
    assert.equal(u.status, 200, `${round}: ${JSON.stringify(u.body)}`);
    assert.equal(u.body.counts['key.sign'], 1, round);
    const m = await asAuditor('GET', `/v1/keys/${k.id}/managed`);
    assert.equal(m.status, 200, `${round}: ${JSON.stringify(m.body)}`);
    assert.equal(m.body.key.id, k.id);
    assert.equal(m.body.key.versions, round === 'rotated' ? 2 : 1);
    if (round === 'made by the API') assert.equal((await asUser('POST', '/v1/keys/audited/rotate', {})).status, 200);
  }
  // The public half's id names the key too (it is one of its objects); an object of nobody's key does not exist.
  const pubId = (await asUser('GET', '/v1/keys/audited/versions')).body.versions[1].publicObjectId;
  assert.equal((await asAuditor('GET', `/v1/keys/${pubId}/managed`)).body.key.id, k.id);
  assert.equal((await asOfficer('GET', `/v1/keys/${k.id}/versions`)).body.versions.length, 2, 'officers describe keys too');
  assert.equal((await asAuditor('GET', '/v1/keys/0123456789abcdef/versions')).body.error.code, 'KEY_NOT_FOUND');
  // Use, material, changes: refused.
  const newest = (await asUser('GET', '/v1/keys/audited/versions')).body.versions[1].objectId;
  for (const ref of [k.id, newest]) {
    for (const [method, p, body] of [['POST', 'sign', { data }], ['POST', 'export', {}], ['POST', 'rotate', {}], ['POST', 'disable', {}],
      ['GET', 'public', undefined], ['GET', '', undefined]] as const) {
      const r = await asAuditor(method, `/v1/keys/${ref}${p ? '/' + p : ''}`, body);
      assert.ok(r.status === 403 || r.status === 404, `${method} ${p}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal(JSON.stringify(r.body).includes('PRIVATE KEY'), false);
      assert.equal(r.body.material, undefined);
      assert.equal(r.body.signature, undefined);
    }
  }
  const after = (await asUser('GET', '/v1/keys/audited/managed')).body.key;
  assert.deepEqual([after.state, after.versions], ['enabled', 2], 'the auditor changed nothing');
});

test('use counts: what was done, counted from the audit trail; nobody else\'s uses', async () => {
  assert.equal((await asUser('POST', '/v1/keys', { type: 'ec', curve: 'P-256', label: 'counted', usage: ['sign', 'verify'] })).status, 201);
  assert.equal((await asUser('POST', '/v1/keys', { type: 'ec', curve: 'P-256', label: 'other' })).status, 201);
  const fresh = (await asUser('GET', '/v1/keys/counted/usage')).body;
  assert.deepEqual([fresh.total, fresh.counts, fresh.last], [0, {}, undefined]);
  const data = b64('counted');
  let sig = '';
  for (let i = 0; i < 5; i++) sig = (await asUser('POST', '/v1/keys/counted/sign', { data, mechanism: 'CKM_ECDSA_SHA256' })).body.signature;
  for (let i = 0; i < 3; i++) assert.equal((await asUser('POST', '/v1/keys/counted/verify', { data, signature: sig, mechanism: 'CKM_ECDSA_SHA256' })).body.valid, true);
  await asUser('POST', '/v1/keys/other/sign', { data, mechanism: 'CKM_ECDSA_SHA256' });
  // A refused use is no use.
  assert.notEqual((await asUser('POST', '/v1/keys/counted/sign', { data, mechanism: 'CKM_SHA256_RSA_PKCS' })).status, 200);
  const u = (await asUser('GET', '/v1/keys/counted/usage')).body;
  assert.deepEqual(u.counts, { 'key.sign': 5, 'key.verify': 3 });
  assert.equal(u.total, 8);
  assert.equal(u.last.op, 'key.verify');
  assert.equal(u.last.face, 'admin');
  // The same numbers, counted by this test over the audit export.
  const key = (await asUser('GET', '/v1/keys/counted')).body.key;
  const pub = (await asUser('GET', '/v1/keys/counted/versions')).body.versions[0].publicObjectId;
  const mine = (await auditRecords()).filter((r) => r.outcome === 'success' && (r.object === key.id || r.object === pub) && /^key\.(sign|verify)$/.test(r.op));
  assert.equal(mine.length, 8);
  assert.equal(mine.at(-1).seq, u.last.seq);
});

test('role: an officer changes another user\'s role; its sessions end; audited; never its own', async () => {
  assert.equal((await asOfficer('POST', '/v1/users', { username: 'frank', role: 'user', password: 'frank-password-1' })).status, 201);
  const asFrank = await srv.login('frank', 'frank-password-1');
  assert.equal((await asFrank('GET', '/v1/keys')).status, 200);
  // Not for crypto users or auditors, not to a role that does not exist, not for oneself.
  assert.equal((await asUser('POST', '/v1/users/frank/role', { role: 'officer' })).body.error.code, 'FORBIDDEN');
  assert.equal((await asAuditor('POST', '/v1/users/frank/role', { role: 'officer' })).body.error.code, 'FORBIDDEN');
  assert.equal((await asOfficer('POST', '/v1/users/frank/role', { role: 'root' })).body.error.code, 'BAD_REQUEST');
  assert.equal((await asOfficer('POST', '/v1/users/frank/role', {})).body.error.code, 'BAD_REQUEST');
  assert.equal((await asOfficer('POST', '/v1/users/nobody/role', { role: 'user' })).body.error.code, 'USER_NOT_FOUND');
  assert.equal((await asOfficer('POST', `/v1/users/${creds.officer.username}/role`, { role: 'user' })).body.error.code, 'FORBIDDEN');
  assert.equal((await asFrank('GET', '/v1/keys')).status, 200, 'refusals change nothing');

  const r = await asOfficer('POST', '/v1/users/frank/role', { role: 'auditor' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal((await asFrank('GET', '/v1/keys')).status, 401, 'its session ended');
  const users = (await asOfficer('GET', '/v1/users')).body.users;
  assert.equal(users.find((u: any) => u.username === 'frank').role, 'auditor');
  const again = await srv.login('frank', 'frank-password-1');
  assert.equal((await again('GET', '/v1/audit/public-key')).status, 200);
  assert.equal((await again('GET', '/v1/keys')).body.error.code, 'FORBIDDEN', 'an auditor sees no keys');
  assert.equal((await again('POST', '/v1/keys', { type: 'aes' })).body.error.code, 'FORBIDDEN');
  const rec = (await auditRecords()).filter((x) => x.op === 'user.role');
  assert.ok(rec.some((x) => x.outcome === 'success' && x.detail === 'frank from user to auditor' && x.actor === creds.officer.username), JSON.stringify(rec));
  assert.ok(rec.some((x) => x.outcome !== 'success' && x.actor === creds.user.username), 'the refusal is audited');
  assert.ok(!JSON.stringify(rec).includes('frank-password'));

  // A second officer makes the first one something else, then the last officer cannot be demoted.
  assert.equal((await asOfficer('POST', '/v1/users/frank/role', { role: 'officer' })).status, 200);
  const asFrankOfficer = await srv.login('frank', 'frank-password-1');
  assert.equal((await asFrankOfficer('POST', `/v1/users/${creds.officer.username}/role`, { role: 'auditor' })).status, 200);
  const asFormer = await srv.login(creds.officer.username, creds.officer.password);
  assert.equal((await asFormer('GET', '/v1/users')).status, 200, 'auditors list users');
  assert.equal((await asFormer('POST', '/v1/users', { username: 'x', role: 'user', password: 'x-password-1' })).body.error.code, 'FORBIDDEN');
  // frank is now the only officer; nobody changes its own role, so the partition keeps an officer.
  assert.equal((await asFrankOfficer('POST', '/v1/users/frank/role', { role: 'user' })).body.error.code, 'FORBIDDEN');
  // Restore: the original officer back, frank a crypto user.
  assert.equal((await asFrankOfficer('POST', `/v1/users/${creds.officer.username}/role`, { role: 'officer' })).status, 200);
  asOfficer = await srv.login(creds.officer.username, creds.officer.password);
  assert.equal((await asOfficer('POST', '/v1/users/frank/role', { role: 'user' })).status, 200);
});

test('lock: an officer locks a user at once', async () => {
  assert.equal((await asOfficer('POST', '/v1/users', { username: 'hana', role: 'user', password: 'hana-password-1' })).status, 201);
  const asHana = await srv.login('hana', 'hana-password-1');
  assert.equal((await asOfficer('POST', '/v1/users/hana/lock', {})).status, 200);
  assert.equal((await asHana('GET', '/v1/keys')).status, 401);
});
