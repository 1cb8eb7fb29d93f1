// `npm run bench:p11`: the same pkcs11js client, through Debian's p11-kit-client.so, against
// Inkan's PKCS#11 face and against SoftHSMv2 behind `p11-kit server` (p11-kit's reference
// server), with 1 and 2 client processes. Prints ops/s and p50/p99 latency per operation, and
// `openssl speed -multi 2 rsa2048` as the raw-crypto ceiling of this machine.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as pkcs11js from 'pkcs11js';

const CLIENT = '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so';
const SOFTHSM = '/usr/lib/softhsm/libsofthsm2.so';
const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);
// BENCH_OPS=sha256-1KiB,random-32 runs a subset; BENCH_NO_SPEED=1 skips openssl speed.
const KEYGEN_MS = Number(process.env.BENCH_KEYGEN_MS ?? 3000);
/** Time the client processes get to start and log in before timing starts (more on a loaded machine). */
const START_MS = Number(process.env.BENCH_START_MS ?? 2500);
const OPS = ['rsa2048-sha256-sign', 'ecdsa-p256-sign', 'sha256-1KiB', 'random-32', 'rsa2048-keygen'] as const;
type Op = (typeof OPS)[number];
const RSA_ID = Buffer.from('b0', 'hex');
const EC_ID = Buffer.from('b1', 'hex');
const P256 = Buffer.from('06082a8648ce3d030107', 'hex');

interface Backend { name: string; address: string; pin: string; stop(): Promise<void> }
interface WorkerJob { address: string; pin: string; op: Op; startAt: number; durationMs: number }
interface WorkerResult { count: number; elapsedMs: number; lat: number[]; error?: string }

// ---------------------------------------------------------------------------- client process
function openClient(address: string, pin: string) {
  process.env.P11_KIT_SERVER_ADDRESS = address;
  const p = new pkcs11js.PKCS11();
  p.load(CLIENT);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  let [slot] = p.C_GetSlotList(true);
  // p11-kit server occasionally answers a fresh connection before its token is ready: ask again.
  for (let i = 0; !slot && i < 50; i++) {
    p.C_Finalize();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    [slot] = p.C_GetSlotList(true);
  }
  const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  // Builds before issue 16's workers throttled a correct login given while another process's
  // attempt on the same account was being checked (LOGIN_THROTTLED, CKR_PIN_INCORRECT): a
  // BENCH_BASELINE of such a build needs this retry after the 250 ms delay.
  for (let i = 0; ; i++) {
    try { p.C_Login(s, pkcs11js.CKU_USER, pin); break; } catch (err) {
      if (i >= 20 || !/CKR_PIN_INCORRECT/.test(String(err))) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 300);
    }
  }
  const find = (id: Buffer) => {
    p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_ID, value: id }]);
    const [h] = p.C_FindObjects(s, 1);
    p.C_FindObjectsFinal(s);
    return h;
  };
  return { p, s, find };
}

function operation(op: Op, c: ReturnType<typeof openClient>): () => void {
  const { p, s } = c;
  const data32 = Buffer.alloc(32, 7);
  const kib = Buffer.alloc(1024, 1);
  const out = Buffer.alloc(512);
  switch (op) {
    case 'rsa2048-sha256-sign': {
      const key = c.find(RSA_ID);
      return () => { p.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, key); p.C_Sign(s, data32, out); };
    }
    case 'ecdsa-p256-sign': {
      const key = c.find(EC_ID);
      return () => { p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key); p.C_Sign(s, data32, out); };
    }
    case 'sha256-1KiB': return () => { p.C_DigestInit(s, { mechanism: pkcs11js.CKM_SHA256 }); p.C_Digest(s, kib, out); };
    case 'random-32': return () => { p.C_GenerateRandom(s, Buffer.alloc(32)); };
    case 'rsa2048-keygen': return () => {
      const { publicKey, privateKey } = p.C_GenerateKeyPair(s, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
        [{ type: pkcs11js.CKA_TOKEN, value: false }, { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 }, { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }],
        [{ type: pkcs11js.CKA_TOKEN, value: false }, { type: pkcs11js.CKA_SIGN, value: true }]);
      p.C_DestroyObject(s, privateKey);
      p.C_DestroyObject(s, publicKey);
    };
  }
}

