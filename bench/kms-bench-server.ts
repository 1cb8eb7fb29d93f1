// The server half of `npm run bench:kms` and `bench:cloud`: a dev-mode Inkan in its own process (so
// client and server do not share an event loop), logging silenced; prints its KMS, Key Vault and
// XKS credentials as one JSON line. BENCH_WORKERS=N (default: the number of cores) runs
// `inkan serve --workers N` instead, and the pid printed is its primary's (the bench counts the CPU
// of the whole process tree).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer } from '../src/server';
import { silentLogger } from '../src/logger';

const WORKERS = Number(process.env.BENCH_WORKERS ?? os.availableParallelism());

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-bench-'));
  if (WORKERS > 1) { await workers(dir); return; }
  const server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger });
  const c = server.credentials!;
  process.stdout.write(JSON.stringify({ kms: c.kms, akv: c.akv, xks: c.xks, pid: process.pid }) + '\n');
  const stop = async () => { await server.close(); fs.rmSync(dir, { recursive: true, force: true }); process.exit(0); };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}

/** `inkan serve --dev --workers N` as a user runs it; its credentials from dev-credentials.json. */
async function workers(dir: string): Promise<void> {
  const bin = path.join(__dirname, '..', '..', 'bin', 'inkan.js');
  const child = spawn(process.execPath, [bin, 'serve', '--dev', '--data', dir, '--http', '127.0.0.1:0', '--workers', String(WORKERS)],
    { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (b: Buffer) => { out += b.toString(); if (/admin API at/.test(out)) resolve(); });
    child.once('exit', (code) => reject(new Error(`inkan serve exited (${code}): ${out}`)));
  });
  const c = JSON.parse(fs.readFileSync(path.join(dir, 'dev-credentials.json'), 'utf8'));
  process.stdout.write(JSON.stringify({ kms: c.kms, akv: c.akv, xks: c.xks, pid: child.pid }) + '\n');
  const stop = () => {
    child.once('exit', () => { fs.rmSync(dir, { recursive: true, force: true }); process.exit(0); });
    child.kill('SIGTERM');
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
void main();
