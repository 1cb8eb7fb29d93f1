// A real HAProxy (Debian's /usr/sbin/haproxy) in front of test nodes, configured from the sample
// in docs/haproxy.cfg with the test's own addresses (and round robin, so that one client's load
// reaches every node). Its stats socket tells which servers it considers up.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { REPO_ROOT, tempDir } from '../helpers/harness';

export const HAPROXY = process.env.INKAN_HAPROXY ?? '/usr/sbin/haproxy';
export const SAMPLE = path.join(REPO_ROOT, 'docs', 'haproxy.cfg');

export interface Haproxy { url: string; port: number; dir: string; child: ChildProcess; log(): string; serversUp(): Promise<Record<string, boolean>>; retries(): Promise<number>; stop(): Promise<void> }

/** A port of this suite's range (7600-7699) free a moment ago. */
export async function portInRange(from = 7600, to = 7699): Promise<number> {
  const start = from + Math.floor(Math.random() * (to - from + 1));
  for (let i = 0; i <= to - from; i++) {
    const port = from + ((start - from + i) % (to - from + 1));
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`no free port in ${from}-${to}`);
}

/** The sample configuration with `servers` (name → port on 127.0.0.1), listening on `port`. */
export function configFor(port: number, servers: Record<string, number>, statsSocket: string, balance = 'roundrobin'): string {
  const sample = fs.readFileSync(SAMPLE, 'utf8');
  const lines = sample.split('\n').filter((l) => !/^\s+server\s/.test(l));
  const out = lines.map((l) => l
    .replace(/^(\s+)bind\s+\S+/, `$1bind 127.0.0.1:${port}`)
    .replace(/^(\s+)balance\s+\S+/, `$1balance ${balance}`)
    .replace(/^(\s+)log stdout.*$/, '$1log stdout format raw local0 info')
    .replace(/^(\s+)maxconn 4096$/, `$1maxconn 4096\n$1stats socket ${statsSocket} mode 600 level admin`));
  const at = out.findIndex((l) => /^\s+default-server/.test(l));
  out.splice(at + 1, 0, ...Object.entries(servers).map(([name, p]) => `    server ${name} 127.0.0.1:${p}`));
  return out.join('\n');
}

export async function checkConfig(file: string): Promise<void> {
  await promisify(execFile)(HAPROXY, ['-c', '-q', '-f', file], { timeout: 10_000 });
}

async function stats(socket: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = net.connect(socket);
    let out = '';
    c.on('data', (d) => { out += d.toString(); });
    c.on('end', () => resolve(out));
    c.on('error', reject);
    c.write('show stat\n');
  });
}

export async function startHaproxy(servers: Record<string, number>): Promise<Haproxy> {
  const dir = tempDir('inkan-haproxy-');
  const port = await portInRange();
  const socket = path.join(dir, 'stats.sock');
  const file = path.join(dir, 'haproxy.cfg');
  fs.writeFileSync(file, configFor(port, servers, socket));
  await checkConfig(file);
  const child = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-200_000); });
  child.stderr!.on('data', (d: Buffer) => { log = (log + d.toString()).slice(-200_000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const h: Haproxy = {
    url: `http://127.0.0.1:${port}`, port, dir, child, log: () => log,
    async serversUp() {
      const csv = await stats(socket);
      const out: Record<string, boolean> = {};
      for (const line of csv.split('\n')) {
        const f = line.split(',');
        if (f[0] === 'inkan_nodes' && f[1] !== 'BACKEND' && f[1] !== 'FRONTEND' && f[1]) out[f[1]] = f[17].startsWith('UP');
      }
      return out;
    },
    async retries() {
      const line = (await stats(socket)).split('\n').map((l) => l.split(',')).find((f) => f[0] === 'inkan_nodes' && f[1] === 'BACKEND');
      return line ? Number(line[15] || 0) + Number(line[16] || 0) : 0;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) { child.kill('SIGTERM'); await exited; }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  for (let i = 0; ; i++) {
    try { await stats(socket); break; } catch {
      if (i > 100 || child.exitCode !== null) { await h.stop(); throw new Error(`haproxy did not start:\n${log}`); }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return h;
}

/** Waits until HAProxy's view of the servers is `want` (name → up). */
export async function waitServers(h: Haproxy, want: Record<string, boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let seen: Record<string, boolean> = {};
  while (Date.now() < deadline) {
    seen = await h.serversUp();
    if (Object.entries(want).every(([k, v]) => seen[k] === v)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`haproxy servers ${JSON.stringify(seen)}, wanted ${JSON.stringify(want)}`);
}
