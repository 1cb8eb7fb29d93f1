// The PostgreSQL store when the database fails: unreachable at start, stopped in the middle of a
// call, hanging without closing anything (SIGSTOP), or too slow. Every call rejects with a clear
// error instead of hanging, and calls succeed again once the server is back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { Client } from 'pg';
import { PostgresKeyStore, StoreUnavailableError } from '../../src/keystore/postgres/postgres-store';
import { lockWaiters, startPostgres, type TestPostgres } from '../helpers/postgres';
import { plainCommit, row } from './contract';

let server: TestPostgres;
let n = 0;
before(async () => { server = await startPostgres(); });
after(async () => { await server?.stop(); });

const objectCols = () => ({ owner: 'u1', cls: 4, label: 'k', ck_id: 'aa', managed: '' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const unavailable = (pattern: RegExp) => (err: unknown) => {
  assert.ok(err instanceof StoreUnavailableError, `a StoreUnavailableError, not ${String(err)}`);
  assert.equal(err.code, 'STORE_UNAVAILABLE');
  assert.match(err.message, pattern);
  return true;
};
async function locker(url: string, id: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  await c.query('BEGIN');
  await c.query('SELECT 1 FROM objects WHERE id = $1 FOR UPDATE', [id]);
  return c;
}
async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => srv.once('listening', r));
  const { port } = srv.address() as net.AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

test('a database unreachable at start is a clear error that names it but not the password', async () => {
  await assert.rejects(PostgresKeyStore.open({ url: 'postgres://inkan:sekrit@localhost/inkan?host=/nonexistent/inkan-pg', connectTimeoutMs: 1000 }),
    (err: Error) => unavailable(/unreachable .*ENOENT/)(err) && err.message.includes('inkan@[/nonexistent/inkan-pg]') && !err.message.includes('sekrit'));
  const port = await freePort();
  await assert.rejects(PostgresKeyStore.open({ url: `postgres://inkan:sekrit@127.0.0.1:${port}/inkan`, connectTimeoutMs: 1000 }),
    (err: Error) => unavailable(/unreachable .*ECONNREFUSED/)(err) && !err.message.includes('sekrit'));
  await assert.rejects(PostgresKeyStore.open(server.url.replace('/inkan?', '/no_such_db?')), /database "no_such_db" does not exist/);
});

test('a server stopped in the middle of a commit fails that call; the store recovers when it is back', { timeout: 30_000 }, async () => {
  const url = await server.createDatabase(`faults_${++n}`);
  const opts = { url, connectTimeoutMs: 1000, statementTimeoutMs: 5000 };
  const a = await PostgresKeyStore.open(opts);
  const b = await PostgresKeyStore.open(opts);
  try {
    const r = row('p', objectCols());
    await a.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
    let woken = 0;
    b.changes.subscribe(() => { woken++; });
    const holder = await locker(url, r.id);
    const holderPid = (await holder.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
    const outcome = a.commit(plainCommit([[{ op: 'update', table: 'objects', row: { ...r, version: 2 }, expected: 1 }]]))
      .then(() => new Error('the commit succeeded'), (err: unknown) => err);
    await lockWaiters(holder, 1);
    // The holder's backend is stopped so that it cannot die first and let the commit through:
    // the shutdown terminates the commit's backend while its UPDATE waits.
    process.kill(holderPid, 'SIGSTOP');
    let downing: Promise<void>;
    try {
      downing = server.down();
      unavailable(/unavailable \(commit\): terminating connection due to administrator command/)(await outcome);
    } finally { process.kill(holderPid, 'SIGCONT'); }
    await downing;
    await holder.end().catch(() => undefined);
    await assert.rejects(a.get('objects', r.id), unavailable(/unreachable \(get objects\)/));
    assert.ok(woken > 0, 'losing the LISTEN connection wakes the subscribers: they must re-read');
    await server.up();
    assert.deepEqual(await a.get('objects', r.id), r, 'the pool reconnects');
    assert.deepEqual((await a.commit(plainCommit([[{ op: 'update', table: 'objects', row: { ...r, version: 2 }, expected: 1 }]]))).outcomes, [{ ok: true }]);
    // The LISTEN connection comes back by itself: another node's commit reaches b again.
    b.changes.poll();
    let told = false;
    for (let i = 0; i < 100 && !told; i++) {
      await a.commit(plainCommit([[{ op: 'put', table: 'meta', row: { name: 'tick', value: Buffer.from([i]) } }]]));
      await sleep(100);
      told = b.changes.poll();
    }
    assert.ok(told, 'b hears of a commit again after the restart');
  } finally { await server.up(); await a.close(); await b.close(); }
});

test('a hanging server (SIGSTOP) makes calls reject after the timeout; they work again after SIGCONT', { timeout: 30_000 }, async () => {
  const url = await server.createDatabase(`faults_${++n}`);
  const s = await PostgresKeyStore.open({ url, connectTimeoutMs: 800, statementTimeoutMs: 300, poolSize: 2 });
  const r = row('p', objectCols());
  try {
    await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
    server.freeze();
    try {
      await assert.rejects(s.get('objects', r.id), unavailable(/unreachable \(get objects\): (Query read timeout|.*timeout)/));
      await assert.rejects(s.commit(plainCommit([[{ op: 'delete', table: 'objects', id: r.id }]])), unavailable(/unreachable \(commit\)/));
      // New connections get no answer either: each call fails (two on connect, one waiting for them).
      const all = await Promise.allSettled([s.getMeta('a'), s.getMeta('b'), s.getMeta('c')]);
      for (const r of all) {
        assert.equal(r.status, 'rejected');
        unavailable(/timeout|no connection came free/i)((r as PromiseRejectedResult).reason);
      }
    } finally { server.thaw(); }
    assert.deepEqual(await s.get('objects', r.id), r, 'the broken connections were dropped, new ones work');
  } finally { await s.close(); }
});

test('a statement that waits longer than the statement timeout fails alone; the connection stays usable', async () => {
  const url = await server.createDatabase(`faults_${++n}`);
  // The client-side timeout comes later (statement + 1 s), so the server's cancel is what is seen.
  const s = await PostgresKeyStore.open({ url, statementTimeoutMs: 1000, poolSize: 1 });
  const r = row('p', objectCols());
  try {
    await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
    const holder = await locker(url, r.id);
    try {
      await assert.rejects(s.commit(plainCommit([[{ op: 'update', table: 'objects', row: { ...r, version: 2 }, expected: 1 }]])),
        unavailable(/timed out \(commit\): canceling statement due to statement timeout/));
    } finally { await holder.end(); }
    assert.equal((await s.get('objects', r.id))!.version, 1, 'the timed-out commit left nothing');
    assert.deepEqual((await s.commit(plainCommit([[{ op: 'update', table: 'objects', row: { ...r, version: 2 }, expected: 1 }]]))).outcomes, [{ ok: true }]);
  } finally { await s.close(); }
});

test('a connection lost during COMMIT says the outcome is unknown (here it had committed)', { timeout: 30_000 }, async () => {
  const url = await server.createDatabase(`faults_${++n}`);
  const s = await PostgresKeyStore.open({ url, statementTimeoutMs: 20_000 });
  const r = row('p', objectCols());
  // COMMIT waits for a synchronous standby that does not exist: a commit stuck in COMMIT.
  await server.admin("ALTER SYSTEM SET synchronous_standby_names = 'nobody'");
  await server.admin('SELECT pg_reload_conf()');
  try {
    const outcome = s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]])).then(() => new Error('the commit succeeded'), (err: unknown) => err);
    let killed = 0;
    for (let i = 0; i < 250 && !killed; i++) {
      await sleep(20);
      killed = (await server.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'")).length;
    }
    assert.equal(killed, 1, 'one session waited in COMMIT');
    const err = await outcome;
    unavailable(/during COMMIT, so the transaction may or may not have committed/)(err);
    assert.equal((err as StoreUnavailableError).commitUnknown, true);
    await server.admin('ALTER SYSTEM RESET synchronous_standby_names');
    await server.admin('SELECT pg_reload_conf()');
    assert.deepEqual(await s.get('objects', r.id), r, 'PostgreSQL had committed it locally');
  } finally {
    await server.admin('ALTER SYSTEM RESET synchronous_standby_names');
    await server.admin('SELECT pg_reload_conf()');
    await s.close();
  }
});
