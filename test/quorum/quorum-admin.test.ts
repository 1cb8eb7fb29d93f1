// Quorum (M of N) through the admin API: values, personal keys, a 2-of-3 user creation end to
// end, and every refusal — under-signed, self-approved, signed twice by one officer, a bad
// signature, altered arguments, reuse (also two uses at once: exactly one wins), expiry, a token
// used by someone else, signed by a since-locked officer, a value above the officers able to
// approve — each with its own code and each in the audit trail.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fromCanonical } from '../../src/audit-chain/chain';
import { devServer, type TestServer } from '../helpers/harness';
import { approve, type Approver, type Call, isError, keyPair, session, signView } from './helpers';

let srv: TestServer;
let o1: Approver;
let o2: Approver;
let o3: Approver;
const PW = 'officer-password-9';

async function request(a: Approver, operation: string, args: Record<string, unknown>, ttlSeconds?: number): Promise<string> {
  const r = await a.call('POST', '/v1/quorum/tokens', { operation, args, ...(ttlSeconds ? { ttlSeconds } : {}) });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return r.body.body.id as string;
}

before(async () => {
  srv = await devServer();
  const c = srv.credentials!.officer;
  const k1 = keyPair('ed25519');
  o1 = { name: c.username, call: await session(srv, c.username, c.password), ...k1 };
  assert.equal((await o1.call('POST', `/v1/users/${c.username}/signing-key`, { publicKey: k1.publicPem })).status, 200);
  // o2's key registered at creation (Ed25519); o3 registers its own P-256 key afterwards.
  const k2 = keyPair('ed25519');
  const made = await o1.call('POST', '/v1/users', { username: 'o2', role: 'officer', password: PW, publicKey: k2.publicPem });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.match(made.body.signingKey.fingerprint, /^[0-9a-f]{64}$/);
  assert.equal((await o1.call('POST', '/v1/users', { username: 'o3', role: 'officer', password: PW })).status, 201);
  o2 = { name: 'o2', call: await session(srv, 'o2', PW), ...k2 };
  const k3 = keyPair('p256');
  o3 = { name: 'o3', call: await session(srv, 'o3', PW), ...k3 };
  assert.equal((await o3.call('POST', '/v1/users/o3/signing-key', { publicKey: k3.publicPem })).status, 200);
});
after(async () => { await srv.close(); });

test('quorum values: shown, set by an officer, never above the officers able to approve', async () => {
  assert.deepEqual((await o1.call('GET', '/v1/quorum')).body.values['user-management'], 1);
  isError(await o1.call('POST', '/v1/quorum/values', { service: 'user-management', value: 4 }), 'QUORUM_VALUE_TOO_HIGH');
  isError(await o1.call('POST', '/v1/quorum/values', { service: 'no-such-service', value: 2 }), 'BAD_REQUEST');
  const user = await session(srv, srv.credentials!.user.username, srv.credentials!.user.password);
  isError(await user('POST', '/v1/quorum/values', { service: 'user-management', value: 2 }), 'FORBIDDEN');
  const set = await o1.call('POST', '/v1/quorum/values', { service: 'user-management', value: 2 });
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.equal(set.body.values['user-management'], 2);
});

test('a private key is refused as a signing key; only Ed25519 and P-256 public keys register', async () => {
  const k = keyPair('ed25519');
  const pem = k.privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  isError(await o1.call('POST', '/v1/users', { username: 'x1', role: 'user', password: PW, publicKey: pem }), 'SIGNING_KEY_INVALID');
  isError(await o1.call('POST', '/v1/users', { username: 'x1', role: 'user', password: PW, publicKey: 'not a key' }), 'SIGNING_KEY_INVALID');
  // Replacing one's own key is user management: it needs the quorum now.
  isError(await o2.call('POST', '/v1/users/o2/signing-key', { publicKey: k.publicPem }), 'QUORUM_TOKEN_REQUIRED');
});

