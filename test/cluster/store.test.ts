// The PostgreSQL store as a cluster uses it. Cache coherence on a shared store does not depend on NOTIFY arriving in time: a
// node whose LISTEN connection is gone (or whose notification is still on its way) still sees,
// before its next operation, every change another node has committed. Two real stores on one
// real PostgreSQL; the second store's listener is closed so no notification ever reaches it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Coherence } from '../../src/core/coherence';
import { PostgresKeyStore } from '../../src/keystore/postgres/postgres-store';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { plainCommit, row } from '../keystore/contract';

let pg: TestPostgres;
before(async () => { pg = await startPostgres(); });
after(async () => { await pg?.stop(); });

const cols = () => ({ owner: 'u1', cls: 4, label: 'k', ck_id: 'aa', managed: '' });

test('a change committed by another store is evicted at the next sync, with no notification at all', async () => {
  const url = await pg.createDatabase('coherence1');
  const writer = await PostgresKeyStore.open(url);
  const reader = await PostgresKeyStore.open(url);
  try {
    await reader.changes.close(); // no LISTEN: poll() never says anything again
    const coherence = new Coherence(reader);
    const evicted: string[] = [];
    coherence.register('objects', (id) => evicted.push(id), () => evicted.push('*'));
    await coherence.start();
    for (let i = 0; i < 20; i++) {
      const r = row('default', cols(), { id: `obj-${i}` });
      await writer.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
      // At once after the writer's commit returned: no waiting for a timer or a notification.
      await coherence.sync();
      assert.deepEqual(evicted.splice(0), [`obj-${i}`]);
    }
    // Nothing new: a look, and nothing evicted.
    await coherence.sync();
    assert.deepEqual(evicted, []);
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('concurrent syncs share one look at the log, and a sync begun after a commit always sees it', async () => {
  const url = await pg.createDatabase('coherence2');
  const writer = await PostgresKeyStore.open(url);
  const reader = await PostgresKeyStore.open(url);
  try {
    await reader.changes.close();
    const coherence = new Coherence(reader);
    const evicted: string[] = [];
    coherence.register('objects', (id) => evicted.push(id), () => evicted.push('*'));
    await coherence.start();
    for (let i = 0; i < 10; i++) {
      // A sync in flight while the writer commits: the one started after the commit must still see it.
      const early = coherence.sync();
      await writer.commit(plainCommit([[{ op: 'insert', table: 'objects', row: row('default', cols(), { id: `c-${i}` }) }]]));
      await Promise.all([early, coherence.sync(), coherence.sync()]);
      assert.deepEqual(evicted.splice(0), [`c-${i}`]);
    }
  } finally {
    await writer.close();
    await reader.close();
  }
});

test('the PostgreSQL-only layout: a store made before cluster_nodes gets it at the next open; a newer layout is refused', async () => {
  const url = await pg.createDatabase('layout1');
  await (await PostgresKeyStore.open(url)).close();
  // As a database of the first PostgreSQL store looked: no node list, no pg_layout.
  await pg.admin("DROP TABLE cluster_nodes; DELETE FROM meta WHERE name = 'pg_layout'", [], 'layout1');
  const store = await PostgresKeyStore.open(url);
  try {
    assert.equal((await store.getMeta('pg_layout'))?.toString(), '1');
    assert.deepEqual((await store.nodes.list()).nodes, []);
  } finally { await store.close(); }
  await pg.admin("UPDATE meta SET value = '9'::bytea WHERE name = 'pg_layout'", [], 'layout1');
  await assert.rejects(PostgresKeyStore.open(url), /PostgreSQL layout 9, newer than this Inkan \(layout 1\): upgrade this node/);
});

test('a change-log entry deleted behind the module\'s back leaves a gap: the reader drops every cache', async () => {
  const url = await pg.createDatabase('coherence3');
  const writer = await PostgresKeyStore.open(url);
  const reader = await PostgresKeyStore.open(url);
  try {
    await reader.changes.close();
    const coherence = new Coherence(reader);
    const evicted: string[] = [];
    coherence.register('objects', (id) => evicted.push(id), () => evicted.push('*'));
    await coherence.start();
    await writer.commit(plainCommit([[{ op: 'insert', table: 'objects', row: row('default', cols(), { id: 'g-1' }) }]]));
    await coherence.sync();
    assert.deepEqual(evicted.splice(0), ['g-1']);
    for (const id of ['g-2', 'g-3']) await writer.commit(plainCommit([[{ op: 'insert', table: 'objects', row: row('default', cols(), { id }) }]]));
    // Someone with database access hides the change to g-2.
    await pg.admin("DELETE FROM change_log WHERE id = 'g-2'", [], 'coherence3');
    await coherence.sync();
    assert.deepEqual(evicted.splice(0), ['*', 'g-3']);
  } finally {
    await writer.close();
    await reader.close();
  }
});
