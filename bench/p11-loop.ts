// `npm run bench:p11-loop`: µs per call, and the server's CPU µs per call, of one synchronous
// pkcs11js client through Debian's p11-kit-client.so — the cost of one round trip with nothing
// else in flight, which is what issue 16's "fewer hops per call" is about. Starts this build's
// server (and BENCH_BASELINE's, as in bench:p11) and runs each call interleaved between them.
// BENCH_LOOP_N calls per run (default 5,000), BENCH_REPEAT runs (median), BENCH_OPS a subset.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pkcs11js from 'pkcs11js';

const CLIENT = '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so';
const N = Number(process.env.BENCH_LOOP_N ?? 5000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const OPS = ['session-info', 'random-32', 'sha256-1KiB', 'ecdsa-p256-sign', 'rsa2048-sign'] as const;
type Op = (typeof OPS)[number];
const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

interface Server { name: string; child: ChildProcess; dir: string; address: string; pin: string }

function start(name: string, script: string): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-loop-'));
  const nodeArgs = process.env.BENCH_INKAN_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, script, '--inkan-server', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d;
      const m = /^(\{.*\})\n/m.exec(buf);
      if (m) { const info = JSON.parse(m[1]) as { address: string; pin: string }; resolve({ name, child, dir, ...info }); }
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
}

async function stop(s: Server): Promise<void> {
  const exited = new Promise((resolve) => s.child.once('exit', resolve));
  s.child.kill('SIGTERM');
  await exited;
  fs.rmSync(s.dir, { recursive: true, force: true });
}

/** User + system CPU of a process so far, in µs (/proc/<pid>/stat, clock ticks of 10 ms: use long runs). */
function cpuMicros(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(f[11]) + Number(f[12])) * 1e4;
}

function client(s: Server) {
  process.env.P11_KIT_SERVER_ADDRESS = s.address;
  const p = new pkcs11js.PKCS11();
  p.load(CLIENT);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  const [slot] = p.C_GetSlotList(true);
  const h = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  p.C_Login(h, pkcs11js.CKU_USER, s.pin);
  const rsa = p.C_GenerateKeyPair(h, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
    [{ type: pkcs11js.CKA_TOKEN, value: false }, { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 }, { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }],
    [{ type: pkcs11js.CKA_TOKEN, value: false }, { type: pkcs11js.CKA_SIGN, value: true }]);
  const ec = p.C_GenerateKeyPair(h, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
    [{ type: pkcs11js.CKA_TOKEN, value: false }, { type: pkcs11js.CKA_EC_PARAMS, value: P256 }],
    [{ type: pkcs11js.CKA_TOKEN, value: false }, { type: pkcs11js.CKA_SIGN, value: true }]);
  const data32 = Buffer.alloc(32, 7);
  const kib = Buffer.alloc(1024, 1);
  const out = Buffer.alloc(512);
  const calls: Record<Op, () => void> = {
    'session-info': () => { p.C_GetSessionInfo(h); },
    'random-32': () => { p.C_GenerateRandom(h, Buffer.alloc(32)); },
    'sha256-1KiB': () => { p.C_DigestInit(h, { mechanism: pkcs11js.CKM_SHA256 }); p.C_Digest(h, kib, out); },
    'ecdsa-p256-sign': () => { p.C_SignInit(h, { mechanism: pkcs11js.CKM_ECDSA }, ec.privateKey); p.C_Sign(h, data32, out); },
    'rsa2048-sign': () => { p.C_SignInit(h, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, rsa.privateKey); p.C_Sign(h, data32, out); },
  };
  return { calls, close: () => p.C_Finalize() };
}

interface Sample { us: number; serverUs: number }

/** One run in a child process (pkcs11js loads one module per process). */
function runChild(s: Server, op: Op): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [__filename, '--run', JSON.stringify({ ...s, child: undefined, pid: s.child.pid, op })], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => { out += d; });
    child.once('exit', (code) => code === 0 ? resolve(JSON.parse(out) as Sample) : reject(new Error(`${op} on ${s.name}: exit ${code}`)));
  });
}

function run(job: Server & { pid: number; op: Op }): Sample {
  const c = client(job);
  try {
    const call = c.calls[job.op];
    for (let i = 0; i < 200; i++) call();
    const cpu0 = cpuMicros(job.pid);
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) call();
    const us = Number(process.hrtime.bigint() - t0) / 1e3 / N;
    return { us, serverUs: (cpuMicros(job.pid) - cpu0) / N };
  } finally {
    c.close();
  }
}

async function main(): Promise<void> {
  const servers = [await start('Inkan', path.join(__dirname, 'p11-bench.js'))];
  if (process.env.BENCH_BASELINE) servers.push(await start('Inkan before', path.join(process.env.BENCH_BASELINE, 'bench', 'p11-bench.js')));
  try {
    const only = process.env.BENCH_OPS?.split(',');
    process.stdout.write(`p11 loop: one synchronous pkcs11js client, ${N} calls per run, median of ${REPEAT} interleaved runs, load ${os.loadavg()[0].toFixed(1)}\n`);
    process.stdout.write(`${'call'.padEnd(18)}${servers.map((s) => `${(s.name + ' µs/call').padStart(22)}${'server CPU µs'.padStart(15)}`).join('')}${servers.length > 1 ? '  before/after: µs   CPU' : ''}\n`);
    for (const op of OPS.filter((o) => !only || only.includes(o))) {
      const samples = servers.map(() => [] as Sample[]);
      for (let r = 0; r < REPEAT; r++) for (let i = 0; i < servers.length; i++) samples[i].push(await runChild(servers[i], op));
      // Each column's own median: wall time and server CPU vary apart on a loaded machine.
      const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      const med = samples.map((xs) => ({ us: mid(xs.map((x) => x.us)), serverUs: mid(xs.map((x) => x.serverUs)) }));
      const ratio = med.length > 1 ? `${(med[1].us / med[0].us).toFixed(2).padStart(8)}x${(med[1].serverUs / med[0].serverUs).toFixed(2).padStart(8)}x` : '';
      process.stdout.write(`${op.padEnd(18)}${med.map((m) => `${m.us.toFixed(1).padStart(22)}${m.serverUs.toFixed(1).padStart(15)}`).join('')}${ratio}\n`);
    }
  } finally {
    for (const s of servers) await stop(s);
  }
}

if (process.argv[2] === '--run') process.stdout.write(JSON.stringify(run(JSON.parse(process.argv[3]) as Server & { pid: number; op: Op })));
else main().catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exitCode = 1; });
