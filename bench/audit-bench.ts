// `npm run bench:audit`: what the size of the audit log costs (issue 16, "throughput unchanged
// with 10⁶ audit records, export | verify linear and streamed"). One dev-mode data directory grows
// through 10³, 10⁵ and 10⁶ records; at each size, in the same run:
//   - key-use throughput through the core (HMAC-SHA256 and CKM_ECDSA P-256, concurrency 8);
//   - the reads a call or `inkan status` makes (the chain head, the chain list, a key's last use);
//   - `inkan serve --dev` from spawn to unsealed and listening, its RSS after start;
//   - `inkan audit export --out`, `inkan audit verify FILE`, and `inkan audit export | inkan
//     audit verify -`: wall time and peak RSS of each CLI process (/usr/bin/time) and of the server.
// The records are written through the module's own audit log (AuditLog.commit, group commit,
// a signed checkpoint every CHECKPOINT_EVERY records, the anchor file rewritten at each one),
// with the body a real HMAC sign produced — the path a key use takes, without the crypto — so
// the chain, its checkpoints and the anchor are the real thing and every export must verify.
// BENCH_AUDIT_SIZES=1000,100000 picks other sizes; BENCH_MS the duration of a throughput cell.
import { spawn, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type RunningServer } from '../src/server';
import { silentLogger } from '../src/logger';
import type { AuditEvent } from '../src/core/audit/audit-log';
import type { Hsm } from '../src/core/hsm';
import type { Caller } from '../src/core/principal';
import type { ManagedKey } from '../src/core/managed-keys';
import type { DevCredentials } from '../src/runtime/dev-mode';
import { CKA, CKM } from '../src/pkcs11/constants';

const SIZES = (process.env.BENCH_AUDIT_SIZES ?? '1000,100000,1000000').split(',').map(Number);
const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);
const CONCURRENCY = 8;
/** Commits handed to the audit log at once while growing the log (it allows MAX_QUEUED). */
const WAVE = 8192;
const ROOT = path.join(__dirname, '..', '..');
const INKAN = path.join(ROOT, 'bin', 'inkan.js');

interface SizeResult {
  records: number;
  /** Measured on the smallest and the largest log only, interleaved (median of ROUNDS). */
  hmac?: number; ecdsa?: number; hmacRuns?: number[]; ecdsaRuns?: number[]; hmacCpu?: number; ecdsaCpu?: number; headMs?: number; chainsMs?: number; startMs?: number; serverRssStart?: number;
  /** Right after the log grew to this size: a never-used key's last use (the bounded scan's worst case). */
  lastUseMs?: number;
  export?: Timed; verify?: Timed; pipe?: { exp: Timed; ver: Timed; wallS: number }; serverRssPeak?: number; fileMiB?: number;
  /** `inkan audit verify` under a small V8 heap cap: proof that it holds no whole-log buffer. */
  cappedVerify?: string;
}
interface Timed { wallS: number; rssMiB: number }

const ROUNDS = Number(process.env.BENCH_AUDIT_ROUNDS ?? 5);
/** Old-space cap for the capped verify (MiB): a tenth of a 10⁶-record export. */
const VERIFY_HEAP_CAP = 40;

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  if (!fs.existsSync('/usr/bin/time')) throw new Error('this bench measures peak RSS with /usr/bin/time (GNU time)');
  if (SIZES.length < 2) throw new Error('BENCH_AUDIT_SIZES needs a small size and at least one larger one');
  // The smallest size lives in its own data directory; the larger ones are steps of one log.
  const small = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-audit-bench-small-'));
  const big = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-audit-bench-big-'));
  const results: SizeResult[] = [];
  const load0 = os.loadavg();
  try {
    for (const [i, size] of SIZES.entries()) {
      const dir = i === 0 ? small : big;
      const started = performance.now();
      const inproc = await openInProcess(dir);
      const { records, appended, managed } = await growTo(inproc.hsm, inproc.caller, size);
      console.error(`[${size}] ${records} records (${appended} appended in ${fmt((performance.now() - started) / 1000, 1)} s)`);
      const r: SizeResult = { records, lastUseMs: await median(() => inproc.hsm.keyUsage.lastUse(inproc.caller, managed), 3) };
      await inproc.close();
      await cliCells(dir, r, i === SIZES.length - 1);
      results.push(r);
      console.error(`[${size}] export and verify measured`);
    }
    await interleaved(small, big, results[0], results[results.length - 1]);
  } finally {
    fs.rmSync(small, { recursive: true, force: true });
    fs.rmSync(big, { recursive: true, force: true });
  }
  print(results, load0);
}

