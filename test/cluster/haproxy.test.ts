// Failover behind a real HAProxy (Debian's, configured from docs/haproxy.cfg): three real nodes on
// one real PostgreSQL, a mixed KMS load through HAProxy with the AWS SDK's standard retries, one
// node killed with SIGKILL in the middle of it and started again. Counted afterwards: requests
// that failed beyond the retries (0), acknowledged keys missing (0), keys that do not sign or
// decrypt (0), and the audit chains of all three nodes verify offline with `inkan audit verify`.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CreateKeyCommand, DecryptCommand, DescribeKeyCommand, GenerateDataKeyCommand, GetPublicKeyCommand, SignCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { tempDir } from '../helpers/harness';
import { inkan } from '../cli/cli-helpers';
import { call, initCluster, kmsClient, kmsUser, login, OFFICER, sleep, startNode, stopNodes, unseal, type Node } from './cluster-helpers';
import { checkConfig, configFor, SAMPLE, startHaproxy, waitServers, type Haproxy } from './haproxy-helper';

let pg: TestPostgres;
let nodes: Node[] = [];
let shares: string[];
let lb: Haproxy;
let key: { accessKeyId: string; secretAccessKey: string };
let officer: Awaited<ReturnType<typeof login>>;

const portOf = (n: Node) => Number(new URL(n.url).port);

before(async () => {
  pg = await startPostgres();
  nodes = await Promise.all(['node-a', 'node-b', 'node-c'].map((name) => startNode(pg.url, name)));
  shares = await initCluster(nodes);
  officer = await login(nodes[0].url, OFFICER.username, OFFICER.password);
  key = await kmsUser(officer, 'alice');
  lb = await startHaproxy(Object.fromEntries(nodes.map((n) => [n.name, portOf(n)])));
  await waitServers(lb, { 'node-a': true, 'node-b': true, 'node-c': true });
});

after(async () => {
  await lb?.stop();
  await stopNodes(nodes);
  await pg?.stop();
});