test('2 of 3: a user is created only with a token approved by a second officer, and used once', async () => {
  isError(await o1.call('POST', '/v1/users', { username: 'alice', role: 'user', password: PW }), 'QUORUM_TOKEN_REQUIRED');
  const id = await request(o1, 'user.create', { username: 'alice', role: 'user' });
  const shown = await o2.call('GET', `/v1/quorum/tokens/${id}`);
  assert.deepEqual(shown.body.body.args, { username: 'alice', role: 'user' });
  assert.equal(shown.body.body.requester.username, o1.name);
  assert.equal(shown.body.required, 2);
  assert.ok(Date.parse(shown.body.body.expires) > Date.now());
  isError(await o1.call('POST', '/v1/users', { username: 'alice', role: 'user', password: PW }, id), 'QUORUM_UNDER_SIGNED');
  const ok = await approve(o2, id);
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.count, 2);
  const made = await o1.call('POST', '/v1/users', { username: 'alice', role: 'user', password: PW }, id);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  await session(srv, 'alice', PW); // alice exists and logs in
  isError(await o1.call('POST', '/v1/users', { username: 'alice2', role: 'user', password: PW }, id), 'QUORUM_TOKEN_USED');
  isError(await o1.call('DELETE', '/v1/users/alice', undefined, id), 'QUORUM_TOKEN_USED');
  const again = await request(o1, 'user.create', { username: 'alice', role: 'user' });
  await approve(o3, again);
  isError(await o1.call('POST', '/v1/users', { username: 'alice', role: 'user', password: PW }, again), 'USER_EXISTS');
  isError(await o1.call('POST', '/v1/users', { username: 'alice', role: 'user', password: PW }, again), 'QUORUM_TOKEN_USED');
});

test('altered arguments are refused; the unaltered operation then succeeds with the same token', async () => {
  const id = await request(o1, 'user.create', { username: 'bob', role: 'user' });
  await approve(o2, id);
  isError(await o1.call('POST', '/v1/users', { username: 'bob', role: 'officer', password: PW }, id), 'QUORUM_TOKEN_MISMATCH');
  isError(await o1.call('POST', '/v1/users', { username: 'mallory', role: 'user', password: PW }, id), 'QUORUM_TOKEN_MISMATCH');
  assert.equal((await o1.call('POST', '/v1/users', { username: 'bob', role: 'user', password: PW }, id)).status, 201);
  isError(await o1.call('POST', '/v1/users', { username: 'bob', role: 'user', password: PW }, id), 'QUORUM_TOKEN_USED');
});

test('the requester counts once: it cannot approve its own token; an officer cannot approve twice', async () => {
  const id = await request(o1, 'user.delete', { username: 'bob' });
  isError(await approve(o1, id), 'QUORUM_SELF_APPROVAL');
  assert.equal((await approve(o2, id)).status, 200);
  isError(await approve(o2, id), 'QUORUM_DUPLICATE_APPROVAL');
  const view = (await o1.call('GET', `/v1/quorum/tokens/${id}`)).body;
  assert.equal(view.count, 2);
  assert.deepEqual(view.approvals.map((a: { username: string }) => a.username), ['o2']);
});

test('a bad signature is refused: another officer\'s key, other bytes, garbage', async () => {
  const id = await request(o1, 'user.unlock', { username: 'bob' });
  const view = (await o2.call('GET', `/v1/quorum/tokens/${id}`)).body;
  isError(await o2.call('POST', `/v1/quorum/tokens/${id}/approve`, { signature: signView(view, o3.privateKey) }), 'QUORUM_SIGNATURE_INVALID');
  const other = await request(o1, 'user.unlock', { username: 'alice' });
  const otherView = (await o2.call('GET', `/v1/quorum/tokens/${other}`)).body;
  isError(await o2.call('POST', `/v1/quorum/tokens/${id}/approve`, { signature: signView(otherView, o2.privateKey) }), 'QUORUM_SIGNATURE_INVALID');
  isError(await o2.call('POST', `/v1/quorum/tokens/${id}/approve`, { signature: 'AAAA' }), 'QUORUM_SIGNATURE_INVALID');
  isError(await o2.call('POST', `/v1/quorum/tokens/${id}/approve`, { signature: '%%%' }), 'QUORUM_SIGNATURE_INVALID');
  assert.equal((await o2.call('GET', `/v1/quorum/tokens/${id}`)).body.count, 1, 'no refused approval counted');
});

test('only the requester uses its token; an expired token is refused', async () => {
  const id = await request(o1, 'user.unlock', { username: 'alice' });
  await approve(o2, id);
  isError(await o3.call('POST', '/v1/users/alice/unlock', {}, id), 'QUORUM_NOT_REQUESTER');
  const short = await request(o1, 'user.unlock', { username: 'alice' }, 1);
  await approve(o3, short);
  await new Promise((r) => setTimeout(r, 1100));
  isError(await o1.call('POST', '/v1/users/alice/unlock', {}, short), 'QUORUM_TOKEN_EXPIRED');
  isError(await approve(o2, short), 'QUORUM_TOKEN_EXPIRED');
  isError(await o1.call('POST', '/v1/users/alice/unlock', {}, '00000000-0000-0000-0000-000000000000'), 'QUORUM_TOKEN_NOT_FOUND');
  isError(await o1.call('POST', '/v1/users/alice/unlock', {}, 'not-a-token'), 'QUORUM_TOKEN_NOT_FOUND');
  assert.equal((await o1.call('POST', '/v1/users/alice/unlock', {}, id)).status, 200);
});

