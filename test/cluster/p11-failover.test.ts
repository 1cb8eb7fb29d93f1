// PKCS#11 failover (docs/pkcs11.md "Failover"): three `inkan serve` nodes on one real PostgreSQL,
// each with its unix socket and a mutual-TLS listener; an application on Debian's p11-kit-client.so
// (pkcs11js, in a worker thread) reaches them through `inkan p11-stdio --quiet --server tcp+tls:a,tcp+tls:b,
// unix:c` and signs in a loop while enrolling new keys. The node in use is killed with SIGKILL, brought
// back, and the next node in use is killed too: the loop goes on with no failed signature, every
// signature verifies with node:crypto on the public key, every acknowledged key exists, the session
// object and the multi-part signature answer the documented CKR_, and the audit chains verify.
// Nodes refuse TLS clients without a certificate or with one from another CA.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { Worker } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { INKAN_BIN, tempDir } from '../helpers/harness';
import { makeTestPki, type TestPki } from '../helpers/test-ca';
import { freePort, inkan } from '../cli/cli-helpers';
import { P11_KIT_CLIENT } from '../interop/p11-helpers';
import { initCluster, login, OFFICER, sleep, startNode, stopNodes, unseal, type Node } from './cluster-helpers';
import { PROGRESS, type FailoverJob, type FailoverReport } from './p11-failover-worker';

const NAMES = ['node-a', 'node-b', 'node-c'];
const PIN = 'signer:signer-password-1';

let pg: TestPostgres;
let pki: TestPki;
let ports: number[];
let nodes: Node[];
let shares: string[];
let officer: Awaited<ReturnType<typeof login>>;
let clientCert: ReturnType<TestPki['client']>;

function tlsArgs(port: number): string[] {
  return ['--p11-tls-listen', `127.0.0.1:${port}`, '--p11-tls-cert', pki.server.certFile, '--p11-tls-key', pki.server.keyFile, '--p11-tls-client-ca', pki.caFile];
}

function startOne(i: number, dir?: string): Promise<Node> {
  return startNode(pg.url, NAMES[i], { dir, args: tlsArgs(ports[i]) });
}

before(async () => {
  pg = await startPostgres();
  pki = makeTestPki(['localhost']);
  clientCert = pki.client('signing-service');
  ports = [await freePort(), await freePort(), await freePort()];
  nodes = await Promise.all([0, 1, 2].map((i) => startOne(i)));
  shares = await initCluster(nodes);
  officer = await login(nodes[0].url, OFFICER.username, OFFICER.password);
  assert.equal((await officer('POST', '/v1/users', { username: 'signer', role: 'user', password: 'signer-password-1' })).status, 201);
});

after(async () => {
  await stopNodes(nodes ?? []);
  await pg?.stop();
  pki?.cleanup();
});

/** Opens a TLS connection to a node's PKCS#11 listener and sends the version byte; resolves with what came back before it closed (or after 3 s). */
function probe(port: number, cert?: { cert: string; key: string }): Promise<{ data: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let closed = false;
    const s = tls.connect({ host: '127.0.0.1', port, ca: pki.ca, ...(cert ?? {}) }, () => s.write(Buffer.from([0])));
    const done = () => { clearTimeout(timer); s.destroy(); resolve({ data: Buffer.concat(chunks), closed }); };
    const timer = setTimeout(done, 3_000);
    s.on('data', (c: Buffer) => { chunks.push(c); if (chunks.length && cert) done(); });
    s.on('error', () => { closed = true; done(); });
    s.on('close', () => { closed = true; done(); });
  });
}

test('a node\'s PKCS#11 TLS listener refuses clients without a certificate or with one from another CA, and logs it without secrets', async () => {
  const none = await probe(ports[0]);
  assert.equal(none.data.length, 0, 'no version byte without a client certificate');
  assert.ok(none.closed);
  const foreign = pki.client('intruder', { foreign: true });
  const other = await probe(ports[0], foreign);
  assert.equal(other.data.length, 0, 'no version byte with a certificate from another CA');
  assert.ok(other.closed);
  const good = await probe(ports[0], clientCert);
  assert.deepEqual([...good.data], [0], 'a certificate from the configured CA gets the version byte');
  const log = nodes[0].stdout() + nodes[0].stderr();
  assert.match(log, /p11 tls connection refused/);
  assert.doesNotMatch(log, /BEGIN|PRIVATE KEY/);
});

function relayAddress(): string {
  const list = [`tcp+tls:127.0.0.1:${ports[0]}`, `tcp+tls:127.0.0.1:${ports[1]}`, `unix:${path.join(nodes[2].dir, 'p11.sock')}`].join(',');
  return `|${process.execPath} ${INKAN_BIN} p11-stdio --quiet --server ${list} --tls-ca ${pki.caFile} --tls-cert ${clientCert.certFile} --tls-key ${clientCert.keyFile}`;
}

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

