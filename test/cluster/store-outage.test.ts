// The database goes away and comes back under running nodes (real PostgreSQL stopped with
// pg_ctl, then started again): crypto is refused with a clear, retryable STORE_UNAVAILABLE rather
// than served from a cache nobody can check; liveness, readiness (503) and metrics still answer;
// each node comes back by itself, keys and sessions intact, and sees the other's changes again.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { CreateKeyCommand, DisableKeyCommand, EncryptCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { call, initCluster, kmsClient, kmsUser, login, OFFICER, sleep, startNode, stopNodes, type Node } from './cluster-helpers';

let pg: TestPostgres;
let a: Node;
let b: Node;
let kmsA: KMSClient;
let kmsB: KMSClient;

before(async () => {
  pg = await startPostgres();
  [a, b] = await Promise.all([startNode(pg.url, 'node-a'), startNode(pg.url, 'node-b')]);
  await initCluster([a, b]);
  const key = await kmsUser(await login(a.url, OFFICER.username, OFFICER.password), 'alice');
  kmsA = kmsClient(a.url, key);
  kmsB = kmsClient(b.url, key);
});

after(async () => {
  kmsA?.destroy();
  kmsB?.destroy();
  await stopNodes([a, b]);
  await pg?.stop();
});

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 20_000): Promise<number> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    if (await fn().catch(() => false)) return Date.now() - start;
    await sleep(100);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

test('database down: crypto refused with STORE_UNAVAILABLE (not INTERNAL), readyz 503, healthz and metrics answer; back by itself', async (t) => {
  const signKey = (await kmsA.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
  const sign = (kms: KMSClient) => kms.send(new SignCommand({ KeyId: signKey, Message: Buffer.from('m'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
  await sign(kmsB);
  const officerA = await login(a.url, OFFICER.username, OFFICER.password);

  await pg.down();
  for (const [n, kms] of [[a, kmsA], [b, kmsB]] as const) {
    // A key in the node's cache is not used while nobody can say whether it was revoked meanwhile.
    await assert.rejects(sign(kms), (e: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(e.name, 'KMSInternalException');
      assert.match(e.message, /key store \(database\) cannot be reached/);
      return true;
    });
    const ready = await call(n.url, 'GET', '/readyz');
    assert.equal(ready.status, 503);
    assert.match(ready.body.reason, /store cannot be read/);
    assert.equal((await call(n.url, 'GET', '/healthz')).status, 200);
    assert.equal((await fetch(`${n.url}/metrics`)).status, 200);
  }
  const keys = await officerA('GET', '/v1/users');
  assert.equal(keys.status, 503);
  assert.equal(keys.body.error.code, 'STORE_UNAVAILABLE');
  // The node log names the store, never a password (the test URL has none) and says what failed.
  await sleep(1_000);
  assert.match(a.stderr(), /cluster heartbeat failed: the store is unreachable/);

  await pg.up();
  const back = await until('node A serves again', async () => { await sign(kmsA); return true; });
  await until('node B serves again', async () => { await sign(kmsB); return true; });
  await until('readyz 200 on both', async () => (await call(a.url, 'GET', '/readyz')).status === 200 && (await call(b.url, 'GET', '/readyz')).status === 200);
  t.diagnostic(`first successful Sign on node A ${back} ms after the database was up`);
  // The officer's session survived the outage (sessions live in the node), and a change on one
  // node is again in force on the other at once.
  assert.equal((await officerA('GET', '/v1/users')).status, 200);
  await kmsA.send(new DisableKeyCommand({ KeyId: signKey }));
  await assert.rejects(sign(kmsB), (e: Error) => e.name === 'DisabledException');
  await until('heartbeat recovered', async () => /the store is reachable again/.test(a.stderr()));
});

test('a node cannot start while the database is unreachable, and says which store', async () => {
  await pg.down();
  try {
    await assert.rejects(startNode(pg.url, 'node-x'), /PostgreSQL store inkan@\[.*\].*(unreachable|unavailable)/);
  } finally { await pg.up(); }
  // The running nodes come back after this second outage as well.
  await until('node A serves again', async () => { await kmsA.send(new EncryptCommand({ KeyId: (await kmsA.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!, Plaintext: Buffer.from('x') })); return true; });
});
