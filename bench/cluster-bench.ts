// `npm run bench:cluster`: the cost of PostgreSQL and of a cluster, side by side in one run. KMS
// Sign ECDSA P-256, Encrypt (1 KiB), GenerateDataKey and CreateKey through @aws-sdk/client-kms
// (keep-alive HTTP, BENCH_CONC requests in flight, default 8) against:
//   1 node on SQLite | 1 node on PostgreSQL | 2 nodes on PostgreSQL behind HAProxy | 3 nodes behind HAProxy
// Real `inkan serve` processes, a throw-away PostgreSQL (test/helpers/postgres.ts), Debian's
// HAProxy with docs/haproxy.cfg. Then the failover gap: Sign load through HAProxy on 2 nodes, one
// node killed with SIGKILL: the longest any request took around the kill, and requests that failed
// after the SDK's retries. On a 2-core machine the nodes, PostgreSQL, HAProxy and this client
// share the cores: the figures show the overhead of PostgreSQL and coordination, not scaling.
import { CreateKeyCommand, EncryptCommand, GenerateDataKeyCommand, SignCommand, type KMSClient } from '@aws-sdk/client-kms';
import { startPostgres, type TestPostgres } from '../test/helpers/postgres';
import { initCluster, kmsClient, kmsUser, login, OFFICER, startNode, stopNodes, type Node } from '../test/cluster/cluster-helpers';
import { startHaproxy, waitServers, type Haproxy } from '../test/cluster/haproxy-helper';
import { measure, ROW_MS, type Row } from './bench-util';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const CONC = Number(process.env.BENCH_CONC ?? 8);

interface Setup { name: string; endpoint: string; nodes: Node[]; lb?: Haproxy; key: { accessKeyId: string; secretAccessKey: string } }

async function setUp(name: string, store: string, count: number, useLb: boolean): Promise<Setup> {
  const names = Array.from({ length: count }, (_, i) => `bench-${String.fromCharCode(97 + i)}`);
  const nodes = await Promise.all(names.map((n) => startNode(store, n, { args: ['--heartbeat', '2s'] })));
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
    const plans: [string, () => Promise<string>, number, boolean][] = [
      [setups[0], async () => 'sqlite', 1, false],
      [setups[1], () => pg!.createDatabase('bench1'), 1, false],
      [setups[2], () => pg!.createDatabase('bench2'), 2, true],
      [setups[3], () => pg!.createDatabase('bench3'), 3, true],
    ];
    for (const [name, store, count, lb] of plans) {
      const s = await setUp(name, await store(), count, lb);
      try { all.push(...await rows(s)); } finally { await tearDown(s); }
      process.stderr.write(`${name}: done\n`);
    }
    const fo = await failover(await pg.createDatabase('bench_failover'));
    const cores = (await import('node:os')).cpus().length;
    process.stdout.write(`\nKMS through @aws-sdk/client-kms, ${CONC} requests in flight, ${ROW_MS} ms per cell, ${cores} cores shared by everything.\n`
      + 'Cells: req/s (p50/p99 ms).\n\n');
    process.stdout.write(`${table(all, setups)}\n\n`);
    process.stdout.write(`Failover (2 nodes behind HAProxy, Sign load, one node killed with SIGKILL): first request sent after the kill answered `
      + `${fo.gapMs.toFixed(0)} ms after it; longest request around the kill ${fo.worstMs.toFixed(0)} ms; `
      + `${fo.failed} failed after retries, ${fo.ok} succeeded.\n`);
  } finally {
    await pg?.stop();
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