/** The smallest and the largest log side by side, alternating, so load drifts hit both alike. */
async function interleaved(smallDir: string, bigDir: string, small: SizeResult, big: SizeResult): Promise<void> {
  const both = [{ dir: smallDir, r: small }, { dir: bigDir, r: big }];
  const cells = both.map(() => ({ hmac: [] as number[], ecdsa: [] as number[], hmacCpu: [] as number[], ecdsaCpu: [] as number[], head: [] as number[], chains: [] as number[], start: [] as number[], rss: [] as number[] }));
  const open = await Promise.all(both.map(async (b) => { const srv = await openInProcess(b.dir); return { srv, keys: await useKeys(srv) }; }));
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, o] of open.entries()) {
        const cell = await coreCells(o.srv, o.keys);
        cells[i].hmac.push(cell.hmac.ops); cells[i].ecdsa.push(cell.ecdsa.ops); cells[i].hmacCpu.push(cell.hmac.cpuUs); cells[i].ecdsaCpu.push(cell.ecdsa.cpuUs); cells[i].head.push(cell.headMs); cells[i].chains.push(cell.chainsMs);
      }
    }
  } finally { for (const o of open) await o.srv.close(); }
  console.error('throughput measured');
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, b] of both.entries()) {
      const child = await serve(b.dir);
      cells[i].start.push(child.startMs);
      cells[i].rss.push(rssMiB(child.pid, 'VmRSS'));
      await child.stop();
    }
  }
  console.error('start-up measured');
  both.forEach((b, i) => Object.assign(b.r, {
    hmac: med(cells[i].hmac), ecdsa: med(cells[i].ecdsa), hmacRuns: cells[i].hmac, ecdsaRuns: cells[i].ecdsa, hmacCpu: med(cells[i].hmacCpu), ecdsaCpu: med(cells[i].ecdsaCpu), headMs: med(cells[i].head), chainsMs: med(cells[i].chains), startMs: med(cells[i].start), serverRssStart: med(cells[i].rss),
  }));
}

// --- growing the log through the module ------------------------------------------------------

async function openInProcess(dir: string): Promise<RunningServer & { caller: Caller }> {
  const srv = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, loginDelayMs: 0, log: silentLogger });
  const user = srv.credentials!.user;
  const caller = srv.hsm.callerOf(await srv.hsm.login(user.username, user.password), 'admin');
  return { ...srv, caller };
}

/** The event a real HMAC sign writes, captured from the log itself. */
async function keyUseEvent(hsm: Hsm, caller: Caller): Promise<AuditEvent> {
  const key = await hsm.keys.generateKey(caller, CKM.GENERIC_SECRET_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.SIGN, true]]));
  let seen: AuditEvent | undefined;
  const stop = hsm.audit.subscribe((r) => { if (r.op === 'key.sign') { const { seq: _s, time: _t, node: _n, ...event } = r; seen = event; } });
  await hsm.crypto.sign(caller, key, CKM.SHA256_HMAC, {}, Buffer.alloc(32, 7));
  stop();
  if (!seen) throw new Error('the sign wrote no key.sign record');
  return seen;
}

