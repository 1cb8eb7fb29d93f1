// Active/active: real `inkan serve` processes on one real PostgreSQL. Nodes start at once on an
// empty database (one schema, no race), are unsealed with the same shares, and every change made
// on one node (a key created, disabled or scheduled for deletion; a user locked; a password
// changed) is in force on the other as soon as the first has answered. Results are checked with
// node:crypto on the public key, not with the code that produced them.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EncryptCommand, GetPublicKeyCommand, ScheduleKeyDeletionCommand, SignCommand,
  UpdateKeyDescriptionCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { tempDir } from '../helpers/harness';
import { MAX_BACKUP_HEADER } from '../../src/core/backup';
import { inkan } from '../cli/cli-helpers';
import { call, initCluster, kmsClient, kmsUser, login, OFFICER, startNode, stopNodes, unseal, type Node } from './cluster-helpers';

let pg: TestPostgres;
let a: Node;
let b: Node;
let shares: string[];
let officerA: Awaited<ReturnType<typeof login>>;
let kmsA: KMSClient;
let kmsB: KMSClient;

before(async () => {
  pg = await startPostgres();
  // Both at once on an empty database: the schema is created once, under the advisory lock.
  [a, b] = await Promise.all([startNode(pg.url, 'node-a'), startNode(pg.url, 'node-b')]);
  shares = await initCluster([a, b]);
  officerA = await login(a.url, OFFICER.username, OFFICER.password);
  const key = await kmsUser(officerA, 'alice');
  kmsA = kmsClient(a.url, key);
  kmsB = kmsClient(b.url, key);
});

after(async () => {
  kmsA?.destroy();
  kmsB?.destroy();
  await stopNodes([a, b]);
  await pg?.stop();
});

test('two nodes started at once share one schema; both are unsealed and say they run on PostgreSQL', async () => {
  const version = await pg.admin<{ value: Buffer }>("SELECT value FROM meta WHERE name = 'schema_version'", [], 'inkan');
  assert.equal(version.length, 1);
  for (const n of [a, b]) {
    const s = await call(n.url, 'GET', '/v1/status');
    assert.equal(s.body.state, 'unsealed');
    assert.equal(s.body.keystore, 'postgres');
    assert.equal(s.body.node, n.name);
    assert.equal((await call(n.url, 'GET', '/readyz')).status, 200);
    // Every series names its node, so one Prometheus scraping all nodes can tell them apart.
    const metrics = await (await fetch(`${n.url}/metrics`)).text();
    const series = metrics.split('\n').filter((l) => l && !l.startsWith('#'));
    assert.ok(series.length > 20);
    assert.deepEqual(series.filter((l) => !l.includes(`node="${n.name}"`)), []);
  }
  // Each node writes its own audit chain into the one database.
  const chains = await pg.admin<{ chain: string }>('SELECT DISTINCT chain FROM audit ORDER BY chain', [], 'inkan');
  assert.deepEqual(chains.map((c) => c.chain), ['node-a', 'node-b']);
});

test('a key created on node A signs on node B at once; the signature verifies with node:crypto', async () => {
  for (let i = 0; i < 5; i++) {
    const created = await kmsA.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }));
    const id = created.KeyMetadata!.KeyId!;
    const msg = Buffer.from(`message ${i}`);
    const sig = await kmsB.send(new SignCommand({ KeyId: id, Message: msg, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
    const pub = await kmsA.send(new GetPublicKeyCommand({ KeyId: id }));
    const key = crypto.createPublicKey({ key: Buffer.from(pub.PublicKey!), format: 'der', type: 'spki' });
    assert.ok(crypto.verify('sha256', msg, key, Buffer.from(sig.Signature!)), 'signature from node B verifies under the key made on node A');
  }
});

test('encrypt on node B, decrypt on node A', async () => {
  const id = (await kmsB.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const ct = await kmsB.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('cluster secret') }));
  const pt = await kmsA.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }));
  assert.equal(Buffer.from(pt.Plaintext!).toString(), 'cluster secret');
});

