// What the PostgreSQL store adds to the contract: the schema under an advisory lock, numbers out
// of BIGINT, byte order whatever the locale, chain locks, the change log in commit order, NOTIFY,
// a bounded pool, and close. Checked with raw SQL on a second client where it matters.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Client } from 'pg';
import { PostgresKeyStore, type PostgresOptions } from '../../src/keystore/postgres/postgres-store';
import { CHANNEL } from '../../src/keystore/postgres/postgres-changes';
import { LOCK_CHAIN, LOCK_SCHEMA } from '../../src/keystore/postgres/postgres-schema';
import { SCHEMA_VERSION } from '../../src/keystore/schema';
import type { AuditHead, AuditRecordRow, KeyStore } from '../../src/keystore/types';
import { lockWaiters, startPostgres, type TestPostgres } from '../helpers/postgres';
import { plainCommit, row } from './contract';

let server: TestPostgres;
let n = 0;
before(async () => { server = await startPostgres(); });
after(async () => { await server?.stop(); });

const freshUrl = () => server.createDatabase(`store_${++n}`);
const objectCols = (label = 'k') => ({ owner: 'u1', cls: 4, label, ck_id: 'aa', managed: '' });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function raw(url: string): Promise<Client> { const c = new Client({ connectionString: url }); await c.connect(); return c; }
async function settled(p: Promise<unknown>, ms: number): Promise<boolean> {
  let done = false;
  void p.then(() => { done = true; }, () => { done = true; });
  await sleep(ms);
  return done;
}
function auditRows(chain: string, head: AuditHead, count: number, tag: string): AuditRecordRow[] {
  return Array.from({ length: count }, (_, i) => ({
    chain, seq: head.seq + i + 1, time: new Date(1_700_000_000_000 + i).toISOString(),
    prev: i === 0 ? head.hash : `${tag}-${i - 1}`, hash: `${tag}-${i}`, body: '[]',
  }));
}
async function withStores(count: number, fn: (stores: PostgresKeyStore[], url: string) => Promise<void>, opts: Partial<PostgresOptions> = {}) {
  const url = await freshUrl();
  const stores: PostgresKeyStore[] = [];
  try {
    for (let i = 0; i < count; i++) stores.push(await PostgresKeyStore.open({ url, ...opts }));
    await fn(stores, url);
  } finally { for (const s of stores) await s.close(); }
}

test('several nodes starting at once on an empty database create the schema once', async () => {
  const url = await freshUrl();
  const stores = await Promise.all(Array.from({ length: 4 }, () => PostgresKeyStore.open({ url, poolSize: 2 })));
  try {
    assert.equal((await stores[3].getMeta('schema_version'))?.toString(), String(SCHEMA_VERSION));
    const tables = await server.admin<{ n: number }>("SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'", [], `store_${n}`);
    assert.equal(tables[0].n, 16, 'the 12 descriptor tables, audit, audit_checkpoints, change_log, cluster_nodes');
    assert.equal((await stores[0].getMeta('pg_layout'))?.toString(), '1');
  } finally { for (const s of stores) await s.close(); }
});