async function growTo(hsm: Hsm, caller: Caller, target: number): Promise<{ records: number; appended: number; managed: ManagedKey }> {
  const event = await keyUseEvent(hsm, caller);
  // A managed key never used, made before the records: reading its last use looks back as far as
  // the read may (key-usage.ts bounds it at MAX_SCAN records), the worst case.
  const managed = await hsm.managed.create(caller, { spec: { kind: 'aes', size: 256 }, purpose: 'encrypt' });
  let seq = (await hsm.store.audit.head(hsm.node)).seq;
  const from = seq;
  while (seq < target) {
    const n = Math.min(WAVE, target - seq);
    await Promise.all(Array.from({ length: n }, () => hsm.audit.commit(event)));
    seq = (await hsm.store.audit.head(hsm.node)).seq;
  }
  await hsm.audit.checkpoint();
  return { records: seq, appended: seq - from, managed };
}

// --- in-process cells ------------------------------------------------------------------------

/** Operations per second, and the process's CPU (all threads) per operation in µs: on a loaded
 *  machine the CPU an operation costs moves less than its rate does. */
async function rate(op: () => Promise<unknown>): Promise<{ ops: number; cpuUs: number }> {
  for (let i = 0; i < 50; i++) await op();
  let n = 0;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const end = started + DURATION_MS;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => { while (performance.now() < end) { await op(); n++; } }));
  const used = process.cpuUsage(cpu);
  return { ops: n / ((performance.now() - started) / 1000), cpuUs: (used.user + used.system) / n };
}

async function median(op: () => Promise<unknown>, runs = 9): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) { const s = performance.now(); await op(); t.push(performance.now() - s); }
  return t.sort((a, b) => a - b)[Math.floor(runs / 2)];
}

interface UseKeys { hmac: Awaited<ReturnType<Hsm['keys']['generateKey']>>; ec: Awaited<ReturnType<Hsm['keys']['generateKeyPair']>> }

async function useKeys(srv: RunningServer & { caller: Caller }): Promise<UseKeys> {
  const { hsm, caller } = srv;
  const hmac = await hsm.keys.generateKey(caller, CKM.GENERIC_SECRET_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.SIGN, true]]));
  const ec = await hsm.keys.generateKeyPair(caller, CKM.EC_KEY_PAIR_GEN, new Map<number, any>([[CKA.EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex')], [CKA.TOKEN, true]]), new Map<number, any>([[CKA.SIGN, true]]));
  return { hmac, ec };
}

async function coreCells(srv: RunningServer & { caller: Caller }, keys: UseKeys): Promise<{ hmac: { ops: number; cpuUs: number }; ecdsa: { ops: number; cpuUs: number }; headMs: number; chainsMs: number }> {
  const { hsm, caller } = srv;
  const digest = Buffer.alloc(32, 7);
  const hmac = await rate(() => hsm.crypto.sign(caller, keys.hmac, CKM.SHA256_HMAC, {}, digest));
  const ecdsa = await rate(() => hsm.crypto.sign(caller, keys.ec.privateKey, CKM.ECDSA, {}, digest));
  const headMs = await median(() => hsm.store.audit.head(hsm.node));
  const chainsMs = await median(() => hsm.store.audit.chains());
  return { hmac, ecdsa, headMs, chainsMs };
}

// --- the real processes ----------------------------------------------------------------------

interface Child { pid: number; url: string; creds: DevCredentials; stop(): Promise<void> }

/** `inkan serve --dev` in its own process, until it listens unsealed. */
async function serve(dir: string): Promise<Child & { startMs: number }> {
  const started = performance.now();
  const child = spawn(process.execPath, [INKAN, 'serve', '--dev', '--data', dir, '--http', '127.0.0.1:0', '--p11-socket', path.join(dir, 'p11.sock')], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stderr!.on('data', (c: Buffer) => {
      buf += c.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const l = buf.slice(0, nl); buf = buf.slice(nl + 1);
        try { const j = JSON.parse(l) as { msg?: string; url?: string; state?: string }; if (j.msg === 'listening' && j.url) resolve(j.url); } catch { /* not a log line */ }
      }
      if (buf.length > 1 << 16) buf = '';
    });
    child.once('exit', (code) => reject(new Error(`inkan serve exited (${code})`)));
  });
  const startMs = performance.now() - started;
  child.stderr!.resume();
  const status = await (await fetch(`${url}/v1/status`)).json() as { state?: string };
  if (status.state !== 'unsealed') throw new Error(`the server is ${status.state}`);
  const creds = JSON.parse(fs.readFileSync(path.join(dir, 'dev-credentials.json'), 'utf8')) as DevCredentials;
  return {
    pid: child.pid!, url, creds, startMs,
    stop: () => new Promise<void>((resolve) => { child.once('exit', () => resolve()); child.kill('SIGTERM'); }),
  };
}

const rssMiB = (pid: number, field: 'VmRSS' | 'VmHWM') => Number(/(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith(field))!)![1]) / 1024;