test('a key disabled on node A is refused on node B for every request sent after A answered (raced)', async () => {
  const id = (await kmsA.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
  const sign = () => kmsB.send(new SignCommand({ KeyId: id, Message: Buffer.from('x'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
  await sign(); // usable on B before
  let ackAt = Infinity;
  let stop = false;
  const uses: { sentAt: number; ok: boolean; code?: string }[] = [];
  // Four loops of uses on node B while node A disables the key.
  const loops = Array.from({ length: 4 }, async () => {
    while (!stop) {
      const sentAt = performance.now();
      try { await sign(); uses.push({ sentAt, ok: true }); } catch (err) { uses.push({ sentAt, ok: false, code: (err as { name?: string }).name }); }
    }
  });
  await new Promise((r) => setTimeout(r, 150));
  await kmsA.send(new DisableKeyCommand({ KeyId: id }));
  ackAt = performance.now();
  await new Promise((r) => setTimeout(r, 300));
  stop = true;
  await Promise.all(loops);
  const after = uses.filter((u) => u.sentAt > ackAt);
  assert.ok(uses.some((u) => u.ok && u.sentAt < ackAt), 'uses before the change succeeded');
  assert.ok(after.length >= 4, `uses were sent after the acknowledgement (${after.length})`);
  assert.deepEqual(after.filter((u) => u.ok), [], 'no use sent after the acknowledgement was accepted');
  assert.ok(after.every((u) => u.code === 'DisabledException'), `refused as disabled: ${[...new Set(after.map((u) => u.code))].join(',')}`);
});

test('a key scheduled for deletion on node B is refused on node A at once', async () => {
  const id = (await kmsA.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await kmsA.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('a') }));
  await kmsB.send(new ScheduleKeyDeletionCommand({ KeyId: id, PendingWindowInDays: 7 }));
  await assert.rejects(kmsA.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('a') })), (e: Error) => e.name === 'KMSInvalidStateException');
});

test('a user locked on node A: its session and its KMS access key are refused on node B at once; unlocked, it works again', async () => {
  const bob = await kmsUser(officerA, 'bob');
  const bobKms = kmsClient(b.url, bob);
  try {
    const bobOnB = await login(b.url, 'bob', 'user-password-1');
    assert.equal((await bobOnB('GET', '/v1/keys')).status, 200);
    await bobKms.send(new CreateKeyCommand({}));
    assert.equal((await officerA('POST', '/v1/users/bob/lock', {})).status, 200);
    const refused = await bobOnB('GET', '/v1/keys');
    assert.equal(refused.status, 401, JSON.stringify(refused.body));
    await assert.rejects(bobKms.send(new CreateKeyCommand({})));
    assert.equal((await call(b.url, 'POST', '/v1/login', { username: 'bob', password: 'user-password-1' })).body.error.code, 'ACCOUNT_LOCKED');
    assert.equal((await officerA('POST', '/v1/users/bob/unlock', {})).status, 200);
    await bobKms.send(new CreateKeyCommand({}));
  } finally { bobKms.destroy(); }
});

test('a password changed on node B ends the user\'s sessions on node A, and the new password works there', async () => {
  const officerB = await login(b.url, OFFICER.username, OFFICER.password);
  assert.equal((await officerB('POST', '/v1/users', { username: 'carol', role: 'user', password: 'carol-password-1' })).status, 201);
  const carolOnA = await login(a.url, 'carol', 'carol-password-1');
  assert.equal((await carolOnA('GET', '/v1/keys')).status, 200);
  assert.equal((await officerB('POST', '/v1/users/carol/password', { password: 'carol-password-2' })).status, 200);
  assert.equal((await carolOnA('GET', '/v1/keys')).status, 401);
  assert.equal((await call(a.url, 'POST', '/v1/login', { username: 'carol', password: 'carol-password-1' })).status, 401);
  await login(a.url, 'carol', 'carol-password-2');
});

test('failed logins count cluster-wide: guesses spread over both nodes lock the account', async () => {
  assert.equal((await officerA('POST', '/v1/users', { username: 'dave', role: 'user', password: 'dave-password-1' })).status, 201);
  const codes: string[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await call(i % 2 ? b.url : a.url, 'POST', '/v1/login', { username: 'dave', password: `wrong-${i}` });
    codes.push(r.body.error.code);
  }
  assert.equal(codes[codes.length - 1], 'ACCOUNT_LOCKED', codes.join(','));
  for (const n of [a, b]) assert.equal((await call(n.url, 'POST', '/v1/login', { username: 'dave', password: 'dave-password-1' })).body.error.code, 'ACCOUNT_LOCKED');
});

