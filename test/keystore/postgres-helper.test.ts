// The throw-away PostgreSQL of test/helpers/postgres.ts: TCP as well as the socket, nothing left
// behind by stop(), and servers of test processes that were killed are swept by the next start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PostgresKeyStore } from '../../src/keystore/postgres/postgres-store';
import { startPostgres } from '../helpers/postgres';

const alive = (pid: number) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const postmaster = (dir: string) => Number(fs.readFileSync(path.join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
async function gone(pid: number): Promise<boolean> {
  for (let i = 0; i < 250 && alive(pid); i++) await new Promise((r) => setTimeout(r, 20));
  return !alive(pid);
}

test('with tcp the server also listens on 127.0.0.1; stop removes the server and its directory', async () => {
  const server = await startPostgres({ tcp: true });
  const pid = postmaster(server.dir);
  try {
    assert.match(server.tcpUrl!, /^postgres:\/\/inkan@127\.0\.0\.1:\d+\/inkan$/);
    const s = await PostgresKeyStore.open(server.tcpUrl!);
    try { assert.equal((await s.getMeta('schema_version'))?.toString(), '2'); } finally { await s.close(); }
    const [who] = await server.admin<{ super: boolean }>("SELECT rolsuper AS super FROM pg_roles WHERE rolname = 'inkan'");
    assert.equal(who.super, false, 'the stores run as a plain database owner');
  } finally { await server.stop(); }
  assert.ok(await gone(pid), 'the postmaster exited');
  assert.equal(fs.existsSync(server.dir), false);
  await server.stop();
});

test('a server left by a killed test process is removed by the next start', async () => {
  const helper = path.join(__dirname, '..', 'helpers', 'postgres.js');
  const child = spawn(process.execPath, ['-e',
    `require(${JSON.stringify(helper)}).startPostgres().then((s) => { console.log(s.dir); setInterval(() => {}, 1000); })`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = await new Promise<string>((resolve, reject) => {
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
    child.once('exit', () => reject(new Error('the child exited before starting a server')));
  });
  const orphan = postmaster(dir);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.ok(alive(orphan), 'SIGKILL left the server running');
  const next = await startPostgres();
  try {
    assert.ok(await gone(orphan), 'the orphaned postmaster was shut down');
    assert.equal(fs.existsSync(dir), false, 'and its directory removed');
  } finally { await next.stop(); }
});