test('schema creation waits for the advisory lock another node holds', async () => {
  const url = await freshUrl();
  const holder = await raw(url);
  try {
    await holder.query('BEGIN');
    await holder.query('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_SCHEMA]);
    const opening = PostgresKeyStore.open(url);
    assert.equal(await settled(opening, 400), false, 'open waits while the lock is held');
    await holder.query('COMMIT');
    await (await opening).close();
  } finally { await holder.end(); }
});

test('a store made before a table was added gets that table at the next start, its other tables untouched', async () => {
  const url = await freshUrl();
  const first = await PostgresKeyStore.open(url);
  await first.close();
  const db = `store_${n}`;
  await server.admin('DROP TABLE "quorum"', [], db);
  const before = await server.admin<{ t: string }>("SELECT to_regclass('\"objects\"')::oid::text AS t", [], db);
  const again = await PostgresKeyStore.open(url);
  try {
    const [q] = await server.admin<{ t: string | null }>("SELECT to_regclass('\"quorum\"')::text AS t", [], db);
    assert.equal(q.t, 'quorum');
    const after = await server.admin<{ t: string }>("SELECT to_regclass('\"objects\"')::oid::text AS t", [], db);
    assert.equal(after[0].t, before[0].t, 'the objects table is the same table, not recreated');
    assert.equal((await again.getMeta('schema_version'))?.toString(), String(SCHEMA_VERSION));
  } finally { await again.close(); }
});

test('a store of a newer or unknown schema version is refused and left as it is', async () => {
  const url = await freshUrl();
  await (await PostgresKeyStore.open(url)).close();
  const db = `store_${n}`;
  await server.admin("UPDATE meta SET value = '3' WHERE name = 'schema_version'", [], db);
  await assert.rejects(PostgresKeyStore.open(url), /store schema 3, newer than this Inkan/);
  await server.admin("UPDATE meta SET value = '1' WHERE name = 'schema_version'", [], db);
  await assert.rejects(PostgresKeyStore.open(url), /store schema 1; .* no migration/);
  const [v] = await server.admin<{ value: Buffer }>("SELECT value FROM meta WHERE name = 'schema_version'", [], db);
  assert.equal(v.value.toString(), '1');
});

test('BIGINT columns come back as numbers; one beyond 2^53 is refused, not rounded', async () => {
  await withStores(1, async ([s], url) => {
    const r = row('p1', objectCols(), { created: Number.MAX_SAFE_INTEGER, version: 2 ** 40 });
    await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
    const back = await s.get('objects', r.id);
    assert.deepEqual(back, r);
    assert.equal(typeof back!.cols.cls, 'number');
    assert.equal(typeof (await s.count('objects', {})), 'number');
    const c = await raw(url);
    try { await c.query("UPDATE objects SET created = created + 2 WHERE id = $1", [r.id]); } finally { await c.end(); }
    await assert.rejects(s.get('objects', r.id), /beyond 2\^53/);
    assert.equal(await s.count('objects', {}), 1, 'the connection is still usable');
  });
});

test('ids order byte by byte even in a database with an ICU locale', async () => {
  const url = await server.createDatabase(`store_${++n}`, { icuLocale: 'en-US' });
  const s = await PostgresKeyStore.open(url);
  try {
    const ids = ['a', 'B', 'a-b', 'aB', 'ab', 'A_c', 'a_b', 'Ab', 'b', 'a b', 'a.b', 'Z', '_'];
    await s.commit(plainCommit(ids.map((id) => [{ op: 'insert', table: 'objects', row: row('p', objectCols(), { id }) }])));
    const sorted = [...ids].sort();
    const c = await raw(url);
    try {
      const locale = (await c.query('SELECT id FROM objects ORDER BY id COLLATE "default"')).rows.map((r) => r.id);
      assert.notDeepEqual(locale, sorted, 'the locale orders differently, so this test can fail');
    } finally { await c.end(); }
    assert.deepEqual((await s.find('objects', { partition: 'p' })).map((r) => r.id), sorted);
    const page2 = await s.find('objects', { partition: 'p' }, { after: sorted[4], limit: 3 });
    assert.deepEqual(page2.map((r) => r.id), sorted.slice(5, 8));
  } finally { await s.close(); }
});

test('commits of one chain from several nodes serialise: the chain stays linked', async () => {
  await withStores(3, async (stores) => {
    let k = 0;
    const commitOn = (s: KeyStore) => s.commit({
      chain: 'shared', durable: true,
      units: [{ writes: [{ op: 'insert', table: 'objects', row: row('p', objectCols()) }] }],
      finish: (head) => ({ audit: auditRows('shared', head, 2, `h${++k}`), writes: [] }),
    });
    await Promise.all(stores.flatMap((s) => Array.from({ length: 10 }, () => commitOn(s))));
    const chain = await stores[0].audit.list('shared', 1, 1000);
    assert.deepEqual(chain.map((r) => r.seq), Array.from({ length: 60 }, (_, i) => i + 1));
    for (let i = 1; i < chain.length; i++) assert.equal(chain[i].prev, chain[i - 1].hash, `record ${i + 1} links to ${i}`);
  });
});

test('a node waiting on its chain does not hold up another chain', async () => {
  await withStores(2, async ([a, b], url) => {
    const holder = await raw(url);
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [LOCK_CHAIN, 'node-a']);
      const onA = a.commit(plainCommit([[{ op: 'insert', table: 'objects', row: row('p', objectCols()) }]], 'node-a'));
      const onB = await b.commit(plainCommit([[{ op: 'insert', table: 'objects', row: row('p', objectCols()) }]], 'node-b'));
      assert.deepEqual(onB.outcomes, [{ ok: true }]);
      assert.equal(await settled(onA, 300), false, 'node-a waits for its chain');
      await holder.query('COMMIT');
      assert.deepEqual((await onA).outcomes, [{ ok: true }]);
    } finally { await holder.end(); }
  });
});