test('a third node joins later, is sealed until given the shares, then serves the keys the others made', async () => {
  const c = await startNode(pg.url, 'node-c');
  try {
    assert.equal((await call(c.url, 'GET', '/v1/status')).body.state, 'sealed');
    assert.equal((await call(c.url, 'GET', '/readyz')).status, 503);
    // Shares of another domain (another database's) do not unseal it, and it says why.
    const other = await startNode(await pg.createDatabase('other_domain'), 'other-1');
    try {
      const foreign = (await call(other.url, 'POST', '/v1/init', { shares: 3, threshold: 2, officerUsername: 'o', officerPassword: 'other-password-1' })).body.shares as string[];
      const refused = await call(c.url, 'POST', '/v1/unseal', { share: foreign[0] });
      assert.equal(refused.status, 400);
      assert.equal(refused.body.error.code, 'SHARE_UNKNOWN');
      assert.equal((await call(c.url, 'GET', '/v1/status')).body.state, 'sealed');
    } finally { await stopNodes([other]); }
    // A sealed node holds no key: a KMS call there is refused.
    const kmsC = kmsClient(c.url, (await kmsUser(officerA, 'erin')));
    try {
      await assert.rejects(kmsC.send(new CreateKeyCommand({})));
      await unseal(c.url, shares.slice(1));
      const id = (await kmsA.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const ct = await kmsA.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('for c') }));
      // erin may not use alice's key: refused on c as on any node.
      await assert.rejects(kmsC.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob })));
      await kmsC.send(new CreateKeyCommand({}));
    } finally { kmsC.destroy(); }
  } finally { await stopNodes([c]); }
});

test('a second process with a node name in use is refused and says why', async () => {
  await assert.rejects(startNode(pg.url, 'node-a'), /node name node-a is in use by a running node/);
  // The refused process wrote nothing under that name: the running node-a is unharmed.
  assert.equal((await call(a.url, 'GET', '/readyz')).status, 200);
  await kmsA.send(new CreateKeyCommand({}));
});

test('inkan cluster status lists every node from the heartbeat rows; a forged row is shown as such; a killed node turns dead', async () => {
  const env = { INKAN_SERVER: b.url, INKAN_USER: OFFICER.username, INKAN_PASSWORD: OFFICER.password };
  const r = await inkan(['--json', 'cluster', 'status'], env);
  assert.equal(r.code, 0, r.out + r.err);
  const st = JSON.parse(r.out) as { keystore: string; leader: string; nodes: { node: string; address: string; alive: boolean; mac: string; self: boolean; state: string; heartbeatAgeMs: number }[] };
  assert.equal(st.keystore, 'postgres');
  const byName = Object.fromEntries(st.nodes.map((n) => [n.node, n]));
  for (const n of [a, b]) {
    assert.equal(byName[n.name].address, n.url);
    assert.equal(byName[n.name].alive, true);
    assert.equal(byName[n.name].mac, 'ok');
    assert.equal(byName[n.name].state, 'unsealed');
    assert.ok(byName[n.name].heartbeatAgeMs < 3_000);
  }
  assert.equal(byName['node-b'].self, true);
  assert.equal(byName['node-a'].self, false);
  assert.equal(st.leader, 'node-a', 'the alive unsealed node with the smallest name leads');
  // The human table names each node.
  const human = await inkan(['cluster', 'status'], env);
  assert.match(human.out, /node-a\s+http:\/\/127\.0\.0\.1:\d+\s+unsealed\s+alive\s+ok/);

  // Someone with database access makes a fake node look alive: the MAC gives it away.
  await pg.admin(`INSERT INTO cluster_nodes (node, instance, address, state, version, started, beat, data, mac)
    SELECT 'node-fake', 'x', 'http://10.9.9.9:7280', state, version, started, beat + 60000, data, mac FROM cluster_nodes WHERE node = 'node-a'`, [], 'inkan');
  const forged = JSON.parse((await inkan(['--json', 'cluster', 'status'], env)).out) as typeof st;
  assert.equal(forged.nodes.find((n) => n.node === 'node-fake')!.mac, 'bad');
  assert.equal(forged.leader, 'node-a');
  await pg.admin("DELETE FROM cluster_nodes WHERE node = 'node-fake'", [], 'inkan');

  // A crypto user may not read the node list; an auditor may.
  assert.equal((await officerA('POST', '/v1/users', { username: 'audrey', role: 'auditor', password: 'audrey-password-1' })).status, 201);
  assert.equal((await inkan(['cluster', 'status'], { ...env, INKAN_USER: 'audrey', INKAN_PASSWORD: 'audrey-password-1' })).code, 0);
  const bobTry = await inkan(['--json', 'cluster', 'status'], { ...env, INKAN_USER: 'carol', INKAN_PASSWORD: 'carol-password-2' });
  assert.notEqual(bobTry.code, 0);
  assert.equal(JSON.parse(bobTry.out).error.code, 'FORBIDDEN');

  // A node that dies stops beating: dead after three heartbeats (300 ms here), and the next leads.
  const c = await startNode(pg.url, 'node-0');
  try {
    await unseal(c.url, shares);
    const deadline = Date.now() + 5_000;
    let leader = '';
    while (Date.now() < deadline && leader !== 'node-0') { leader = JSON.parse((await inkan(['--json', 'cluster', 'status'], env)).out).leader; }
    assert.equal(leader, 'node-0');
    c.kill9();
    await c.exited;
    await new Promise((res) => setTimeout(res, 1_200));
    const later = JSON.parse((await inkan(['--json', 'cluster', 'status'], env)).out) as typeof st;
    const gone = later.nodes.find((n) => n.node === 'node-0')!;
    assert.equal(gone.alive, false);
    assert.ok(gone.heartbeatAgeMs >= 900, String(gone.heartbeatAgeMs));
    assert.equal(later.leader, 'node-a');
  } finally { await stopNodes([c]); }
});