function runWorker(job: WorkerJob): WorkerResult {
  const c = openClient(job.address, job.pin);
  try {
    const run = operation(job.op, c);
    run();
    while (Date.now() < job.startAt) { /* wait for the other processes */ }
    const lat: number[] = [];
    const t0 = process.hrtime.bigint();
    const end = job.startAt + job.durationMs;
    while (Date.now() < end) {
      const t = process.hrtime.bigint();
      run();
      lat.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
    return { count: lat.length, elapsedMs: Number(process.hrtime.bigint() - t0) / 1e6, lat };
  } finally {
    c.p.C_Finalize();
  }
}

// ---------------------------------------------------------------------------- backends
function waitLine(child: ChildProcess, match: RegExp): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => { buf += d; const m = match.exec(buf); if (m) resolve(m[1]); });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${buf}`)));
  });
}
function stopper(child: ChildProcess, dir: string): () => Promise<void> {
  return async () => {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  };
}

/** `script` is this file, or the same bench of another build (BENCH_BASELINE=…/dist: its dist/bench/p11-bench.js). */
async function startInkan(name = 'Inkan', script = __filename): Promise<Backend> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-bench-'));
  const nodeArgs = process.env.BENCH_INKAN_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, script, '--inkan-server', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const info = JSON.parse(await waitLine(child, /^(\{.*\})\n/m)) as { address: string; pin: string };
  return { name, address: info.address, pin: info.pin, stop: stopper(child, dir) };
}

/** This build as a user runs it: `inkan serve --dev --workers N` (the primary owns the socket). */
async function startInkanWorkers(name: string, workers: number): Promise<Backend> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-bench-'));
  const bin = path.join(__dirname, '..', '..', 'bin', 'inkan.js');
  const child = spawn(process.execPath, [bin, 'serve', '--dev', '--data', dir, '--http', '127.0.0.1:0', '--workers', String(workers)],
    { stdio: ['ignore', 'pipe', 'ignore'] });
  await waitLine(child, /(admin API at \S+)/);
  const creds = JSON.parse(fs.readFileSync(path.join(dir, 'dev-credentials.json'), 'utf8')) as { p11: { address: string; pin: string } };
  return { name, address: creds.p11.address, pin: creds.p11.pin, stop: stopper(child, dir) };
}

async function serveInkan(dir: string): Promise<void> {
  const { startServer } = await import('../src/server');
  const { silentLogger } = await import('../src/logger');
  const s = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger });
  const creds = s.credentials!;
  process.stdout.write(JSON.stringify({ address: s.p11Address, pin: `${creds.user.username}:${creds.user.password}` }) + '\n');
  process.on('SIGTERM', () => { void s.close().then(() => process.exit(0)); });
}

async function startSoftHsm(): Promise<Backend> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'softhsm-bench-'));
  fs.mkdirSync(path.join(dir, 'tokens'));
  const conf = path.join(dir, 'softhsm2.conf');
  fs.writeFileSync(conf, `directories.tokendir = ${dir}/tokens\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const env = { ...process.env, SOFTHSM2_CONF: conf };
  await new Promise<void>((resolve, reject) => execFile('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--so-pin', '12345678', '--pin', '12345678'],
    { env }, (err) => err ? reject(err) : resolve()));
  const sock = path.join(dir, 'sock');
  const child = spawn('p11-kit', ['server', '-f', '-n', sock, '--provider', SOFTHSM, 'pkcs11:token=bench'], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const address = await waitLine(child, /P11_KIT_SERVER_ADDRESS=([^;]+);/);
  return { name: 'SoftHSM+p11-kit', address, pin: '12345678', stop: stopper(child, dir) };
}

/** The benchmark keys, made once per backend through the same client. */
function makeKeys(b: Backend): void {
  const c = openClient(b.address, b.pin);
  try {
    c.p.C_GenerateKeyPair(c.s, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 }, { type: pkcs11js.CKA_ID, value: RSA_ID },
        { type: pkcs11js.CKA_PUBLIC_EXPONENT, value: Buffer.from([1, 0, 1]) }],
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_ID, value: RSA_ID }, { type: pkcs11js.CKA_SIGN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: true }]);
    c.p.C_GenerateKeyPair(c.s, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: P256 }, { type: pkcs11js.CKA_ID, value: EC_ID }],
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_ID, value: EC_ID }, { type: pkcs11js.CKA_SIGN, value: true }, { type: pkcs11js.CKA_PRIVATE, value: true }]);
  } finally {
    c.p.C_Finalize();
  }
}

// ---------------------------------------------------------------------------- measuring
interface Row { ops: number; p50: number; p99: number; error?: string }

function runJob(job: WorkerJob): Promise<WorkerResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [__filename, '--worker', JSON.stringify(job)], { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) resolve({ count: 0, elapsedMs: 1, lat: [], error: (String(stderr).match(/CKR_\w+|Error: [^\n]+/) ?? [String(err).split('\n')[0]])[0] });
      else resolve(JSON.parse(stdout) as WorkerResult);
    });
  });
}

/** BENCH_REPEAT runs (default 3, interleaved by the caller's loop), the median by ops/s. */
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
function median(rows: Row[]): Row {
  const ok = rows.filter((r) => !r.error).sort((a, b) => a.ops - b.ops);
  return ok.length ? ok[Math.floor(ok.length / 2)] : rows[0];
}

