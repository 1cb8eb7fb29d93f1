// Shared fixtures for the real-client interop tests: a dev server (with its PKCS#11 socket) in a
// temp dir, and running client programs asynchronously — the server lives in this process, so
// a synchronous spawn would block the very event loop that must answer the client.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { devServer, TestServer, tempDir } from '../helpers/harness';

export const P11_KIT_CLIENT = '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so';

export interface RunResult { status: number; stdout: Buffer; stderr: string }

export interface P11Server extends TestServer {
  /** "username:password" of the dev crypto user. */
  pin: string;
  officerPin: string;
  /** Environment for a client process: P11_KIT_SERVER_ADDRESS, no user p11-kit config. */
  env: NodeJS.ProcessEnv;
  run(cmd: string, args: string[], opts?: { input?: Buffer | string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<RunResult>;
  /** Runs and throws (with stderr) unless the exit status is 0. */
  ok(cmd: string, args: string[], opts?: { input?: Buffer | string; env?: NodeJS.ProcessEnv }): Promise<Buffer>;
  file(name: string, data?: Buffer | string): string;
}

export function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, input?: Buffer | string, timeoutMs = 120_000): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { env, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: timeoutMs }, (err, stdout, stderr) => {
      const status = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ status, stdout: stdout as Buffer, stderr: (stderr as Buffer).toString() });
    });
    if (input !== undefined) child.stdin!.end(input); else child.stdin!.end();
  });
}

/** A dev server in a fresh temp dir; its socket path stays short (unix socket paths are limited to 107 bytes). */
export async function p11Server(): Promise<P11Server> {
  const server = await devServer(tempDir('inkan-p11-'));
  const creds = server.credentials!;
  const env: NodeJS.ProcessEnv = {
    ...process.env, P11_KIT_SERVER_ADDRESS: server.p11Address, P11_KIT_NO_USER_CONFIG: '1',
    OPENSSL_CONF: '/dev/null',
  };
  const work = fs.mkdtempSync(path.join(server.dir, 'work-'));
  const self: P11Server = {
    ...server,
    pin: `${creds.user.username}:${creds.user.password}`,
    officerPin: `${creds.officer.username}:${creds.officer.password}`,
    env,
    run: (cmd, args, opts = {}) => run(cmd, args, { ...env, ...opts.env }, opts.input, opts.timeoutMs),
    async ok(cmd, args, opts = {}) {
      const r = await run(cmd, args, { ...env, ...opts.env }, opts.input);
      if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}\n${r.stdout.toString().slice(0, 2000)}`);
      return r.stdout;
    },
    file(name, data) {
      const f = path.join(work, name);
      if (data !== undefined) fs.writeFileSync(f, data);
      return f;
    },
  };
  return self;
}

export interface ChildServer {
  dir: string;
  url: string;
  p11Address: string;
  pin: string;
  officerPin: string;
  /** The dev accounts (officer, user, auditor) from dev-credentials.json. */
  accounts: Record<'officer' | 'user' | 'auditor', { username: string; password: string }>;
  /** What the server logged so far (one JSON object per line). */
  logLines(): Record<string, unknown>[];
  /** Logs in to the admin API and sends one request with the token. */
  admin(account: 'officer' | 'user' | 'auditor', method: string, p: string, body?: unknown): Promise<{ status: number; text: string }>;
  /** The child's dev-credentials (kms, akv, xks entries…). */
  credentials: Record<string, any>;
  close(): Promise<void>;
}

/** A dev server in a child process (see server-child.ts). */
export async function childServer(): Promise<ChildServer> {
  const { spawn } = await import('node:child_process');
  const dir = tempDir('inkan-p11c-');
  const child = spawn(process.execPath, [path.join(__dirname, 'server-child.js'), '--inkan-server-child', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (d: Buffer) => { buf += d; if (buf.includes('\n')) resolve(buf.split('\n')[0]); });
    child.once('exit', (code) => reject(new Error(`server child exited (${code})`)));
  });
  const info = JSON.parse(line) as { url: string; p11Address: string; credentials: { user: { username: string; password: string }; officer: { username: string; password: string } } & Record<string, any> };
  return {
    dir, url: info.url, p11Address: info.p11Address, credentials: info.credentials,
    pin: `${info.credentials.user.username}:${info.credentials.user.password}`,
    officerPin: `${info.credentials.officer.username}:${info.credentials.officer.password}`,
    accounts: JSON.parse(fs.readFileSync(path.join(dir, 'dev-credentials.json'), 'utf8')),
    logLines: () => fs.readFileSync(path.join(dir, 'server.log'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    async admin(account, method, p, body) {
      const creds = JSON.parse(fs.readFileSync(path.join(dir, 'dev-credentials.json'), 'utf8'))[account];
      const login = await fetch(`${info.url}/v1/login`, { method: 'POST', body: JSON.stringify(creds) });
      const { token } = await login.json() as { token: string };
      const res = await fetch(`${info.url}${p}`, { method, headers: { authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await res.text();
      await fetch(`${info.url}/v1/logout`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, text };
    },
    async close() {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
