// `npm run bench:cluster`: the cost of PostgreSQL and of a cluster, side by side in one run. KMS
// Sign ECDSA P-256, Encrypt (1 KiB), GenerateDataKey and CreateKey through @aws-sdk/client-kms
// (keep-alive HTTP, BENCH_CONC requests in flight, default 8) against:
//   1 node on SQLite | 1 node on PostgreSQL | 2 nodes on PostgreSQL behind HAProxy | 3 nodes behind HAProxy
// Real `inkan serve` processes, a throw-away PostgreSQL (test/helpers/postgres.ts), Debian's
// HAProxy with docs/haproxy.cfg. Then the failover gap: Sign load through HAProxy on 2 nodes, one
// node killed with SIGKILL: the longest any request took around the kill, and requests that failed
// after the SDK's retries. On a 2-core machine the nodes, PostgreSQL, HAProxy and this client
// share the cores: the figures show the overhead of PostgreSQL and coordination, not scaling.
// PKCS#11 RSA-2048 sign (SHA256-RSA-PKCS over 1 KiB): BENCH_CONC pkcs11js applications in worker
// threads on Debian's p11-kit-client.so, through the failover transport `inkan p11-stdio --server
// unix:…,unix:…` (--random-start spreads them over the nodes), and on one node also straight to its
// unix socket; then the PKCS#11 failover gap: the node in use killed under that load.
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';
import { CreateKeyCommand, EncryptCommand, GenerateDataKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startPostgres, type TestPostgres } from '../test/helpers/postgres';
import { initCluster, kmsClient, kmsUser, login, OFFICER, startNode, stopNodes, type Node } from '../test/cluster/cluster-helpers';
import { startHaproxy, waitServers, type Haproxy } from '../test/cluster/haproxy-helper';
import { INKAN_BIN } from '../test/helpers/harness';
import { measure, ROW_MS, type Row } from './bench-util';
import type { P11BenchJob, P11BenchResult } from './cluster-p11-worker';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const CONC = Number(process.env.BENCH_CONC ?? 8);

interface Setup { name: string; endpoint: string; nodes: Node[]; lb?: Haproxy; key: { accessKeyId: string; secretAccessKey: string } }

async function setUp(name: string, store: string, count: number, useLb: boolean): Promise<Setup> {
  const names = Array.from({ length: count }, (_, i) => `bench-${String.fromCharCode(97 + i)}`);
  // The production login delay: with none (the test helpers' default), concurrent correct logins of
  // one account each count as a failure until checked and can lock it (core/users.ts reserve()).
  const nodes = await Promise.all(names.map((n) => startNode(store, n, { args: ['--heartbeat', '2s', '--login-delay-ms', '250'] })));
  await initCluster(nodes);
  const key = await kmsUser(await login(nodes[0].url, OFFICER.username, OFFICER.password), 'bench');
  let lb: Haproxy | undefined;
  if (useLb) {
    lb = await startHaproxy(Object.fromEntries(nodes.map((n) => [n.name, Number(new URL(n.url).port)])));
    await waitServers(lb, Object.fromEntries(nodes.map((n) => [n.name, true])));
  }
  return { name, endpoint: lb?.url ?? nodes[0].url, nodes, lb, key };
}

async function tearDown(s: Setup): Promise<void> {
  await s.lb?.stop();
  await stopNodes(s.nodes);
}

async function rows(s: Setup): Promise<Row[]> {
  const kms = kmsClient(s.endpoint, s.key, 3);
  try {
    const ec = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const aes = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const kib = Buffer.alloc(1024, 7);
    const ops: [string, () => Promise<unknown>][] = [
      ['Sign ECDSA P-256', () => kms.send(new SignCommand({ KeyId: ec, Message: kib, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }))],
      ['Encrypt 1 KiB', () => kms.send(new EncryptCommand({ KeyId: aes, Plaintext: kib }))],
      ['GenerateDataKey AES-256', () => kms.send(new GenerateDataKeyCommand({ KeyId: aes, KeySpec: 'AES_256' }))],
      ['CreateKey (symmetric)', () => kms.send(new CreateKeyCommand({}))],
    ];
    const out: Row[] = [];
    for (const [op, fn] of ops) out.push(await measure(op, s.name, CONC, fn));
    return out;
  } finally { kms.destroy(); }
}

const P11_KIT_CLIENT = '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so';
/** The user kmsUser() made, as a PKCS#11 PIN. */
const P11_PIN = 'bench:user-password-1';
const P11_LABEL = 'bench-rsa-2048';
const P11_ROW = 'PKCS#11 RSA-2048 sign (p11-stdio --server)';
const P11_DIRECT_ROW = 'PKCS#11 RSA-2048 sign (unix socket)';