test('two nodes changing one key at once: every change is either applied or refused as a conflict, and the key ends as the last applied one', async () => {
  const id = (await kmsA.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const outcomes: { node: string; text: string; ok: boolean; name?: string }[] = [];
  await Promise.all([['a', kmsA], ['b', kmsB]].flatMap(([node, kms]) => Array.from({ length: 6 }, async (_, i) => {
    const text = `set by ${node as string} #${i}`;
    try {
      await (kms as KMSClient).send(new UpdateKeyDescriptionCommand({ KeyId: id, Description: text }));
      outcomes.push({ node: node as string, text, ok: true });
    } catch (err) { outcomes.push({ node: node as string, text, ok: false, name: (err as Error).name }); }
  })));
  assert.equal(outcomes.length, 12);
  for (const o of outcomes.filter((x) => !x.ok)) assert.equal(o.name, 'KMSInvalidStateException', JSON.stringify(o));
  assert.ok(outcomes.some((o) => o.ok));
  // Both nodes read the same final description, one that some node's change set.
  const onA = (await kmsA.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!.Description;
  const onB = (await kmsB.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!.Description;
  assert.equal(onA, onB);
  assert.ok(outcomes.some((o) => o.ok && o.text === onA), `${onA} was set by an applied change`);
  // The key still works on both.
  await kmsB.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('still usable') }));
});

test('a backup taken on any node restores into a new database with the domain\'s shares; a second node joins the restored cluster', async () => {
  const id = (await kmsA.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const ct = (await kmsA.send(new EncryptCommand({ KeyId: id, Plaintext: Buffer.from('kept in the backup') }))).CiphertextBlob!;
  const dir = tempDir('inkan-cluster-backup-');
  const file = path.join(dir, 'cluster.ikb');
  const env = { INKAN_SERVER: b.url, INKAN_USER: OFFICER.username, INKAN_PASSWORD: OFFICER.password };
  let r1: Node | undefined;
  let r2: Node | undefined;
  try {
    const made = await inkan(['backup', 'create', file], env);
    assert.equal(made.code, 0, made.err);
    const store = await pg.createDatabase('restored');
    r1 = await startNode(store, 'restored-1');
    // An empty node: the custodians see which backup it is, give its shares, then the backup is sent.
    const blob = fs.readFileSync(file);
    const offer = await fetch(`${r1.url}/v1/restore/offer`, { method: 'POST', body: blob.subarray(0, Math.min(blob.length, MAX_BACKUP_HEADER)) });
    assert.equal(offer.status, 200, await offer.text());
    let token = '';
    for (const share of shares.slice(0, 2)) token = (await call(r1.url, 'POST', '/v1/restore/share', { share })).body.token ?? token;
    assert.ok(token);
    const restored = await fetch(`${r1.url}/v1/backup/restore`, { method: 'POST', headers: { 'x-inkan-restore-token': token }, body: blob });
    assert.equal(restored.status, 200, await restored.text());
    const st = (await call(r1.url, 'GET', '/v1/status')).body;
    if (st.state !== 'unsealed') await unseal(r1.url, shares);
    assert.equal((await call(r1.url, 'GET', '/v1/status')).body.state, 'unsealed');
    r2 = await startNode(store, 'restored-2');
    await unseal(r2.url, shares.slice(1));
    // The restored cluster decrypts what the old one encrypted, on the node that never saw the backup.
    const key = await kmsUser(await login(r1.url, OFFICER.username, OFFICER.password), 'restored-user');
    const kmsR2 = kmsClient(r2.url, key);
    try {
      // Another user's key: refused as on the old cluster; alice's own access key was restored with her.
      await assert.rejects(kmsR2.send(new DecryptCommand({ CiphertextBlob: ct })));
    } finally { kmsR2.destroy(); }
    const alice = kmsClient(r2.url, (await kmsA.config.credentials()) as { accessKeyId: string; secretAccessKey: string });
    try {
      const pt = await alice.send(new DecryptCommand({ CiphertextBlob: ct }));
      assert.equal(Buffer.from(pt.Plaintext!).toString(), 'kept in the backup');
    } finally { alice.destroy(); }
  } finally {
    await stopNodes([r1, r2]);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