test('the change log follows commit order: a reader tailing it under load misses nothing', async () => {
  await withStores(3, async ([a, b, reader]) => {
    const written = new Set<string>();
    let writing = true;
    const seen = new Set<string>();
    const tail = (async () => {
      let cursor = 0;
      for (;;) {
        const done = !writing;
        for (const c of await reader.changes.since(cursor, 500)) { assert.ok(c.seq > cursor); cursor = c.seq; seen.add(c.id); }
        if (done) return;
      }
    })();
    const writer = async (s: KeyStore, chain: string) => {
      for (let i = 0; i < 60; i++) {
        const rows = [row('p', objectCols()), row('p', objectCols())];
        rows.forEach((r) => written.add(r.id));
        await s.commit(plainCommit(rows.map((r) => [{ op: 'insert', table: 'objects', row: r }]), chain));
      }
    };
    await Promise.all([writer(a, 'a1'), writer(a, 'a2'), writer(b, 'b1'), writer(b, 'b2')]);
    writing = false;
    await tail;
    assert.equal(written.size, 480);
    assert.deepEqual([...written].filter((id) => !seen.has(id)), [], 'every change reached the reader');
  });
});

test('NOTIFY carries the last sequence number; a node is not woken by its own commits', async () => {
  await withStores(2, async ([a, b], url) => {
    const listener = await raw(url);
    const payloads: string[] = [];
    listener.on('notification', (m) => { if (m.channel === CHANNEL) payloads.push(m.payload ?? ''); });
    await listener.query(`LISTEN ${CHANNEL}`);
    try {
      let woken = 0;
      b.changes.subscribe(() => { woken++; });
      a.changes.poll(); b.changes.poll();
      const res = await a.commit(plainCommit([[{ op: 'insert', table: 'objects', row: row('p', objectCols()) }], [{ op: 'put', table: 'meta', row: { name: 'x', value: Buffer.from('1') } }]]));
      await a.commit(plainCommit([]));
      await assert.rejects(a.commit({ chain: 'c', durable: true, units: [{ writes: [{ op: 'insert', table: 'objects', row: row('p', objectCols()) }] }], finish() { throw new Error('no'); } }));
      for (let i = 0; i < 100 && (payloads.length === 0 || woken === 0); i++) await sleep(20);
      await sleep(100);
      assert.deepEqual(payloads, [String(res.changeSeq)], 'one notification, for the commit that wrote');
      assert.ok(woken >= 1 && b.changes.poll(), 'the other node was told');
      assert.equal(a.changes.poll(), false, 'the writer was not');
    } finally { await listener.end(); }
  });
});