async function measureOnce(b: Backend, op: Op, procs: number): Promise<Row> {
  const durationMs = op === 'rsa2048-keygen' ? KEYGEN_MS : DURATION_MS;
  const startAt = Date.now() + START_MS; // time for the client processes to start and log in
  const results = await Promise.all(Array.from({ length: procs }, () => runJob({ address: b.address, pin: b.pin, op, startAt, durationMs })));
  const failed = results.find((r) => r.error);
  if (failed) return { ops: 0, p50: 0, p99: 0, error: failed.error };
  const lat = results.flatMap((r) => r.lat).sort((x, y) => x - y);
  const ops = results.reduce((sum, r) => sum + r.count / (r.elapsedMs / 1000), 0);
  return { ops, p50: lat[Math.floor(lat.length * 0.5)] / 1000, p99: lat[Math.floor(lat.length * 0.99)] / 1000 };
}

function opensslSpeed(): Promise<string> {
  return new Promise((resolve) => {
    execFile('openssl', ['speed', '-seconds', '2', '-multi', '2', 'rsa2048'], { maxBuffer: 4 * 1024 * 1024 }, (err, stdout) => {
      const line = stdout.split('\n').find((l) => /^rsa\s+2048/.test(l) || /^\+F2:/.test(l));
      const m = /rsa\s+2048 bits\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)\s+([\d.]+)/.exec(stdout);
      resolve(m ? m[1] : err ? `failed: ${err.message}` : (line ?? 'unparsed'));
    });
  });
}

const fmt = (n: number, w: number, d = 0) => n.toFixed(d).padStart(w);

async function main(): Promise<void> {
  // BENCH_BASELINE=/path/to/other/checkout/dist runs that build's Inkan beside this one (before/after in one run).
  const baseline = process.env.BENCH_BASELINE;
  // BENCH_WORKERS=N (default: the number of cores): this build as `inkan serve --workers N`, and
  // in one process beside it (BENCH_ONE=0 leaves that out).
  const workers = Number(process.env.BENCH_WORKERS ?? os.availableParallelism());
  const backends = workers > 1 ? [await startInkanWorkers(`Inkan -w${workers}`, workers)] : [await startInkan()];
  if (workers > 1 && process.env.BENCH_ONE !== '0') backends.push(await startInkan('Inkan 1 proc'));
  if (baseline) backends.push(await startInkan('Inkan before', path.join(baseline, 'bench', 'p11-bench.js')));
  backends.push(await startSoftHsm());
  const soft = backends[backends.length - 1];
  try {
    for (const b of backends) makeKeys(b);
    process.stdout.write(`p11 bench: pkcs11js → p11-kit-client.so → {${backends.map((b) => b.name).join(', ')}}, ${DURATION_MS} ms per row (keygen ${KEYGEN_MS} ms), median of ${REPEAT} interleaved runs, ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}\n\n`);
    const head = (n: string) => `${(n + ' ops/s').padStart(14)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}`;
    process.stdout.write(`${'operation'.padEnd(22)}${'procs'.padStart(6)} | ${backends.map((b) => head(b.name)).join(' | ')} | ${'ratio'.padStart(6)}${baseline ? ' | after/before' : ''}\n`);
    process.stdout.write('-'.repeat(40 + 36 * backends.length) + '\n');
    const only = process.env.BENCH_OPS?.split(',');
    const procsList = (process.env.BENCH_PROCS ?? '1,2').split(',').map(Number);
    for (const op of OPS.filter((o) => !only || only.includes(o))) {
      for (const procs of procsList) {
        const runs = backends.map(() => [] as Row[]);
        for (let r = 0; r < REPEAT; r++) for (let i = 0; i < backends.length; i++) runs[i].push(await measureOnce(backends[i], op, procs));
        const rows = runs.map(median);
        const cell = (r: Row) => r.error ? `ERROR ${r.error}`.slice(0, 32).padStart(32) : `${fmt(r.ops, 14)}${fmt(r.p50, 9, 3)}${fmt(r.p99, 9, 3)}`;
        const ink = rows[0];
        const sh = rows[backends.indexOf(soft)];
        const ratio = sh.ops ? fmt(ink.ops / sh.ops, 5, 2) + 'x' : '   -';
        const before = rows[backends.findIndex((b) => b.name === 'Inkan before')];
        const vsBefore = baseline && before?.ops ? ` | ${fmt(ink.ops / before.ops, 9, 2)}x` : '';
        process.stdout.write(`${op.padEnd(22)}${fmt(procs, 6)} | ${rows.map(cell).join(' | ')} | ${ratio}${vsBefore}\n`);
      }
    }
    if (!process.env.BENCH_NO_SPEED) process.stdout.write(`\nopenssl speed -multi 2 rsa2048: ${await opensslSpeed()} sign/s\n`);
  } finally {
    for (const b of backends) await b.stop();
  }
}

if (process.argv[2] === '--worker') {
  process.stdout.write(JSON.stringify(runWorker(JSON.parse(process.argv[3]) as WorkerJob)));
} else if (process.argv[2] === '--inkan-server') {
  void serveInkan(process.argv[3]);
} else {
  main().catch((err) => { process.stderr.write(`${(err as Error).stack}\n`); process.exitCode = 1; });
}
