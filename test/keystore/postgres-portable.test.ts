// Backups are portable between backends: a SQLite dump replaced into PostgreSQL reads back the
// same rows (and the other way round), because both dumps carry the same columns and types.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PostgresKeyStore } from '../../src/keystore/postgres/postgres-store';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { RECORD_TABLES, type TableName } from '../../src/keystore/schema';
import type { KeyStore, RawRow, RecordRow, Write } from '../../src/keystore/types';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { row } from './contract';

let server: TestPostgres;
let dir: string;
let n = 0;
let uniq = 0;
before(async () => { server = await startPostgres(); dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-portable-')); });
after(async () => { await server?.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

/** One row in every record table, plain rows, audit records and a checkpoint. */
async function fill(s: KeyStore): Promise<[TableName, RecordRow][]> {
  const rows: [TableName, RecordRow][] = [];
  const writes: Write[] = [];
  for (const def of RECORD_TABLES) {
    const cols = Object.fromEntries(Object.entries(def.columns).map(([c, t]) => [c, t === 'integer' ? 2 ** 40 + 3 : `${c}-é`]));
    for (const sealed of [Buffer.from([0, 255, 7]), null]) {
      // Unique columns (partitions.name, users.username, names.name) differ per row.
      const unique = def.unique.flat().filter((c) => c !== 'partition' && c !== 'kind');
      const mine = { ...cols, ...Object.fromEntries(unique.map((c) => [c, `${c}-${++uniq}`])) };
      const r = row(def.name === 'partitions' ? '' : 'p1', mine, { sealed, created: Date.now() });
      rows.push([def.name as TableName, r]);
      writes.push({ op: 'insert', table: def.name as TableName, row: r });
    }
  }
  writes.push({ op: 'put', table: 'login_throttle', row: { key: 'alice', failures: 3, last_at: Date.now() } });
  writes.push({ op: 'put', table: 'object_shares', row: { object_id: 'o', user_id: 'u', partition: 'p1' } });
  const res = await s.commit({
    chain: 'node-1', durable: true, units: [{ writes }],
    finish: (head) => ({ audit: [1, 2].map((i) => ({ chain: 'node-1', seq: head.seq + i, time: new Date(i).toISOString(), prev: 'p', hash: `h${i}`, body: '{}' })), writes: [] }),
  });
  assert.deepEqual(res.outcomes, [{ ok: true }]);
  await s.putMeta({ dmk_check: Buffer.from([1, 2, 3]) });
  await s.audit.putCheckpoint({ chain: 'node-1', seq: 2, hash: 'h2', time: 't', node: 'node-1', signature: 'sig-b' });
  await s.audit.putCheckpoint({ chain: 'node-1', seq: 2, hash: 'h2', time: 't', node: 'node-1', signature: 'sig-a' });
  return rows;
}

/** Rows in a canonical order (dumps are sets; checkpoints keep insertion order). */
function canonical(dump: Record<string, RawRow[]>): Record<string, RawRow[]> {
  const key = (r: RawRow) => JSON.stringify(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => [k, Buffer.isBuffer(v) ? v.toString('hex') : v]));
  return Object.fromEntries(Object.entries(dump).map(([t, rows]) => [t, t === 'audit_checkpoints' ? rows : [...rows].sort((a, b) => (key(a) < key(b) ? -1 : 1))]));
}

async function bothWays(from: KeyStore, to: KeyStore): Promise<void> {
  const rows = await fill(from);
  const dump = await from.bulk.dump(['change_log']);
  await to.bulk.replace(dump);
  for (const [table, r] of rows) assert.deepEqual(await to.get(table, r.id), r, `${table} ${r.id}`);
  assert.deepEqual(canonical(await to.bulk.dump(['change_log'])), canonical(dump), 'the dumps are equal, value types included');
  assert.equal((await to.audit.lastCheckpoint('node-1'))?.signature, 'sig-a', 'checkpoints keep their order');
  assert.deepEqual((await to.audit.list('node-1', 1, 10)).map((a) => a.hash), ['h1', 'h2']);
  assert.deepEqual(await to.findPlain('login_throttle', { key: 'alice' }), await from.findPlain('login_throttle', { key: 'alice' }));
}

test('a SQLite dump replaced into PostgreSQL reads back the same rows', async () => {
  const sqlite = new SqliteKeyStore(path.join(dir, `a${++n}.db`));
  const pg = await PostgresKeyStore.open(await server.createDatabase(`portable_${n}`));
  try { await bothWays(sqlite, pg); } finally { await sqlite.close(); await pg.close(); }
});

test('a PostgreSQL dump replaced into SQLite reads back the same rows', async () => {
  const sqlite = new SqliteKeyStore(path.join(dir, `b${++n}.db`));
  const pg = await PostgresKeyStore.open(await server.createDatabase(`portable_${n}`));
  try { await bothWays(pg, sqlite); } finally { await sqlite.close(); await pg.close(); }
});

test('a change log restored into PostgreSQL never makes its sequence go back', async () => {
  const sqlite = new SqliteKeyStore(path.join(dir, `c${++n}.db`));
  const pg = await PostgresKeyStore.open(await server.createDatabase(`portable_${n}`));
  try {
    await fill(pg);
    await fill(pg);
    const high = await pg.changes.latest();
    await fill(sqlite);
    const dump = await sqlite.bulk.dump([]);
    assert.ok(dump.change_log.every((c) => (c.seq as number) < high), 'the restored log is behind what readers of pg have seen');
    await pg.bulk.replace({ change_log: dump.change_log });
    assert.ok(await pg.changes.latest() > high, 'the replace is announced past every number handed out before');
  } finally { await sqlite.close(); await pg.close(); }
});

test('replace refuses unknown tables and columns and changes nothing', async () => {
  const pg = await PostgresKeyStore.open(await server.createDatabase(`portable_${++n}`));
  try {
    await fill(pg);
    const before = await pg.bulk.dump([]);
    await assert.rejects(pg.bulk.replace({ evil: [] }), /unknown table evil/);
    await assert.rejects(pg.bulk.replace({ objects: [{ id: 'x', 'owner"; DROP TABLE meta; --': 'x' }] }), /unknown column objects\.owner/);
    await assert.rejects(pg.bulk.replace({ objects: [{ id: 'x' }] }), /null value in column/);
    assert.deepEqual(await pg.bulk.dump([]), before);
  } finally { await pg.close(); }
});
