// Shared by the benchmarks: timing a row (requests/s, p50/p99, client and server CPU), starting
// the dev-mode server in its own process, and printing the table.
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import { EncryptCommand, GenerateDataKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROW_MS = Number(process.env.BENCH_ROW_MS ?? 1500);
export const CONCURRENCY = [1, 8, 64];
const TICK = 100; // USER_HZ for /proc/<pid>/stat

export interface Row { op: string; how: string; conc: number; rps: number; p50: number; p99: number; serverCpu?: number; clientCpu: number }

/** CPU seconds of `pid` and every live descendant (the workers of `inkan serve --workers`). */
export function serverCpuSeconds(pid: number): number {
  const stats = new Map<number, string[]>();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { stats.set(Number(d), fs.readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')); } catch { /* gone */ }
  }
  const tree = new Set([pid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const [p, f] of stats) if (!tree.has(p) && tree.has(Number(f[1]))) { tree.add(p); grew = true; }
  }
  let ticks = 0;
  for (const p of tree) { const f = stats.get(p); if (f) ticks += Number(f[11]) + Number(f[12]); } // utime + stime
  return ticks / TICK;
}

export async function measure(op: string, how: string, conc: number, fn: () => Promise<unknown>, serverPid?: number): Promise<Row> {
  for (let i = 0; i < Math.min(conc, 8); i++) await fn(); // warm the connections and caches
  const lat: number[] = [];
  const cpu0 = process.cpuUsage();
  const s0 = serverPid ? serverCpuSeconds(serverPid) : 0;
  const start = performance.now();
  const end = start + ROW_MS;
  await Promise.all(Array.from({ length: conc }, async () => {
    while (performance.now() < end) {
      const t = performance.now();
      await fn();
      lat.push(performance.now() - t);
    }
  }));
  const wall = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  const pct = (p: number) => lat[Math.min(lat.length - 1, Math.floor(lat.length * p))];
  return {
    op, how, conc, rps: lat.length / wall, p50: pct(0.5), p99: pct(0.99), clientCpu: (cpu.user + cpu.system) / 1e6 / wall,
    serverCpu: serverPid ? (serverCpuSeconds(serverPid) - s0) / wall : undefined,
  };
}

export interface BenchServer { kms: Creds; akv: Record<string, string>; xks: Record<string, string>; pid: number; stop(): void }
export type Creds = { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };

/** `script`: this build's kms-bench-server.js, or another build's (BENCH_BASELINE=…/dist). */
export function startBenchServer(script = path.join(__dirname, 'kms-bench-server.js'), env: Record<string, string> = {}): Promise<BenchServer> {
  // BENCH_INKAN_NODE_ARGS="--cpu-prof --cpu-prof-dir=DIR" profiles the server (as in bench:p11).
  const nodeArgs = process.env.BENCH_INKAN_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, script], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ ...JSON.parse(buf.slice(0, nl)), stop: () => child.kill('SIGTERM') });
    });
    child.once('exit', (code) => reject(new Error(`bench server exited (${code})`)));
  });
}

/** `runs` measurements of one row, interleaved by the caller with the other builds'; the median by req/s. */
export function medianRow(runs: Row[]): Row {
  return [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)];
}

export function print(rows: Row[]): void {
  // CPU as share of one core, and as CPU time per request (what bounds throughput once cores are full).
  const head = ['operation', 'path', 'conc', 'req/s', 'p50 ms', 'p99 ms', 'server CPU', 'server µs/req', 'client CPU', 'client µs/req'];
  const perReq = (cpu: number, rps: number) => (cpu / rps * 1e6).toFixed(0);
  const lines = rows.map((r) => [r.op, r.how, String(r.conc), r.rps.toFixed(0), r.p50.toFixed(2), r.p99.toFixed(2),
    r.serverCpu === undefined ? '-' : `${(r.serverCpu * 100).toFixed(0)}%`, r.serverCpu === undefined ? '-' : perReq(r.serverCpu, r.rps),
    `${(r.clientCpu * 100).toFixed(0)}%`, perReq(r.clientCpu, r.rps)]);
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const fmt = (cols: string[]) => `| ${cols.map((c, i) => (i >= 2 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  console.log(fmt(head));
  console.log(`|${widths.map((w, i) => (i >= 2 ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`);
  for (const l of lines) console.log(fmt(l));
}


/** The request the SDK would send for `command`, signed, without sending it. */
export async function presign(creds: Creds, command: SignCommand | EncryptCommand | GenerateDataKeyCommand): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const capture = new KMSClient({ endpoint: creds.endpoint, region: creds.region, maxAttempts: 1,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }, requestHandler: {
    handle: async (req: { headers: Record<string, string>; body: Uint8Array | string }) => {
      const body = typeof req.body === 'string' ? Buffer.from(req.body) : Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
      throw Object.assign(new Error('captured'), { captured: { headers: { ...req.headers }, body } });
    },
  } as never });
  try { await capture.send(command as SignCommand); } catch (err) {
    const c = (err as { captured?: { headers: Record<string, string>; body: Buffer } }).captured;
    if (c) return c;
    throw err;
  } finally { capture.destroy(); }
  throw new Error('nothing captured');
}

/** Replays one pre-signed request (valid for the 15-minute SigV4 window) over keep-alive HTTP: the server's share alone. */
export function replayer(endpoint: string, agent: http.Agent, req: { headers: Record<string, string>; body: Buffer }): () => Promise<void> {
  const url = new URL(endpoint);
  return () => new Promise((resolve, reject) => {
    const r = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: req.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

