// A throw-away PostgreSQL server for tests: Debian's postgresql binaries, a fresh cluster in a
// temporary directory, a unix socket there (and 127.0.0.1 on a free port if asked), trust auth.
// One server per test file, a fresh database per test; everything is removed on stop.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'pg';

const run = promisify(execFile);
const DIR_PREFIX = 'inkan-pg-';
/** The role the stores connect as: owns the test databases, is not a superuser. */
export const TEST_ROLE = 'inkan';

export interface TestPostgres {
  /** URL of a database `inkan` owned by the test role (unix socket). */
  url: string;
  /** The same database over TCP on 127.0.0.1, if started with `tcp: true`. */
  tcpUrl?: string;
  /** The socket directory (also the cluster's home). */
  dir: string;
  /** A fresh empty database owned by the test role; returns its URL. */
  createDatabase(name: string, opts?: { icuLocale?: string }): Promise<string>;
  /** Runs SQL as the superuser (on `db`, default `postgres`). */
  admin<T = Record<string, unknown>>(sql: string, params?: unknown[], db?: string): Promise<T[]>;
  /** pg_ctl stop -m fast: the server goes away (sessions are terminated), the data stays.
   *  Does nothing if it is not running. */
  down(): Promise<void>;
  /** pg_ctl start after down(); does nothing if it is running. */
  up(): Promise<void>;
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT every server process: a server that hangs without closing anything. */
  freeze(): void;
  thaw(): void;
  /** Stops the server and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartOptions { tcp?: boolean }

function binDir(): string {
  if (process.env.INKAN_PG_BIN) return process.env.INKAN_PG_BIN;
  const root = '/usr/lib/postgresql';
  const versions = fs.existsSync(root) ? fs.readdirSync(root).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a)) : [];
  for (const v of versions) if (fs.existsSync(path.join(root, v, 'bin', 'initdb'))) return path.join(root, v, 'bin');
  throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install -y postgresql), or set INKAN_PG_BIN');
}

/** PostgreSQL refuses to run as root: as root, run its programs as the `postgres` system user. */
function asServerUser(cmd: string, args: string[]): [string, string[]] {
  return process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
}

async function pg(bin: string, args: string[], timeoutMs = 30_000): Promise<string> {
  const [cmd, argv] = asServerUser(bin, args);
  const { stdout } = await run(cmd, argv, { timeout: timeoutMs, cwd: '/' });
  return stdout;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => { const { port } = srv.address() as net.AddressInfo; srv.close(() => resolve(port)); });
  });
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch { return false; }
}

/** The postmaster's pid if it is running on `dataDir` (checked against its command line, so a
 *  reused pid is never signalled). */
function postmasterPid(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return undefined;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dataDir) ? pid : undefined;
  } catch { return undefined; }
}

/** Processes whose parent is `pid` (from /proc: Linux only, like the rest of this helper). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) out.push(Number(name));
    } catch { /* exited meanwhile */ }
  }
  return out;
}

/** Immediate shutdown (SIGQUIT) and removal; synchronous, for exit handlers and stale servers. */
function destroySync(dir: string): void {
  const pid = postmasterPid(path.join(dir, 'data'));
  if (pid) try { process.kill(pid, 'SIGQUIT'); } catch { /* already gone */ }
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Removes servers left behind by test processes that were killed before they could stop them. */
function sweepStale(tmp: string): void {
  for (const name of fs.readdirSync(tmp)) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = path.join(tmp, name);
    try {
      const owner = Number(fs.readFileSync(path.join(dir, 'owner'), 'utf8'));
      if (Number.isInteger(owner) && owner > 0 && !alive(owner)) destroySync(dir);
    } catch { /* not ours, or being created right now */ }
  }
}

function confLines(dir: string, port: number, tcp: boolean): string {
  return [
    '', '# inkan test server',
    `listen_addresses = '${tcp ? '127.0.0.1' : ''}'`,
    `port = ${port}`,
    `unix_socket_directories = '${dir}'`,
    'unix_socket_permissions = 0777',
    // A throw-away server: durability costs time and buys nothing here.
    'fsync = off', 'full_page_writes = off',
    'shared_buffers = 32MB', 'max_connections = 200',
    'log_min_messages = warning', "log_line_prefix = '%m [%p] '",
    '',
  ].join('\n');
}

