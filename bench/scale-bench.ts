// `npm run bench:scale`: is a call's cost flat in the number of keys? For 10, 10,000 and 100,000
// keys in one user's partition (BENCH_SCALE_SIZES), made quickly through the core API, it starts
// the real server (`inkan serve --dev`) on that data directory and measures, one request at a
// time: sign/encrypt by key id and by label through the admin API (HTTP, as the `inkan` CLI does),
// KMS Sign by alias and Encrypt by KeyId (requests pre-signed by the AWS SDK, replayed), PKCS#11
// C_FindObjects by CKA_LABEL then C_Sign (pkcs11js through Debian's p11-kit-client.so), the
// server's startup time (process start to listening and unsealed), its RSS idle and after one
// `inkan key list`, and that list's time and line count. BENCH_BASELINE=…/dist runs the same
// measurements against that build's server and CLI on a copy of the same data directory, both
// servers running, the latency rows alternating between them (BENCH_ROUNDS rounds of BENCH_ROW_MS
// each) so that both meet the same load. Prints one side-by-side table; never asserts a timing.
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as nc from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { CreateAliasCommand, CreateKeyCommand, EncryptCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { presign, replayer } from './bench-util';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const SIZES = (process.env.BENCH_SCALE_SIZES ?? '10,10000,100000').split(',').map(Number);
/** Each latency row runs this long (and at least MIN_SAMPLES requests, at most MAX_SAMPLES). */
const ROW_MS = Number(process.env.BENCH_ROW_MS ?? 700);
const MIN_SAMPLES = 3;
const MAX_SAMPLES = 2000;
const CLIENT = '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so';
const EC_LABEL = 'scale-ec-target';
const AES_LABEL = 'scale-aes-target';
const THIS_ROOT = path.resolve(__dirname, '..', '..');

interface Info { ecId: string; aesId: string; kmsEc: string; kmsAes: string; keys: number; objects: number; createMs: number }
type Cell = number | string | undefined;

// ---------------------------------------------------------------------------- populating
/** `--populate DIR N`: a dev module in DIR with N keys of the crypto user (every tenth an EC pair,
 *  the rest AES-256, each its own label), two of them the targets, and two KMS keys with aliases. */
async function populate(dir: string, n: number): Promise<void> {
  const { startServer } = await import('../src/server');
  const { silentLogger } = await import('../src/logger');
  const { keyGenPlan } = await import('../src/api/admin/key-spec');
  const s = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger });
  try {
    const creds = s.credentials!;
    const hsm = s.hsm;
    const caller = hsm.callerOf(await hsm.login(creds.user.username, creds.user.password), 'internal');
    // Every tenth key is an EC pair (two objects): room for them beyond the default 100,000 per user.
    const officer = hsm.callerOf(await hsm.login(creds.officer.username, creds.officer.password), 'internal');
    await hsm.partitions.setPolicy(officer, { maxObjectsPerUser: 3 * n + 100 });
    const make = async (label: string, ec: boolean) => {
      const plan = keyGenPlan(ec ? { type: 'ec', curve: 'P-256', label } : { type: 'aes', size: 256, label });
      if (!plan.pair) return [(await hsm.keys.generateKey(caller, plan.mechanism, plan.template, { uniqueLabel: false })).id];
      const pair = await hsm.keys.generateKeyPair(caller, plan.mechanism, plan.publicTemplate, plan.template, { uniqueLabel: false });
      return [pair.privateKey.id, pair.publicKey.id];
    };
    const t0 = performance.now();
    const [ecId] = await make(EC_LABEL, true);
    const [aesId] = await make(AES_LABEL, false);
    let objects = 3;
    // Batches of concurrent creations: the core's group commit makes each batch a few transactions.
    for (let i = 0; i < n - 2; i += 500) {
      const batch = Array.from({ length: Math.min(500, n - 2 - i) }, (_, j) => make(`scale-${i + j}`, (i + j) % 10 === 0));
      for (const ids of await Promise.all(batch)) objects += ids.length;
    }
    const kc = creds.kms as { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
    const kms = new KMSClient({ endpoint: kc.endpoint, region: kc.region, maxAttempts: 1, credentials: { accessKeyId: kc.accessKeyId, secretAccessKey: kc.secretAccessKey } });
    const kmsEc = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const kmsAes = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/scale-ec', TargetKeyId: kmsEc }));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/scale-aes', TargetKeyId: kmsAes }));
    kms.destroy();
    const info: Info = { ecId, aesId, kmsEc, kmsAes, keys: n, objects, createMs: performance.now() - t0 };
    fs.writeFileSync(path.join(dir, 'scale-info.json'), JSON.stringify(info));
  } finally {
    await s.close();
  }
}