/** Runs a shell pipeline of `inkan` commands, each under /usr/bin/time; wall time and peak RSS of each. */
function timedShell(script: string, env: NodeJS.ProcessEnv, parts: string[]): { wallS: number; each: Timed[] } {
  const t = (i: number) => path.join(os.tmpdir(), `inkan-audit-bench-${process.pid}-${i}.time`);
  const cmd = script.replace(/\{(\d)\}/g, (_m, i: string) => `/usr/bin/time -f '%e %M' -o ${t(Number(i))} ${process.execPath} ${INKAN}`);
  const started = performance.now();
  execFileSync('bash', ['-o', 'pipefail', '-c', cmd], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 20 });
  const wallS = (performance.now() - started) / 1000;
  const each = parts.map((_p, i) => {
    const [e, m] = fs.readFileSync(t(i), 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
    fs.rmSync(t(i), { force: true });
    return { wallS: e, rssMiB: m / 1024 };
  });
  return { wallS, each };
}

async function cliCells(dir: string, r: SizeResult, capped: boolean): Promise<void> {
  const srv = await serve(dir);
  try {
    const env = { INKAN_SERVER: srv.url, INKAN_USER: srv.creds.auditor.username, INKAN_PASSWORD: srv.creds.auditor.password };
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-audit-bench-out-'));
    try {
      const pem = path.join(work, 'audit.pem');
      const out = path.join(work, 'audit.ndjson');
      timedShell(`{0} audit public-key --out ${pem}`, env, ['key']);
      r.export = timedShell(`{0} audit export --out ${out}`, env, ['export']).each[0];
      r.fileMiB = fs.statSync(out).size / 2 ** 20;
      r.verify = timedShell(`{0} audit verify ${out} --public-key ${pem} > /dev/null`, env, ['verify']).each[0];
      if (capped) {
        try {
          timedShell(`{0} audit verify ${out} --public-key ${pem} > /dev/null`, { NODE_OPTIONS: `--max-old-space-size=${VERIFY_HEAP_CAP}` }, ['verify']);
          r.cappedVerify = `OK (${VERIFY_HEAP_CAP} MiB cap)`;
        } catch { r.cappedVerify = `failed (${VERIFY_HEAP_CAP} MiB cap)`; }
      }
      fs.rmSync(out);
      const p = timedShell(`{0} audit export | {1} audit verify - --public-key ${pem} > /dev/null`, env, ['export', 'verify']);
      r.pipe = { exp: p.each[0], ver: p.each[1], wallS: p.wallS };
      r.serverRssPeak = rssMiB(srv.pid, 'VmHWM');
    } finally { fs.rmSync(work, { recursive: true, force: true }); }
  } finally { await srv.stop(); }
}

// --- the table -------------------------------------------------------------------------------

