// Fixtures for the PKCS#11 listener's limit tests: a dev server with chosen limits whose socket
// lives in a world-traversable directory (so processes of other uids can try it), its log lines,
// and raw connections opened by a child process running as another uid.
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { startServer, type RunningServer, type ServerConfig } from '../../../src/server';
import { createLogger } from '../../../src/logger';
import { tempDir } from '../../helpers/harness';

export interface LimitedServer extends RunningServer {
  dir: string;
  socketDir: string;
  socketPath: string;
  logs: string[];
  pin: string;
  /** Parsed log lines whose msg is `msg`. */
  lines(msg: string): Record<string, unknown>[];
}

export async function limitedServer(extra: Partial<ServerConfig> = {}): Promise<LimitedServer> {
  const dir = tempDir('inkan-p11lim-');
  const socketDir = fs.mkdtempSync('/tmp/inkan-p11s-');
  fs.chmodSync(socketDir, 0o755);
  const socketPath = path.join(socketDir, 'p11.sock');
  const logs: string[] = [];
  const cleanup = () => {
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(socketDir, { recursive: true, force: true });
  };
  let server: RunningServer;
  try {
    server = await startServer({
      dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: createLogger((l) => logs.push(l)), p11Socket: socketPath, ...extra,
    });
  } catch (err) {
    cleanup();
    throw err;
  }
  const creds = server.credentials!;
  return {
    ...server, dir, socketDir, socketPath, logs, pin: `${creds.user.username}:${creds.user.password}`,
    lines: (msg) => logs.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.msg === msg),
    async close() {
      await server.close();
      cleanup();
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until check() is true (or fails after timeoutMs): timers fire on their own schedule, tests only wait for them. */
export async function until(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** A raw socket that sends nothing; `closed` resolves when the server closes it. */
export async function idleSocket(socketPath: string): Promise<{ socket: net.Socket; closed: Promise<void>; isClosed: () => boolean }> {
  const socket = net.connect(socketPath);
  let done = false;
  const closed = new Promise<void>((resolve) => socket.on('close', () => { done = true; resolve(); }));
  socket.on('error', () => undefined);
  await new Promise<void>((resolve) => { socket.once('connect', resolve); socket.once('close', resolve); });
  return { socket, closed, isClosed: () => done };
}

/** uid/gid of a system account, e.g. www-data or nobody. */
export function account(name: string): { uid: number; gid: number } {
  const [, , uid, gid] = execFileSync('getent', ['passwd', name], { encoding: 'utf8' }).trim().split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

// A child process as another uid: opens `n` connections, sends the version byte on each, and
// reports per connection whether the server answered it ("answered"), closed it ("closed"), or
// the connect itself failed (the errno), after holding them for holdMs.
const PROBE = `
const net = require('net');
const [sock, n, holdMs] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const results = [];
let pending = n;
for (let i = 0; i < n; i++) {
  const s = net.connect(sock);
  const r = { state: 'pending', connected: false }; results.push(r);
  // Before connect an error is the refusal of connect() itself (EACCES); after it, a reset is the server closing.
  s.on('error', (e) => { if (r.state === 'pending') r.state = r.connected ? 'closed' : e.code; });
  s.on('connect', () => { r.connected = true; s.write(Buffer.from([0])); });
  s.on('data', () => { if (r.state === 'pending') r.state = 'answered'; });
  s.on('close', () => { if (r.state === 'pending') r.state = 'closed'; });
}
setTimeout(() => { console.log(JSON.stringify(results.map((r) => r.state))); process.exit(0); }, holdMs);
`;

export function probeAs(who: { uid: number; gid: number }, socketPath: string, n: number, holdMs = 1500): Promise<string[]> {
  const dir = path.dirname(socketPath);
  const script = path.join(dir, 'probe.js');
  fs.writeFileSync(script, PROBE, { mode: 0o644 });
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, socketPath, String(n), String(holdMs)], { uid: who.uid, gid: who.gid, cwd: '/', timeout: 30_000 },
      (err, stdout, stderr) => err ? reject(new Error(`${err.message}: ${stderr}`)) : resolve(JSON.parse(stdout) as string[]));
  });
}