// ---------------------------------------------------------------------------- the PKCS#11 client
/** `--p11 JSON`: C_FindObjects by CKA_LABEL then C_Sign (CKM_ECDSA), one at a time; prints latencies in ms. */
function p11Client(job: { address: string; pin: string; label: string }): void {
  // Loaded here only: the main process never loads the native module.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pkcs11js = require('pkcs11js') as typeof import('pkcs11js');
  process.env.P11_KIT_SERVER_ADDRESS = job.address;
  const p = new pkcs11js.PKCS11();
  p.load(CLIENT);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    const [slot] = p.C_GetSlotList(true);
    const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p.C_Login(s, pkcs11js.CKU_USER, job.pin);
    const digest = nc.createHash('sha256').update('scale').digest();
    const out = Buffer.alloc(128);
    const once = () => {
      p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: job.label }]);
      const found = p.C_FindObjects(s, 2);
      p.C_FindObjectsFinal(s);
      if (found.length !== 1) throw new Error(`C_FindObjects by label found ${found.length} objects`);
      p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, found[0]);
      p.C_Sign(s, digest, out);
    };
    once();
    const lat: number[] = [];
    const end = performance.now() + ROW_MS;
    while ((performance.now() < end || lat.length < MIN_SAMPLES) && lat.length < MAX_SAMPLES) {
      const t = performance.now();
      once();
      lat.push(performance.now() - t);
    }
    process.stdout.write(JSON.stringify(lat));
  } finally {
    p.C_Finalize();
  }
}

// ---------------------------------------------------------------------------- measuring one server
function pct(lat: number[], p: number): number {
  const s = [...lat].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))];
}

async function timed(fn: () => Promise<unknown>): Promise<number[]> {
  await fn(); // warm the connection and the caches
  const lat: number[] = [];
  const end = performance.now() + ROW_MS;
  while ((performance.now() < end || lat.length < MIN_SAMPLES) && lat.length < MAX_SAMPLES) {
    const t = performance.now();
    await fn();
    lat.push(performance.now() - t);
  }
  return lat;
}

function rssMb(pid: number): { rss: number; hwm: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`${name}:\\s+(\\d+)`).exec(status)![1]);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