test('the sample docs/haproxy.cfg is valid for haproxy -c, as shipped and as the tests run it', async () => {
  await checkConfig(SAMPLE);
  const dir = tempDir('inkan-haproxy-cfg-');
  try {
    const file = path.join(dir, 'haproxy.cfg');
    fs.writeFileSync(file, configFor(7650, { a: 7651 }, path.join(dir, 's.sock')));
    await checkConfig(file);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('readyz: HAProxy takes a sealed node out and puts it back once unsealed', async () => {
  // Sealing one node: its readyz answers 503, HAProxy stops sending it anything.
  const onC = await login(nodes[2].url, OFFICER.username, OFFICER.password);
  assert.equal((await onC('POST', '/v1/seal', {})).status, 200);
  const r = await call(nodes[2].url, 'GET', '/readyz');
  assert.equal(r.status, 503);
  assert.match(r.body.reason, /sealed/);
  await waitServers(lb, { 'node-a': true, 'node-b': true, 'node-c': false });
  await unseal(nodes[2].url, shares);
  await waitServers(lb, { 'node-a': true, 'node-b': true, 'node-c': true });
});

test('kill -9 of a node under a mixed KMS load through HAProxy: no failed request beyond retries, no acknowledged key lost', async (t) => {
  const clients: KMSClient[] = Array.from({ length: 6 }, () => kmsClient(lb.url, key, 3));
  const signKey = (await clients[0].send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
  const aesKey = (await clients[0].send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const created: string[] = [];
  const failures: string[] = [];
  const counts = { create: 0, sign: 0, datakey: 0 };
  const signatures: { msg: Buffer; sig: Buffer }[] = [];
  let stop = false;
  let sdkRetries = 0;
  const attempts = <R extends { $metadata: { attempts?: number } }>(r: R): R => { sdkRetries += Math.max(0, (r.$metadata.attempts ?? 1) - 1); return r; };
  const worker = async (kms: KMSClient, w: number) => {
    for (let i = 0; !stop; i++) {
      const op = (i + w) % 3;
      try {
        if (op === 0) {
          const r = attempts(await kms.send(new CreateKeyCommand({ Description: `load ${w}-${i}` })));
          created.push(r.KeyMetadata!.KeyId!);
          counts.create++;
        } else if (op === 1) {
          const msg = Buffer.from(`load ${w}-${i}`);
          const r = attempts(await kms.send(new SignCommand({ KeyId: signKey, Message: msg, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' })));
          if (signatures.length < 50) signatures.push({ msg, sig: Buffer.from(r.Signature!) });
          counts.sign++;
        } else {
          const dk = attempts(await kms.send(new GenerateDataKeyCommand({ KeyId: aesKey, KeySpec: 'AES_256' })));
          const pt = attempts(await kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob })));
          assert.deepEqual(Buffer.from(pt.Plaintext!), Buffer.from(dk.Plaintext!));
          counts.datakey++;
        }
      } catch (err) {
        failures.push(`${['CreateKey', 'Sign', 'GenerateDataKey/Decrypt'][op]}: ${(err as Error).name}: ${(err as Error).message}`);
      }
    }
  };
  const load = clients.map((c, w) => worker(c, w));
  try {
    await sleep(1_000);
    const victim = nodes[1];
    victim.kill9();
    await victim.exited;
    await sleep(1_500);
    // Started again on the same port and data directory: sealed (out of HAProxy) until given the shares.
    nodes[1] = await startNode(pg.url, 'node-b', { dir: victim.dir, port: portOf(victim) });
    await unseal(nodes[1].url, shares);
    await waitServers(lb, { 'node-a': true, 'node-b': true, 'node-c': true }).catch(async (err) => {
      throw new Error(`${(err as Error).message}; node-b: ${JSON.stringify((await call(nodes[1].url, 'GET', '/readyz')).body)} `
        + `${JSON.stringify((await call(nodes[1].url, 'GET', '/v1/status')).body)}`);
    });
    await sleep(1_000);
  } finally {
    stop = true;
    await Promise.all(load);
  }
  const retried = await lb.retries();
  t.diagnostic(`load: ${JSON.stringify(counts)}, HAProxy retries and redispatches: ${retried}, SDK retries: ${sdkRetries}`);
  try {
    // The kill hit requests in flight or on their way: somebody had to retry them.
    assert.ok(retried + sdkRetries > 0, 'the kill cost requests that were retried');
    assert.deepEqual(failures, [], 'no request failed beyond HAProxy\'s and the SDK\'s retries');
    assert.ok(counts.create > 10 && counts.sign > 10 && counts.datakey > 10, `a real load ran: ${JSON.stringify(counts)}`);
    // Every acknowledged key exists and works, asked through HAProxy (any node).
    for (const id of created) {
      const d = await clients[0].send(new DescribeKeyCommand({ KeyId: id }));
      assert.equal(d.KeyMetadata!.KeyState, 'Enabled');
    }
    const pub = await clients[0].send(new GetPublicKeyCommand({ KeyId: signKey }));
    const pk = crypto.createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
    for (const s of signatures) assert.ok(crypto.verify('sha256', s.msg, pk, s.sig));
    // The killed node's restart found its chain where it left it (no tamper alarm), and serves.
    const st = await call(nodes[1].url, 'GET', '/v1/status');
    assert.equal(st.body.state, 'unsealed', JSON.stringify(st.body));
  } finally { for (const c of clients) c.destroy(); }
});

test('after the failover every node\'s audit chain verifies offline with inkan audit verify', async () => {
  assert.equal((await officer('POST', '/v1/users', { username: 'auditor', role: 'auditor', password: 'auditor-password-1' })).status, 201);
  const dir = tempDir('inkan-audit-');
  try {
    const env = { INKAN_SERVER: nodes[0].url, INKAN_USER: 'auditor', INKAN_PASSWORD: 'auditor-password-1' };
    const exp = await inkan(['audit', 'export', '-o', path.join(dir, 'audit.ndjson')], env);
    assert.equal(exp.code, 0, exp.err);
    const pk = await inkan(['audit', 'public-key', '-o', path.join(dir, 'audit.pem')], env);
    assert.equal(pk.code, 0, pk.err);
    const v = await inkan(['--json', 'audit', 'verify', path.join(dir, 'audit.ndjson'), '--public-key', path.join(dir, 'audit.pem')], {});
    assert.equal(v.code, 0, v.out + v.err);
    const report = JSON.parse(v.out) as { ok: boolean; chains: { chain: string; records: number }[] };
    assert.equal(report.ok, true);
    assert.deepEqual(report.chains.map((c) => c.chain).sort(), ['node-a', 'node-b', 'node-c']);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
