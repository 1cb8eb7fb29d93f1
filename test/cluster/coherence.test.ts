// Cache coherence on a shared PostgreSQL store does not depend on NOTIFY arriving in time: a
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