const socketOf = (n: Node) => path.join(n.dir, 'p11.sock');
const relayAddress = (nodes: Node[], randomStart: boolean) =>
  `|${process.execPath} ${INKAN_BIN} p11-stdio${process.env.BENCH_RELAY_LOG ? ` --log ${process.env.BENCH_RELAY_LOG}` : ' --quiet'}${randomStart ? ' --random-start' : ''} --server ${nodes.map((n) => `unix:${socketOf(n)}`).join(',')}`;

/** The bench key, made once on the first node's socket (every node sees it at once). */
function makeP11Key(node: Node): void {
  process.env.P11_KIT_SERVER_ADDRESS = `unix:path=${socketOf(node)}`;
  const p = new pkcs11js.PKCS11();
  p.load(P11_KIT_CLIENT);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    const s = p.C_OpenSession(p.C_GetSlotList(true)[0], pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p.C_Login(s, pkcs11js.CKU_USER, P11_PIN);
    p.C_GenerateKeyPair(s, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 }, { type: pkcs11js.CKA_LABEL, value: P11_LABEL }],
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: P11_LABEL }, { type: pkcs11js.CKA_SIGN, value: true }]);
  } finally { p.C_Finalize(); }
}

/** CONC applications signing through `address` for durationMs; `during` runs once they have all started. */
async function p11Load(address: string, durationMs: number, during?: () => Promise<void>): Promise<P11BenchResult[]> {
  // p11-kit reads the address with getenv(): a worker's process.env is a copy, so it is set here.
  process.env.P11_KIT_SERVER_ADDRESS = address;
  const stop = new Int32Array(new SharedArrayBuffer(8));
  const job: P11BenchJob = { module: P11_KIT_CLIENT, pin: P11_PIN, label: P11_LABEL, durationMs };
  const results: Promise<P11BenchResult>[] = [];
  const release = () => { Atomics.store(stop, 0, 1); Atomics.store(stop, 1, 1); Atomics.notify(stop, 1); };
  // One after the other: concurrent logins of one account meet its login throttle (core/login-throttle.ts).
  for (let i = 0; i < CONC; i++) {
    let ready!: () => void;
    const isReady = new Promise<void>((r) => { ready = r; });
    results.push(new Promise<P11BenchResult>((resolve, reject) => {
      const w = new Worker(path.join(__dirname, 'cluster-p11-worker.js'), { workerData: { inkanClusterP11Worker: true, job, stop: stop.buffer } });
      w.on('message', (m: { ready?: boolean } & P11BenchResult) => {
        if (m.ready) { ready(); return; }
        if (m.error) release();
        ready();
        resolve(m);
        void w.terminate();
      });
      w.on('error', (err) => { release(); ready(); reject(err); });
    }));
    await isReady;
  }
  const all = Promise.all(results);
  Atomics.store(stop, 1, 1);
  Atomics.notify(stop, 1);
  if (during) { await during(); Atomics.store(stop, 0, 1); }
  const out = await all;
  const broken = out.find((r) => r.error);
  if (broken) throw new Error(`PKCS#11 bench application failed: ${broken.error}`);
  return out;
}

function p11Row(op: string, how: string, results: P11BenchResult[]): Row {
  const lat = results.flatMap((r) => r.lat).sort((a, b) => a - b);
  const count = results.reduce((n, r) => n + r.count, 0);
  const elapsed = Math.max(...results.map((r) => r.elapsedMs));
  const q = (f: number) => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))] ?? 0;
  return { op, how, conc: CONC, rps: count / (elapsed / 1000), p50: q(0.5), p99: q(0.99), clientCpu: 0 };
}

async function p11Rows(s: Setup): Promise<Row[]> {
  makeP11Key(s.nodes[0]);
  const out = [p11Row(P11_ROW, s.name, await p11Load(relayAddress(s.nodes, true), ROW_MS))];
  if (s.nodes.length === 1) out.push(p11Row(P11_DIRECT_ROW, s.name, await p11Load(`unix:path=${socketOf(s.nodes[0])}`, ROW_MS)));
  return out;
}

/** PKCS#11 sign load through the failover transport on 2 nodes; the node every application uses first is killed. */
async function p11Failover(store: string): Promise<{ gapMs: number; worstMs: number; failed: number; ok: number; why: string[] }> {
  const s = await setUp('p11-failover', store, 2, false);
  try {
    makeP11Key(s.nodes[0]);
    let killedAt = 0;
    const results = await p11Load(relayAddress(s.nodes, false), 60_000, async () => {
      await new Promise((r) => setTimeout(r, 1_000));
      killedAt = Date.now();
      s.nodes[0].kill9();
      await new Promise((r) => setTimeout(r, 2_000));
    });
    const after = results.flatMap((r) => r.okTimes).filter((t) => t > killedAt);
    return {
      gapMs: after.length ? Math.min(...after) - killedAt : Infinity,
      worstMs: Math.max(...results.flatMap((r) => r.lat)),
      failed: results.reduce((n, r) => n + r.failures.length, 0),
      ok: results.reduce((n, r) => n + r.count, 0),
      why: [...new Set(results.flatMap((r) => r.failures))],
    };
  } finally { await tearDown(s); }
}