function json(agent: http.Agent, url: string, method: string, p: string, body: unknown, token?: string): Promise<Record<string, unknown>> {
  const u = new URL(p, url);
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const r = http.request({ host: u.hostname, port: u.port, method, path: u.pathname + u.search, agent,
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        if (res.statusCode! >= 300) reject(new Error(`${method} ${p}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
        else resolve(text ? JSON.parse(text) : {});
      });
    });
    r.on('error', reject);
    r.end(data);
  });
}

function startServer(root: string, dir: string): Promise<{ child: ChildProcess; url: string; ms: number }> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [path.join(root, 'bin', 'inkan.js'), 'serve', '--dev', '--data', dir, '--http', '127.0.0.1:0'],
    { stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => {
      buf += d;
      const m = /admin API at (\S+)/.exec(buf);
      if (m) { child.stdout!.removeAllListeners('data'); child.stdout!.resume(); resolve({ child, url: m[1], ms: performance.now() - t0 }); }
    });
    child.once('exit', (code) => reject(new Error(`server exited with ${code}: ${buf}`)));
  });
}

function runP11(address: string, pin: string): Promise<number[]> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [__filename, '--p11', JSON.stringify({ address, pin, label: EC_LABEL })], { maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`p11 client: ${String(stderr).split('\n').slice(0, 3).join(' ')}`)); else resolve(JSON.parse(stdout) as number[]);
    });
  });
}

function keyList(root: string, url: string, user: { username: string; password: string }): Promise<{ ms: number; lines: number }> {
  const cfg = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-scale-cli-'));
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'inkan.js'), 'key', 'list'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, INKAN_SERVER: url, INKAN_USER: user.username, INKAN_PASSWORD: user.password, INKAN_CONFIG_DIR: cfg, INKAN_OUTPUT: 'table' },
    });
    let lines = 0;
    let err = '';
    child.stdout!.on('data', (d: Buffer) => { for (const b of d) if (b === 10) lines++; });
    child.stderr!.on('data', (d: Buffer) => { err += d; });
    child.once('exit', (code) => {
      fs.rmSync(cfg, { recursive: true, force: true });
      if (code !== 0) reject(new Error(`inkan key list exited ${code}: ${err.slice(0, 300)}`)); else resolve({ ms: performance.now() - t0, lines });
    });
  });
}

/** One build's server on its copy of the data directory, ready to be measured. */
interface Running {
  name: string; root: string; dir: string; child: ChildProcess; url: string; agent: http.Agent; out: Record<string, Cell>;
  creds: { user: { username: string; password: string }; p11: { address: string; pin: string } };
  rows: [string, () => Promise<unknown>][];
}

async function startBuild(name: string, root: string, dir: string): Promise<Running> {
  const info = JSON.parse(fs.readFileSync(path.join(dir, 'scale-info.json'), 'utf8')) as Info;
  const { child, url, ms } = await startServer(root, dir);
  const out: Record<string, Cell> = { 'startup to listening+unsealed, ms': ms };
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const creds = JSON.parse(fs.readFileSync(path.join(dir, 'dev-credentials.json'), 'utf8')) as Running['creds'] & {
    kms: { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string } };
  const { token } = await json(agent, url, 'POST', '/v1/login', creds.user) as { token: string };
  const data = Buffer.alloc(32, 1).toString('base64');
  const kmsCreds = { ...creds.kms, endpoint: url };
  const msg = Buffer.alloc(1024, 2);
  const rows: Running['rows'] = [
    ['admin sign EC by id', () => json(agent, url, 'POST', `/v1/keys/${info.ecId}/sign`, { data }, token)],
    ['admin sign EC by label', () => json(agent, url, 'POST', `/v1/keys/${EC_LABEL}/sign`, { data }, token)],
    ['admin encrypt AES by id', () => json(agent, url, 'POST', `/v1/keys/${info.aesId}/encrypt`, { data }, token)],
    ['admin encrypt AES by label', () => json(agent, url, 'POST', `/v1/keys/${AES_LABEL}/encrypt`, { data }, token)],
    ['KMS Sign EC by alias', replayer(url, agent, await presign(kmsCreds, new SignCommand({ KeyId: 'alias/scale-ec', Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' })))],
    ['KMS Encrypt by KeyId', replayer(url, agent, await presign(kmsCreds, new EncryptCommand({ KeyId: info.kmsAes, Plaintext: msg })))],
    ['KMS Encrypt by alias', replayer(url, agent, await presign(kmsCreds, new EncryptCommand({ KeyId: 'alias/scale-aes', Plaintext: msg })))],
  ];
  return { name, root, dir, child, url, agent, out, creds, rows };
}

async function stopBuild(r: Running): Promise<void> {
  r.agent.destroy();
  const exited = new Promise((res) => r.child.once('exit', res));
  r.child.kill('SIGTERM');
  await exited;
}

/** Every figure of every build on its copy of one data directory. The latency rows alternate
 *  between the builds (ROUNDS rounds each), so both meet the same load; startup, lists and
 *  memory are per server. */
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
async function measureBuilds(builds: [string, string][], dirOf: (name: string) => string): Promise<Record<string, Cell>[]> {
  const running: Running[] = [];
  try {
    // Started one at a time, so each startup has the machine to itself (as far as this bench goes).
    for (const [name, root] of builds) running.push(await startBuild(name, root, dirOf(name)));
    await new Promise((r) => setTimeout(r, 1000));
    for (const r of running) r.out['server RSS idle, MB'] = rssMb(r.child.pid!).rss;
    for (let i = 0; i < running[0].rows.length; i++) {
      const lat = running.map(() => [] as number[]);
      for (let k = 0; k < ROUNDS; k++) for (let j = 0; j < running.length; j++) lat[j].push(...await timed(running[j].rows[i][1]));
      running.forEach((r, j) => { r.out[`${r.rows[i][0]} p50 ms`] = pct(lat[j], 0.5); r.out[`${r.rows[i][0]} p99 ms`] = pct(lat[j], 0.99); });
    }
    const p11 = running.map(() => [] as number[]);
    for (let k = 0; k < ROUNDS; k++) for (let j = 0; j < running.length; j++) p11[j].push(...await runP11(running[j].creds.p11.address, running[j].creds.p11.pin));
    running.forEach((r, j) => { r.out['p11 FindObjects(label)+Sign p50 ms'] = pct(p11[j], 0.5); r.out['p11 FindObjects(label)+Sign p99 ms'] = pct(p11[j], 0.99); });
    for (const r of running) {
      r.out['server RSS before list, MB'] = rssMb(r.child.pid!).rss;
      const list = await keyList(r.root, r.url, r.creds.user);
      r.out['inkan key list, ms'] = list.ms;
      r.out['inkan key list, lines'] = list.lines;
      await new Promise((res) => setTimeout(res, 500));
      const after = rssMb(r.child.pid!);
      r.out['server RSS after list, MB'] = after.rss;
      r.out['server peak RSS (VmHWM), MB'] = after.hwm;
    }
    return running.map((r) => r.out);
  } finally {
    for (const r of running) await stopBuild(r);
  }
}

// ---------------------------------------------------------------------------- the table
function fmt(v: Cell): string {
  if (v === undefined) return '-';
  if (typeof v === 'string') return v;
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
}

function printTable(columns: string[], results: Record<string, Cell>[]): void {
  const names: string[] = [];
  for (const r of results) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
  const lines = names.map((n) => [n, ...results.map((r) => fmt(r[n]))]);
  const head = ['', ...columns];
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cols: string[]) => `| ${cols.map((c, i) => (i ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join(' | ')} |`;
  console.log(row(head));
  console.log(`|${widths.map((w, i) => (i ? '-'.repeat(w + 1) + ':' : '-'.repeat(w + 2))).join('|')}|`);
  for (const l of lines) console.log(row(l));
}

async function main(): Promise<void> {
  const baseline = process.env.BENCH_BASELINE ? path.resolve(process.env.BENCH_BASELINE, '..') : undefined;
  const builds: [string, string][] = [['now', THIS_ROOT], ...(baseline ? [['before', baseline] as [string, string]] : [])];
  console.error(`Inkan scale benchmark: sizes ${SIZES.join(', ')}, ${ROW_MS} ms per latency row, one request at a time, `
    + `${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(1)}, node ${process.version}`);
  const columns: string[] = [];
  const results: Record<string, Cell>[] = [];
  for (const n of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `inkan-scale-${n}-`));
    try {
      execFileSync(process.execPath, [__filename, '--populate', dir, String(n)], { stdio: 'inherit' });
      const info = JSON.parse(fs.readFileSync(path.join(dir, 'scale-info.json'), 'utf8')) as Info;
      console.error(`${n} keys (${info.objects} objects) made in ${(info.createMs / 1000).toFixed(1)} s`);
      // Each build starts from its own copy of the same directory.
      const dirOf = (name: string) => `${dir}-${name}`;
      for (const [name] of builds) fs.cpSync(dir, dirOf(name), { recursive: true, filter: (src) => !src.endsWith('.sock') });
      try {
        const outs = await measureBuilds(builds, dirOf);
        outs.forEach((r, j) => {
          r['keys made through the core, s'] = j === 0 ? info.createMs / 1000 : undefined;
          results.push(r);
          columns.push(`${n.toLocaleString('en')} ${builds[j][0]}`);
        });
      } finally {
        for (const [name] of builds) fs.rmSync(dirOf(name), { recursive: true, force: true });
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  printTable(columns, results);
  console.log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
}

const mode = process.argv[2];
if (mode === '--populate') void populate(process.argv[3], Number(process.argv[4])).then(() => process.exit(0), (err) => { console.error(err); process.exit(1); });
else if (mode === '--p11') p11Client(JSON.parse(process.argv[3]));
else void main().catch((err) => { console.error(err); process.exitCode = 1; });