test('kill -9 of the node in use, twice: the signing loop goes on with no failed signature; what cannot survive says so', { timeout: 120_000 }, async (t) => {
  const progress = new Float64Array(new SharedArrayBuffer(16));
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const job: FailoverJob = { module: P11_KIT_CLIENT, address: relayAddress(), pin: PIN, label: 'failover-signer', keyEvery: 10 };
  // p11-kit reads the address with getenv() when the worker loads it: a worker's process.env is its own copy, so set it here.
  process.env.P11_KIT_SERVER_ADDRESS = job.address;
  const w = new Worker(path.join(__dirname, 'p11-failover-worker.js'), { workerData: { inkanFailoverWorker: true, job, progress: progress.buffer, stop: stop.buffer } });
  const messages: unknown[] = [];
  let early: FailoverReport | undefined;
  const finished = new Promise<FailoverReport>((resolve, reject) => {
    w.on('message', (m: { ready?: boolean }) => { if (m.ready) messages.push(m); else { early = m as FailoverReport; resolve(early); } });
    w.on('error', reject);
  });
  const gaps: number[] = [];
  const killInUse = async (i: number) => {
    const before = progress[PROGRESS.done];
    const at = Date.now();
    nodes[i].kill9();
    await until(`a signature after killing ${NAMES[i]}`, () => progress[PROGRESS.lastOk] > at && progress[PROGRESS.done] > before);
    gaps.push(progress[PROGRESS.lastOk] - at);
    await nodes[i].exited;
  };
  try {
    await until('the worker to be ready', () => messages.length > 0 || early !== undefined, 60_000);
    if (early) throw new Error(`the application stopped before the loop: ${early.error}`);
    await until('15 signatures', () => progress[PROGRESS.done] >= 15);
    await killInUse(0);
    await until('15 more signatures', () => progress[PROGRESS.done] >= 30);
    // Node A comes back on its data directory and TLS port; unsealed, it is a failover target again.
    nodes[0] = await startOne(0, nodes[0].dir);
    await unseal(nodes[0].url, shares);
    await killInUse(1);
    await until('15 more signatures', () => progress[PROGRESS.done] >= 45);
  } finally {
    Atomics.store(stop, 0, 1);
  }
  const report = await finished;
  await w.terminate();
  nodes[1] = await startOne(1, nodes[1].dir);
  await unseal(nodes[1].url, shares);
  t.diagnostic(`signatures: ${report.signatures.length}, failover gaps (kill to next signature): ${gaps.map((g) => `${g} ms`).join(', ')}, `
    + `keys enrolled: ${report.acknowledged.length}, enrolments answered CKR_DEVICE_REMOVED: ${report.deviceRemoved}`);
  assert.equal(report.error, undefined, report.error);
  assert.deepEqual(report.failures, [], 'no failed request beyond the relay\'s retry');
  assert.ok(report.signatures.length >= 45);
  const pub = crypto.createPublicKey({ key: { kty: 'RSA', n: report.modulus, e: report.exponent }, format: 'jwk' });
  for (const s of report.signatures) assert.ok(crypto.verify('sha256', Buffer.from(s.msg), pub, Buffer.from(s.sig, 'base64')), `signature of ${s.msg} verifies`);
  assert.equal(report.sessionObject, 'CKR_OBJECT_HANDLE_INVALID', 'a session object died with its node');
  assert.equal(report.multipart, 'CKR_OPERATION_NOT_INITIALIZED', 'a multi-part operation fed before the failover is gone');
  assert.ok(report.handleStable, 'the private key handle from the first node names the same key on the last');
  assert.ok(report.acknowledged.length >= 3, `keys were enrolled during the kills: ${report.acknowledged.length}`);

  // Every acknowledged key exists, asked on node B's unix socket by a fresh application.
  process.env.P11_KIT_SERVER_ADDRESS = `unix:path=${path.join(nodes[1].dir, 'p11.sock')}`;
  const p = new pkcs11js.PKCS11();
  p.load(P11_KIT_CLIENT);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    const s = p.C_OpenSession(p.C_GetSlotList(true)[0], pkcs11js.CKF_SERIAL_SESSION);
    p.C_Login(s, pkcs11js.CKU_USER, PIN);
    for (const label of report.acknowledged) {
      p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: label }]);
      const found = p.C_FindObjects(s, 2);
      p.C_FindObjectsFinal(s);
      assert.equal(found.length, 1, `acknowledged key ${label} exists once`);
    }
  } finally { p.C_Finalize(); }
});

test('after the failovers every node\'s audit chain verifies offline', async () => {
  const officerC = await login(nodes[2].url, OFFICER.username, OFFICER.password);
  assert.equal((await officerC('POST', '/v1/users', { username: 'auditor', role: 'auditor', password: 'auditor-password-1' })).status, 201);
  const dir = tempDir('inkan-audit-');
  try {
    const env = { INKAN_SERVER: nodes[2].url, INKAN_USER: 'auditor', INKAN_PASSWORD: 'auditor-password-1' };
    assert.equal((await inkan(['audit', 'export', '-o', path.join(dir, 'audit.ndjson')], env)).code, 0);
    assert.equal((await inkan(['audit', 'public-key', '-o', path.join(dir, 'audit.pem')], env)).code, 0);
    const v = await inkan(['--json', 'audit', 'verify', path.join(dir, 'audit.ndjson'), '--public-key', path.join(dir, 'audit.pem')], {});
    assert.equal(v.code, 0, v.out + v.err);
    const report = JSON.parse(v.out) as { ok: boolean; chains: { chain: string }[] };
    assert.equal(report.ok, true);
    assert.deepEqual(report.chains.map((c) => c.chain).sort(), NAMES);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