test('two uses of one token at once: exactly one succeeds', async () => {
  const id = await request(o1, 'user.unlock', { username: 'alice' });
  await approve(o3, id);
  const results = await Promise.all(Array.from({ length: 6 }, () => o1.call('POST', '/v1/users/alice/unlock', {}, id)));
  assert.equal(results.filter((r) => r.status === 200).length, 1, JSON.stringify(results.map((r) => r.body)));
  for (const r of results.filter((x) => x.status !== 200)) isError(r, 'QUORUM_TOKEN_USED');
});

test('zeroise, the policy and the quorum values themselves are gated the same way', async () => {
  for (const service of ['zeroise', 'audit-policy', 'quorum']) {
    assert.equal((await o1.call('POST', '/v1/quorum/values', { service, value: 2 })).status, 200, service);
  }
  isError(await o1.call('POST', '/v1/zeroize', { confirm: 'ZEROIZE', confirmAgain: 'ZEROIZE' }), 'QUORUM_TOKEN_REQUIRED');
  isError(await o1.call('POST', '/v1/policy', { maxObjectsPerUser: 500 }), 'QUORUM_TOKEN_REQUIRED');
  const pol = await request(o1, 'policy.set', { maxObjectsPerUser: '500' });
  await approve(o3, pol);
  isError(await o1.call('POST', '/v1/policy', { maxObjectsPerUser: 501 }, pol), 'QUORUM_TOKEN_MISMATCH');
  const set = await o1.call('POST', '/v1/policy', { maxObjectsPerUser: 500 }, pol);
  assert.equal(set.status, 200, JSON.stringify(set.body));
  assert.equal(set.body.maxObjectsPerUser, 500);
  // Lowering a value is itself under the quorum service's value.
  isError(await o1.call('POST', '/v1/quorum/values', { service: 'zeroise', value: 1 }), 'QUORUM_TOKEN_REQUIRED');
  const q = await request(o1, 'quorum.set', { service: 'zeroise', value: 1 });
  await approve(o2, q);
  assert.equal((await o1.call('POST', '/v1/quorum/values', { service: 'zeroise', value: 1 }, q)).status, 200);
  const q2 = await request(o1, 'quorum.set', { service: 'quorum', value: 1 });
  await approve(o2, q2);
  assert.equal((await o1.call('POST', '/v1/quorum/values', { service: 'quorum', value: 1 }, q2)).status, 200);
  // A crypto user may not ask for an admin token.
  const user = await session(srv, srv.credentials!.user.username, srv.credentials!.user.password);
  isError(await user('POST', '/v1/quorum/tokens', { operation: 'user.create', args: { username: 'x', role: 'user' } }), 'FORBIDDEN');
  isError(await o1.call('POST', '/v1/quorum/tokens', { operation: 'module.format', args: {} }), 'BAD_REQUEST');
  isError(await o1.call('POST', '/v1/quorum/tokens', { operation: 'user.create', args: { username: 'x' } }), 'BAD_REQUEST');
});