/** initdb into `dataDir` and start the server, retrying on a TCP port someone else took. */
async function initAndStart(bin: string, dir: string, dataDir: string, ctl: (args: string[]) => Promise<string>, tcp: boolean): Promise<number> {
  await pg(path.join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C', '--no-instructions']);
  fs.appendFileSync(path.join(dataDir, 'postgresql.conf'), "\ninclude_if_exists = 'postgresql.test.conf'\n");
  for (let attempt = 1; ; attempt++) {
    const port = tcp ? await freePort() : 5432;
    fs.writeFileSync(path.join(dataDir, 'postgresql.test.conf'), confLines(dir, port, tcp));
    try { await ctl(['start']); return port; } catch (err) {
      // Another process took the free port between our probe and the server's bind: retry.
      if (!tcp || attempt >= 3) throw err;
    }
  }
}

/** A private directory for the cluster, owned by the server's user, removed when the process exits. */
async function makeHome(tmp: string): Promise<{ dir: string; onExit: () => void }> {
  const dir = fs.mkdtempSync(path.join(tmp, DIR_PREFIX));
  fs.writeFileSync(path.join(dir, 'owner'), String(process.pid));
  const onExit = () => destroySync(dir);
  process.on('exit', onExit);
  if (process.getuid?.() === 0) {
    const uid = Number((await run('id', ['-u', 'postgres'])).stdout);
    const gid = Number((await run('id', ['-g', 'postgres'])).stdout);
    fs.chownSync(dir, uid, gid);
  }
  return { dir, onExit };
}

export async function startPostgres(opts: StartOptions = {}): Promise<TestPostgres> {
  const bin = binDir();
  // The socket path (dir/.s.PGSQL.port) must fit in sun_path (108 bytes).
  const tmp = os.tmpdir().length < 60 ? os.tmpdir() : '/tmp';
  sweepStale(tmp);
  const { dir, onExit } = await makeHome(tmp);
  const dataDir = path.join(dir, 'data');
  const logFile = path.join(dir, 'server.log');
  const logTail = () => { try { return fs.readFileSync(logFile, 'utf8').slice(-2000); } catch { return ''; } };
  const ctl = (args: string[]) => pg(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '30', ...args], 40_000);
  try {
    const port = await initAndStart(bin, dir, dataDir, ctl, !!opts.tcp);
    const handle = serverHandle({ dir, dataDir, port, tcp: !!opts.tcp, ctl, logTail, onExit });
    await handle.admin(`CREATE ROLE ${TEST_ROLE} LOGIN`);
    return { ...handle, url: await handle.createDatabase('inkan') };
  } catch (err) {
    const tail = logTail();
    destroySync(dir);
    process.off('exit', onExit);
    throw new Error(`could not start a test PostgreSQL: ${(err as Error).message}${tail ? `\n${tail}` : ''}`);
  }
}

interface ServerParts {
  dir: string; dataDir: string; port: number; tcp: boolean;
  ctl: (args: string[]) => Promise<string>; logTail: () => string; onExit: () => void;
}

function serverHandle(p: ServerParts): Omit<TestPostgres, 'url'> {
  const socketUrl = (db: string, user: string) => `postgres://${user}@localhost:${p.port}/${db}?host=${p.dir}`;
  const signalAll = (sig: NodeJS.Signals) => {
    const pid = postmasterPid(p.dataDir);
    if (!pid) throw new Error('the test PostgreSQL server is not running');
    // Every backend calls setsid(), so there is no process group to signal: the postmaster
    // first (a stopped postmaster forks no new backends), then each of its children.
    process.kill(pid, sig);
    for (const child of childrenOf(pid)) try { process.kill(child, sig); } catch { /* just exited */ }
  };
  const down = async () => { if (postmasterPid(p.dataDir)) await p.ctl(['stop', '-m', 'fast']); };
  const up = async () => {
    if (postmasterPid(p.dataDir)) return;
    try { await p.ctl(['start']); } catch (err) { throw new Error(`test PostgreSQL did not start: ${(err as Error).message}\n${p.logTail()}`); }
  };
  const admin = async <T>(sql: string, params: unknown[] = [], db = 'postgres'): Promise<T[]> => {
    const c = new Client({ connectionString: socketUrl(db, 'postgres'), connectionTimeoutMillis: 5000 });
    c.on('error', () => undefined);
    await c.connect();
    try { return (await c.query(sql, params)).rows as T[]; } finally { await c.end(); }
  };
  let stopped = false;
  return {
    dir: p.dir, admin, down, up,
    tcpUrl: p.tcp ? `postgres://${TEST_ROLE}@127.0.0.1:${p.port}/inkan` : undefined,
    async createDatabase(name, dbOpts = {}) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`bad database name ${name.slice(0, 70)}`);
      if (dbOpts.icuLocale !== undefined && !/^[A-Za-z0-9-]+$/.test(dbOpts.icuLocale)) throw new Error('bad ICU locale');
      const icu = dbOpts.icuLocale ? ` TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE '${dbOpts.icuLocale}'` : '';
      await admin(`CREATE DATABASE ${name} OWNER ${TEST_ROLE}${icu}`);
      return socketUrl(name, TEST_ROLE);
    },
    async restart() { await down(); await up(); },
    freeze: () => signalAll('SIGSTOP'),
    thaw: () => signalAll('SIGCONT'),
    async stop() {
      if (stopped) return;
      stopped = true;
      try { signalAll('SIGCONT'); } catch { /* not running */ }
      if (postmasterPid(p.dataDir)) await p.ctl(['stop', '-m', 'immediate']).catch(() => undefined);
      destroySync(p.dir);
      process.off('exit', p.onExit);
    },
  };
}

/** Waits until `count` sessions of the client's database wait on a lock (a call under test got
 *  that far), so tests need not guess with sleeps. */
export async function lockWaiters(c: Client, count: number): Promise<void> {
  for (let i = 0; i < 250; i++) {
    // Inside a transaction pg_stat_activity keeps its first snapshot: drop it to see news.
    await c.query('SELECT pg_stat_clear_snapshot()');
    const { rows } = await c.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (rows[0].n >= count) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  await c.query('SELECT pg_stat_clear_snapshot()');
  const seen = await c.query('SELECT application_name, state, wait_event_type, wait_event, left(query, 60) AS query FROM pg_stat_activity WHERE datname = current_database()');
  throw new Error(`fewer than ${count} sessions ever waited on a lock: ${JSON.stringify(seen.rows)}`);
}