test('the pool is bounded; callers beyond maxWaiting are refused at once', async () => {
  await withStores(1, async ([s], url) => {
    const r = row('p', objectCols());
    await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
    const holder = await raw(url);
    const blocked: Promise<{ outcomes: { ok: boolean }[] }>[] = [];
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM objects WHERE id = $1 FOR UPDATE', [r.id]);
      // Two take the pool's connections and wait on the row lock; two wait for a connection.
      for (let i = 0; i < 4; i++) {
        blocked.push(s.commit(plainCommit([[{ op: 'update', table: 'objects', row: { ...r, version: 2 }, expected: 1 }]], `chain-${i}`)));
        if (i === 1) await lockWaiters(holder, 2);
      }
      const active = await holder.query("SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'inkan'");
      assert.equal(active.rows[0].n, 3, 'two pooled connections and the LISTEN connection');
      await assert.rejects(s.get('objects', r.id), (err: Error & { code?: string }) => err.code === 'STORE_BUSY' && /busy/.test(err.message));
      await holder.query('COMMIT');
      const outcomes = (await Promise.all(blocked)).map((x) => x.outcomes[0].ok);
      assert.deepEqual(outcomes.filter(Boolean).length, 1, 'one update won, the others saw the new version');
    } finally {
      await holder.end();
      await Promise.allSettled(blocked);
    }
  }, { poolSize: 2, maxWaiting: 2 });
});

test('close ends the pool and the LISTEN connection', async () => {
  const url = await freshUrl();
  const s = await PostgresKeyStore.open({ url, poolSize: 3 });
  await Promise.all([s.getMeta('a'), s.getMeta('b'), s.count('objects', {})]);
  const count = async () => (await server.admin<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1 AND application_name = 'inkan'", [`store_${n}`]))[0].n;
  assert.ok(await count() >= 2);
  await s.close();
  for (let i = 0; i < 50 && await count() > 0; i++) await sleep(20);
  assert.equal(await count(), 0);
  await s.close();
  await assert.rejects(s.getMeta('a'), /store .* is closed/);
});

test('the change log is pruned to the newest rows', async () => {
  await withStores(1, async ([s]) => {
    let last = 0;
    for (let i = 0; i < 9; i++) last = (await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: row('p', objectCols()) }]]))).changeSeq;
    const log = await s.changes.since(0, 100);
    assert.deepEqual(log.map((c) => c.seq), [last - 4, last - 3, last - 2, last - 1, last]);
    assert.equal(await s.changes.latest(), last);
  }, { changeLogKeep: 5, pruneEvery: 3 });
});

test('a NUL character in an indexed text is refused clearly and the batch leaves nothing', async () => {
  await withStores(1, async ([s]) => {
    const good = row('p', objectCols('fine'));
    const bad = row('p', objectCols('nul\u0000label'));
    await assert.rejects(s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: good }], [{ op: 'insert', table: 'objects', row: bad }]])), /NUL character/);
    assert.equal(await s.get('objects', good.id), undefined);
    assert.deepEqual((await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: good }]]))).outcomes, [{ ok: true }]);
  });
});

test('wipe rewrites the wiped tables (VACUUM FULL) and keeps the schema version', async () => {
  await withStores(1, async ([s], url) => {
    await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: row('p', objectCols()) }]]));
    const c = await raw(url);
    try {
      const node = async () => (await c.query("SELECT pg_relation_filenode('objects') AS f")).rows[0].f;
      const before = await node();
      await s.bulk.wipe(['audit', 'audit_checkpoints']);
      assert.notEqual(await node(), before, 'objects lives in a new file');
      assert.equal((await c.query('SELECT count(*)::int AS n FROM objects')).rows[0].n, 0);
    } finally { await c.end(); }
    assert.equal((await s.getMeta('schema_version'))?.toString(), String(SCHEMA_VERSION));
    await (await PostgresKeyStore.open(url)).close();
  });
});