function print(rs: SizeResult[], load0: number[]): void {
  const load1 = os.loadavg();
  console.log(`Inkan audit log at growing size — ${process.version}, ${os.cpus().length} cores, load ${fmt(load0[0], 2)} → ${fmt(load1[0], 2)} (1-min avg), `
    + `throughput cells ${DURATION_MS} ms at concurrency ${CONCURRENCY}, smallest and largest log interleaved (median of ${ROUNDS}); SQLite store`);
  const first = rs[0];
  const last = rs[rs.length - 1];
  const opt = (v: number | undefined, d = 1) => v === undefined || Number.isNaN(v) ? '—' : fmt(v, d);
  const row = (name: string, f: (r: SizeResult) => number | undefined, d = 1) => {
    const a = f(first);
    const b = f(last);
    console.log(`| ${name} | ${rs.map((r) => opt(f(r), d)).join(' | ')} | ${a !== undefined && b !== undefined ? fmt(b / a, 2) : ''} |`);
  };
  console.log(`| | ${rs.map((r) => `${fmt(r.records)} records`).join(' | ')} | largest / smallest |`);
  console.log(`|---|${rs.map(() => '---:').join('|')}|---:|`);
  row('HMAC-SHA256 sign through the core, ops/s', (r) => r.hmac, 0);
  row('CKM_ECDSA P-256 sign through the core, ops/s', (r) => r.ecdsa, 0);
  row('  … CPU per HMAC sign (all threads), µs', (r) => r.hmacCpu, 0);
  row('  … CPU per CKM_ECDSA sign (all threads), µs', (r) => r.ecdsaCpu, 0);
  row('chain head lookup (every commit, status), ms', (r) => r.headMs, 3);
  row('chain list (every export, key usage), ms', (r) => r.chainsMs, 3);
  row('a never-used key\'s last use (bounded scan), ms', (r) => r.lastUseMs, 1);
  row('`inkan serve --dev` spawn → unsealed, ms', (r) => r.startMs, 0);
  row('server RSS after start, MiB', (r) => r.serverRssStart, 0);
  row('export file, MiB', (r) => r.fileMiB, 0);
  row('`audit export --out`, s', (r) => r.export?.wallS, 2);
  row('`audit export --out`, peak RSS MiB', (r) => r.export?.rssMiB, 0);
  row('`audit verify FILE`, s', (r) => r.verify?.wallS, 2);
  row('`audit verify FILE`, peak RSS MiB', (r) => r.verify?.rssMiB, 0);
  row('`audit export | audit verify -`, wall s', (r) => r.pipe?.wallS, 2);
  row('  … export process peak RSS, MiB', (r) => r.pipe?.exp.rssMiB, 0);
  row('  … verify process peak RSS, MiB', (r) => r.pipe?.ver.rssMiB, 0);
  row('server peak RSS (start + 2 exports), MiB', (r) => r.serverRssPeak, 0);
  const spread = (xs?: number[]) => xs ? `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}` : '—';
  console.log(`\nspread over the ${ROUNDS} rounds, ops/s: HMAC ${spread(first.hmacRuns)} vs ${spread(last.hmacRuns)}; CKM_ECDSA ${spread(first.ecdsaRuns)} vs ${spread(last.ecdsaRuns)}`);
  if (last.cappedVerify) console.log(`\`audit verify\` of the ${fmt(last.records)}-record export with node --max-old-space-size=${VERIFY_HEAP_CAP}: ${last.cappedVerify}`);
  // Linear means a constant cost per record once the fixed cost (process start, login, the
  // export's own checkpoint) is taken out: the marginal µs per record between sizes.
  const per = (f: (r: SizeResult) => number | undefined) => rs.slice(1).map((r) => `${fmt((f(r)! - f(first)!) * 1e6 / (r.records - first.records), 2)} µs`).join(' → ');
  console.log(`µs per record beyond the ${fmt(first.records)}-record log, at ${rs.slice(1).map((r) => fmt(r.records)).join(' → ')}: `
    + `export ${per((r) => r.export?.wallS)}; verify ${per((r) => r.verify?.wallS)}; export | verify ${per((r) => r.pipe?.wallS)} (linear: the same at every size)`);
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
