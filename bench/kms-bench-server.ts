// The server half of `npm run bench:kms` and `bench:cloud`: a dev-mode Inkan in its own process (so
// client and server do not share an event loop), logging silenced; prints its KMS, Key Vault and
// XKS credentials as one JSON line.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer } from '../src/server';
import { silentLogger } from '../src/logger';

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-bench-'));
  const server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger });
  const c = server.credentials!;
  process.stdout.write(JSON.stringify({ kms: c.kms, akv: c.akv, xks: c.xks, pid: process.pid }) + '\n');
  const stop = async () => { await server.close(); fs.rmSync(dir, { recursive: true, force: true }); process.exit(0); };
  process.once('SIGTERM', () => void stop());
  process.once('SIGINT', () => void stop());
}
void main();