/** Sign load on 2 nodes behind HAProxy, one node killed: the longest request around the kill and failures beyond retries. */
async function failover(store: string): Promise<{ worstMs: number; failed: number; ok: number; gapMs: number }> {
  const s = await setUp('failover', store, 2, true);
  const clients: KMSClient[] = Array.from({ length: CONC }, () => kmsClient(s.endpoint, s.key, 3));
  try {
    const ec = (await clients[0].send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    let stop = false;
    let killedAt = Infinity;
    let worstMs = 0;
    let failed = 0;
    let ok = 0;
    let firstAfterKill = Infinity;
    const load = clients.map(async (kms) => {
      while (!stop) {
        const t = performance.now();
        try {
          await kms.send(new SignCommand({ KeyId: ec, Message: Buffer.from('m'), MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
          ok++;
          const done = performance.now();
          // A request sent after the kill and answered: the cluster serves again.
          if (t > killedAt && done < firstAfterKill) firstAfterKill = done;
          if (done > killedAt - 1_000) worstMs = Math.max(worstMs, done - t);
        } catch { failed++; }
      }
    });
    await new Promise((r) => setTimeout(r, 1_000));
    killedAt = performance.now();
    s.nodes[1].kill9();
    await new Promise((r) => setTimeout(r, 2_000));
    stop = true;
    await Promise.all(load);
    return { worstMs, failed, ok, gapMs: firstAfterKill - killedAt };
  } finally {
    for (const c of clients) c.destroy();
    await tearDown(s);
  }
}

function table(all: Row[], setups: string[]): string {
  const ops = [...new Set(all.map((r) => r.op))];
  const cell = (r?: Row) => (r ? `${r.rps.toFixed(0)} (${r.p50.toFixed(1)}/${r.p99.toFixed(1)})` : '-');
  const head = ['operation', ...setups];
  const body = ops.map((op) => [op, ...setups.map((s) => cell(all.find((r) => r.op === op && r.how === s)))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i])).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...body.map(line)].join('\n');
}

async function main(): Promise<void> {
  let pg: TestPostgres | undefined;
  const all: Row[] = [];
  const setups = ['1 node SQLite', '1 node PG', '2 nodes PG + HAProxy', '3 nodes PG + HAProxy'];
  try {
    pg = await startPostgres();
    if (process.env.BENCH_ONLY === 'p11-failover') {
      const only = await p11Failover(await pg.createDatabase('bench_p11_failover'));
      process.stdout.write(`${JSON.stringify(only)}\n`);
      return;
    }
    const plans: [string, () => Promise<string>, number, boolean][] = [
      [setups[0], async () => 'sqlite', 1, false],
      [setups[1], () => pg!.createDatabase('bench1'), 1, false],
      [setups[2], () => pg!.createDatabase('bench2'), 2, true],
      [setups[3], () => pg!.createDatabase('bench3'), 3, true],
    ];
    for (const [name, store, count, lb] of plans) {
      const s = await setUp(name, await store(), count, lb);
      try { all.push(...await rows(s), ...await p11Rows(s)); } finally { await tearDown(s); }
      process.stderr.write(`${name}: done\n`);
    }
    const fo = await failover(await pg.createDatabase('bench_failover'));
    const p11fo = await p11Failover(await pg.createDatabase('bench_p11_failover'));
    const cores = (await import('node:os')).cpus().length;
    process.stdout.write(`\nKMS through @aws-sdk/client-kms, ${CONC} requests in flight (PKCS#11: ${CONC} pkcs11js applications), ${ROW_MS} ms per cell, ${cores} cores shared by everything.\n`
      + 'Cells: req/s (p50/p99 ms).\n\n');
    process.stdout.write(`${table(all, setups)}\n\n`);
    process.stdout.write(`Failover (2 nodes behind HAProxy, Sign load, one node killed with SIGKILL): first request sent after the kill answered `
      + `${fo.gapMs.toFixed(0)} ms after it; longest request around the kill ${fo.worstMs.toFixed(0)} ms; `
      + `${fo.failed} failed after retries, ${fo.ok} succeeded.\n`);
    process.stdout.write(`PKCS#11 failover (2 nodes on PG, ${CONC} applications through inkan p11-stdio --server, RSA-2048 sign, the node in use killed with SIGKILL): `
      + `first signature after the kill ${p11fo.gapMs.toFixed(0)} ms after it; longest call ${p11fo.worstMs.toFixed(0)} ms; `
      + `${p11fo.failed} failed${p11fo.why.length ? ` (${p11fo.why.join('; ')})` : ''}, ${p11fo.ok} succeeded.\n`);
  } finally {
    await pg?.stop();
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