test('partition management and role changes are gated: create, resize and delete a partition, change a role', async () => {
  assert.equal((await o1.call('POST', '/v1/quorum/values', { service: 'partition-management', value: 2 })).status, 200);
  const body = { name: 'dnssec', officer: { username: 'dso', password: PW }, maxObjects: 50 };
  isError(await o1.call('POST', '/v1/partitions', body), 'QUORUM_TOKEN_REQUIRED');
  const mk = await request(o1, 'partition.create', { name: 'dnssec', officer: 'dso', 'max-objects': 50 });
  await approve(o2, mk);
  isError(await o1.call('POST', '/v1/partitions', { ...body, maxObjects: 5000 }, mk), 'QUORUM_TOKEN_MISMATCH');
  isError(await o1.call('POST', '/v1/partitions', { ...body, officer: { username: 'eve', password: PW } }, mk), 'QUORUM_TOKEN_MISMATCH');
  const made = await o1.call('POST', '/v1/partitions', body, mk);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  isError(await o1.call('PATCH', '/v1/partitions/dnssec', { maxObjects: 80 }), 'QUORUM_TOKEN_REQUIRED');
  const rs = await request(o1, 'partition.update', { name: 'dnssec', 'max-objects': 80 });
  await approve(o3, rs);
  assert.equal((await o1.call('PATCH', '/v1/partitions/dnssec', { maxObjects: 80 }, rs)).status, 200);
  isError(await o1.call('DELETE', '/v1/partitions/dnssec'), 'QUORUM_TOKEN_REQUIRED');
  const del = await request(o1, 'partition.delete', { name: 'dnssec' });
  await approve(o2, del);
  isError(await o1.call('DELETE', '/v1/partitions/default', undefined, del), 'QUORUM_TOKEN_MISMATCH');
  assert.equal((await o1.call('DELETE', '/v1/partitions/dnssec', undefined, del)).status, 200);
  // A role change is user management (user-management is 2 since the first test).
  const u = srv.credentials!.user.username;
  isError(await o1.call('POST', `/v1/users/${u}/role`, { role: 'officer' }), 'QUORUM_TOKEN_REQUIRED');
  const role = await request(o1, 'user.role', { username: u, role: 'auditor' });
  await approve(o2, role);
  isError(await o1.call('POST', `/v1/users/${u}/role`, { role: 'officer' }, role), 'QUORUM_TOKEN_MISMATCH');
  assert.equal((await o1.call('POST', `/v1/users/${u}/role`, { role: 'auditor' }, role)).status, 200);
  const back = await request(o1, 'user.role', { username: u, role: 'user' });
  await approve(o3, back);
  assert.equal((await o1.call('POST', `/v1/users/${u}/role`, { role: 'user' }, back)).status, 200);
  assert.equal((await o1.call('POST', '/v1/quorum/values', { service: 'partition-management', value: 1 })).status, 200);
});

test('an approval by an officer locked since no longer counts', async () => {
  const id = await request(o1, 'user.unlock', { username: 'bob' });
  await approve(o3, id);
  // Locking o3 is user management too: o2 approves it.
  const lock = await request(o1, 'user.lock', { username: 'o3' });
  await approve(o2, lock);
  assert.equal((await o1.call('POST', '/v1/users/o3/lock', {}, lock)).status, 200);
  isError(await o1.call('POST', '/v1/users/bob/unlock', {}, id), 'QUORUM_APPROVER_INVALID');
  // With only two unlocked officers left, a quorum of 2 may stay but o2 cannot be locked too.
  const lock2 = await request(o1, 'user.lock', { username: 'o2' });
  isError(await o1.call('POST', '/v1/users/o2/lock', {}, lock2), 'QUORUM_VALUE_TOO_HIGH');
  isError(await o1.call('POST', '/v1/quorum/values', { service: 'zeroise', value: 3 }, await request(o1, 'quorum.set', { service: 'zeroise', value: 3 })), 'QUORUM_VALUE_TOO_HIGH');
});

test('every request, approval, use and refusal is in the audit trail, without secrets', async () => {
  const records = (await srv.hsm.store.audit.list(srv.hsm.node, 1, 100_000)).map((r) => fromCanonical(r.body) as unknown as Record<string, unknown>);
  const q = records.filter((r) => String(r.op).startsWith('quorum.'));
  const has = (op: string, outcome: string, code?: string) => q.some((r) => r.op === op && r.outcome === outcome && (code === undefined || r.code === code));
  assert.ok(has('quorum.request', 'success'));
  assert.ok(has('quorum.approve', 'success'));
  assert.ok(has('quorum.use', 'success'));
  for (const code of ['QUORUM_SELF_APPROVAL', 'QUORUM_DUPLICATE_APPROVAL', 'QUORUM_SIGNATURE_INVALID', 'QUORUM_TOKEN_EXPIRED']) assert.ok(has('quorum.approve', 'failure', code), code);
  for (const code of ['QUORUM_TOKEN_REQUIRED', 'QUORUM_UNDER_SIGNED', 'QUORUM_TOKEN_MISMATCH', 'QUORUM_TOKEN_USED', 'QUORUM_NOT_REQUESTER', 'QUORUM_TOKEN_EXPIRED', 'QUORUM_APPROVER_INVALID']) {
    assert.ok(has('quorum.use', 'failure', code), code);
  }
  const use = q.find((r) => r.op === 'quorum.use' && r.outcome === 'success' && String(r.detail).includes('alice'));
  assert.match(String(use?.detail), /with 2 of 2/);
  assert.ok(!JSON.stringify(records).includes(PW), 'no password in the audit trail');
});

export type { Call };
