// Two processes on one SQLite file (`inkan serve --workers`): the reader's change feed tells a
// sibling's audit-only commits (its key uses) from changes to cached rows and from writes behind
// the module's back. Only the first are ignored; a changed row is evicted by its id, and an edit
// that left no change-log entry drops every cache (each row is read and MAC-checked again).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { Coherence } from '../../src/core/coherence';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { tempDir } from '../helpers/harness';
import { auditRows, plainCommit, row } from './contract';

const cols = () => ({ owner: 'u1', cls: 4, label: 'k', ck_id: 'aa', managed: '' });

test('a sibling\'s key uses keep the caches; its changes evict by id; an edit behind the module\'s back drops all', async () => {
  const file = path.join(tempDir('inkan-feed-'), 'inkan.db');
  const writer = new SqliteKeyStore(file);
  const reader = new SqliteKeyStore(file);
  try {
    const coherence = new Coherence(reader);
    const evicted: string[] = [];
    coherence.register('objects', (id) => evicted.push(id), () => evicted.push('*'));
    await coherence.start();
    // Audit records and a checkpoint only, as a worker's signatures commit them.
    for (let i = 0; i < 5; i++) {
      await writer.commit({ chain: 'node-1-w1', durable: false, units: [], finish: (head) => ({ audit: auditRows('node-1-w1', head, 3), writes: [] }) });
      await coherence.sync();
    }
    await writer.audit.putCheckpoint({ chain: 'node-1-w1', seq: 15, hash: 'h'.repeat(64), time: new Date().toISOString(), node: 'node-1-w1', signature: 's' });
    await coherence.sync();
    assert.deepEqual(evicted, [], 'no cache dropped for appended audit records');
    await writer.commit(plainCommit([[{ op: 'insert', table: 'objects', row: row('default', cols(), { id: 'o-1' }) }]]));
    await coherence.sync();
    assert.deepEqual(evicted.splice(0), ['o-1']);
    // Someone with the file edits a row directly: no change-log entry, so everything is dropped.
    const raw = new Database(file);
    raw.prepare("UPDATE objects SET label = 'x' WHERE id = 'o-1'").run();
    raw.close();
    await coherence.sync();
    assert.deepEqual(evicted.splice(0), ['*']);
  } finally {
    await writer.close();
    await reader.close();
  }
});
