// Use limits across a cluster: two real `inkan serve` nodes on one real PostgreSQL. A key made
// through the admin API with limits.maxUses 6 is used by 8 concurrent requests on each node —
// admin API signatures and AWS SDK KMS Sign calls mixed — and exactly 6 succeed, cluster-wide;
// `GET /v1/keys/:ref` (what `inkan key show` prints) shows 6/6 on both nodes. A key with its own
// PIN signs through the admin API with the X-Inkan-Key-Pin header only, and the KMS face refuses
// it with its documented error. Signatures are checked with node:crypto on the public key.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { call, initCluster, kmsClient, kmsUser, login, OFFICER, startNode, stopNodes, type Node } from '../cluster/cluster-helpers';

let pg: TestPostgres;
let a: Node;
let b: Node;
let userA: Awaited<ReturnType<typeof login>>;
let userB: Awaited<ReturnType<typeof login>>;
let kmsA: KMSClient;
let kmsB: KMSClient;
let token: string;

before(async () => {
  pg = await startPostgres();
  [a, b] = await Promise.all([startNode(pg.url, 'node-a'), startNode(pg.url, 'node-b')]);
  await initCluster([a, b]);
  const officer = await login(a.url, OFFICER.username, OFFICER.password);
  const key = await kmsUser(officer, 'alice');
  kmsA = kmsClient(a.url, key);
  kmsB = kmsClient(b.url, key);
  userA = await login(a.url, 'alice', 'user-password-1');
  userB = await login(b.url, 'alice', 'user-password-1');
  token = (await call(a.url, 'POST', '/v1/login', { username: 'alice', password: 'user-password-1' })).body.token;
});

after(async () => {
  kmsA?.destroy();
  kmsB?.destroy();
  await stopNodes([a, b]);
  await pg?.stop();
});

const publicKey = async (id: string) => crypto.createPublicKey((await userA('GET', `/v1/keys/${id}/public`)).body.pem);

test('a key with 6 uses, 16 concurrent uses on two nodes through the admin API and KMS: exactly 6 succeed', async () => {
  const made = await userA('POST', '/v1/keys', { type: 'ec', curve: 'P-256', label: 'cluster-limited', limits: { maxUses: 6 } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = made.body.key.id as string;
  assert.deepEqual(made.body.key.limits, { maxUses: 6, uses: 0, alwaysAuthenticate: false, keyPin: false });
  const pub = await publicKey(id);
  const msg = Buffer.from('cluster message');
  const attempts = Array.from({ length: 16 }, async (_, i) => {
    if (i % 4 === 3) {
      // The KMS face, through the AWS SDK, on either node.
      try {
        const r = await (i % 8 === 3 ? kmsA : kmsB).send(new SignCommand({ KeyId: id, Message: msg, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
        return { ok: true, sig: Buffer.from(r.Signature!) };
      } catch (err) { return { ok: false, code: (err as { name?: string }).name }; }
    }
    const r = await (i % 2 ? userB : userA)('POST', `/v1/keys/${id}/sign`, { data: msg.toString('base64') });
    return r.status === 200 ? { ok: true, sig: Buffer.from(r.body.signature, 'base64') } : { ok: false, code: r.body.error?.code };
  });
  const results = await Promise.all(attempts);
  const ok = results.filter((r) => r.ok);
  assert.equal(ok.length, 6, JSON.stringify(results.map((r) => r.ok || r.code)));
  for (const r of ok) assert.equal(crypto.verify('sha256', msg, pub, r.sig!), true);
  for (const r of results.filter((x) => !x.ok)) assert.ok(['KEY_USES_EXHAUSTED', 'KMSInvalidStateException'].includes(r.code!), r.code);
  for (const who of [userA, userB]) assert.deepEqual((await who('GET', `/v1/keys/${id}`)).body.key.limits.uses, 6);
});

test('a key PIN: the admin API signs with X-Inkan-Key-Pin only; the KMS face refuses the key clearly', async () => {
  const made = await userA('POST', '/v1/keys', { type: 'ec', curve: 'P-256', label: 'pin-key', keyPin: 'key-pin-456' });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const id = made.body.key.id as string;
  assert.equal(made.body.key.limits.keyPin, true);
  const msg = Buffer.from('pin message');
  const sign = (pin?: string) => fetch(`${a.url}/v1/keys/${id}/sign`, {
    method: 'POST', body: JSON.stringify({ data: msg.toString('base64') }),
    headers: { authorization: `Bearer ${token}`, ...(pin ? { 'x-inkan-key-pin': pin } : {}) },
  }).then(async (r) => ({ status: r.status, body: await r.json() as any }));
  const none = await sign();
  assert.deepEqual([none.status, none.body.error.code], [401, 'KEY_AUTH_REQUIRED']);
  const wrong = await sign('not-the-pin');
  assert.deepEqual([wrong.status, wrong.body.error.code], [401, 'KEY_PIN_INCORRECT']);
  const right = await sign('key-pin-456');
  assert.equal(right.status, 200);
  assert.equal(crypto.verify('sha256', msg, await publicKey(id), Buffer.from(right.body.signature, 'base64')), true);
  await assert.rejects(kmsA.send(new SignCommand({ KeyId: id, Message: msg, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' })),
    (err: { name?: string; message?: string }) => err.name === 'UnsupportedOperationException' && /own authentication/.test(err.message ?? ''));
  // The PIN reached neither node's audit trail.
  const audit = await pg.admin<{ body: string }>('SELECT body FROM audit', [], 'inkan');
  assert.ok(audit.length > 0 && !audit.some((r) => r.body.includes('key-pin-456') || r.body.includes('not-the-pin')));
});
