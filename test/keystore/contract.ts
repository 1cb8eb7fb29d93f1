// The KeyStore contract suite (src/keystore/types.ts): every implementation must pass it. It
// knows nothing of SQLite or PostgreSQL; each backend's test file calls `keystoreContract` with a
// factory that opens a fresh, empty store and (for the coherence tests) a second connection to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RECORD_TABLES } from '../../src/keystore/schema';
import type { AuditHead, AuditRecordRow, CommitRequest, KeyStore, RecordRow, UnitOutcome, Write } from '../../src/keystore/types';

export interface ContractBackend {
  /** A fresh, empty store, and a second connection to the same store (another process or node). */
  open(): Promise<{ store: KeyStore; second(): Promise<KeyStore>; cleanup(): Promise<void> }>;
}

let counter = 0;
export function row(partition: string, cols: Record<string, string | number>, over: Partial<RecordRow> = {}): RecordRow {
  counter++;
  return {
    id: `id-${String(counter).padStart(6, '0')}`, partition, version: 1, created: 1_700_000_000_000 + counter, cols,
    data: JSON.stringify({ n: counter, text: 'é ∑ \u0000 "quoted"' }), sealed: Buffer.from([0, 1, 2, 255, counter & 255]),
    mac: Buffer.alloc(32, counter & 255), ...over,
  };
}
const objectCols = (owner = 'u1', label = 'k', cls = 4) => ({ owner, cls, label, ck_id: 'aa', managed: '' });

/** A commit with no audit records. */
export function plainCommit(units: Write[][], chain = 'node-1'): CommitRequest {
  return { units: units.map((writes) => ({ writes })), chain, durable: true, finish: () => ({ audit: [], writes: [] }) };
}
export function auditRows(chain: string, head: AuditHead, n: number): AuditRecordRow[] {
  const out: AuditRecordRow[] = [];
  let { seq, hash } = head;
  for (let i = 0; i < n; i++) {
    const next = `${chain}-${seq + 1}`.padEnd(64, '0').slice(0, 64);
    out.push({ chain, seq: seq + 1, time: new Date(1_700_000_000_000 + (seq + 1) * 1000).toISOString(), prev: hash, hash: next, body: `["r",${seq + 1}]` });
    seq++; hash = next;
  }
  return out;
}

export function keystoreContract(name: string, backend: ContractBackend): void {
  const withStore = (title: string, fn: (s: KeyStore, second: () => Promise<KeyStore>) => Promise<void>) =>
    test(`${name}: ${title}`, async () => {
      const { store, second, cleanup } = await backend.open();
      try { await fn(store, second); } finally { await cleanup(); }
    });

  withStore('every record table stores and returns rows byte for byte', async (s) => {
    for (const def of RECORD_TABLES) {
      const cols = Object.fromEntries(Object.entries(def.columns).map(([c, t]) => [c, t === 'integer' ? 42 : `${c}-v`]));
      const r = row('p1', cols);
      const res = await s.commit(plainCommit([[{ op: 'insert', table: def.name as never, row: r }]]));
      assert.deepEqual(res.outcomes, [{ ok: true }]);
      assert.deepEqual(await s.get(def.name as never, r.id), r, def.name);
      assert.equal(await s.get(def.name as never, 'missing'), undefined);
    }
  });

  withStore('versions (where a store has it): every row once as id, version and MAC, paged, across updates and deletes', async (s) => {
    if (!s.versions) return;
    const rows = Array.from({ length: 25 }, (_, i) => row('p1', objectCols('u1', `v${i}`)));
    await s.commit(plainCommit(rows.map((r) => [{ op: 'insert', table: 'objects', row: r }])));
    const bumped = { ...rows[3], version: 2, mac: Buffer.alloc(32, 0xee) };
    await s.commit(plainCommit([[{ op: 'update', table: 'objects', row: bumped, expected: 1 }], [{ op: 'delete', table: 'objects', id: rows[7].id }]]));
    const seen: { id: string; version: number; mac: string }[] = [];
    for (let pos = 0; ;) {
      const page = await s.versions('objects', pos, 4);
      assert.ok(page.length <= 4);
      for (const v of page) { assert.ok(v.pos > pos, 'pos grows'); seen.push({ id: v.id, version: v.version, mac: Buffer.from(v.mac).toString('hex') }); }
      if (page.length < 4) break;
      pos = page[page.length - 1].pos;
    }
    // The second implementation: the rows as `find` returns them.
    const want = (await s.find('objects', {})).map((r) => ({ id: r.id, version: r.version, mac: r.mac.toString('hex') }));
    assert.deepEqual([...seen].sort((a, b) => (a.id < b.id ? -1 : 1)), want);
    assert.equal(seen.length, 24);
    assert.deepEqual(seen.find((v) => v.id === rows[3].id), { id: rows[3].id, version: 2, mac: 'ee'.repeat(32) });
  });

  withStore('a null sealed value and an empty data string survive', async (s) => {
    const r = row('p1', objectCols(), { sealed: null, data: '' });
    await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
    assert.deepEqual(await s.get('objects', r.id), r);
  });

  withStore('a duplicate id or unique key fails the unit with EXISTS and changes nothing', async (s) => {
    const a = row('p1', { username: 'alice', role: 'user' });
    await s.commit(plainCommit([[{ op: 'insert', table: 'users', row: a }]]));
    const sameId = { ...row('p1', { username: 'bob', role: 'user' }), id: a.id };
    const sameName = row('p1', { username: 'alice', role: 'officer' });
    const otherPartition = row('p2', { username: 'alice', role: 'user' });
    const res = await s.commit(plainCommit([[{ op: 'insert', table: 'users', row: sameId }], [{ op: 'insert', table: 'users', row: sameName }],
      [{ op: 'insert', table: 'users', row: otherPartition }]]));
    assert.deepEqual(res.outcomes, [{ ok: false, code: 'EXISTS' }, { ok: false, code: 'EXISTS' }, { ok: true }]);
    assert.deepEqual(await s.get('users', a.id), a);
    assert.equal(await s.get('users', sameName.id), undefined);
    assert.equal(await s.count('users', { username: 'alice' }), 2);
  });

  withStore('updates check the stored version: a stale or missing row is STORE_CONFLICT', async (s) => {
    const r = row('p1', objectCols());
    await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
    const v2 = { ...r, version: 2, data: '{"v":2}' };
    const ok = await s.commit(plainCommit([[{ op: 'update', table: 'objects', row: v2, expected: 1 }]]));
    assert.deepEqual(ok.outcomes, [{ ok: true }]);
    const stale = await s.commit(plainCommit([[{ op: 'update', table: 'objects', row: { ...r, version: 2, data: '{"v":"lost"}' }, expected: 1 }]]));
    assert.deepEqual(stale.outcomes, [{ ok: false, code: 'STORE_CONFLICT' }]);
    const missing = await s.commit(plainCommit([[{ op: 'update', table: 'objects', row: { ...r, id: 'nope', version: 2 }, expected: 1 }]]));
    assert.deepEqual(missing.outcomes, [{ ok: false, code: 'STORE_CONFLICT' }]);
    assert.deepEqual(await s.get('objects', r.id), v2);
  });

  withStore('deletes: with a version they check it; without, a missing row is fine', async (s) => {
    const r = row('p1', objectCols());
    await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
    const wrong = await s.commit(plainCommit([[{ op: 'delete', table: 'objects', id: r.id, expected: 7 }]]));
    assert.deepEqual(wrong.outcomes, [{ ok: false, code: 'STORE_CONFLICT' }]);
    assert.ok(await s.get('objects', r.id));
    const right = await s.commit(plainCommit([[{ op: 'delete', table: 'objects', id: r.id, expected: 1 }]]));
    assert.deepEqual(right.outcomes, [{ ok: true }]);
    assert.equal(await s.get('objects', r.id), undefined);
    const again = await s.commit(plainCommit([[{ op: 'delete', table: 'objects', id: r.id }]]));
    assert.deepEqual(again.outcomes, [{ ok: true }]);
  });

  withStore('a unit is all or nothing; the other units of the batch still commit', async (s) => {
    const existing = row('p1', objectCols());
    await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: existing }]]));
    const a = row('p1', objectCols('u1', 'a'));
    const b = row('p1', objectCols('u1', 'b'));
    const c = row('p1', objectCols('u1', 'c'));
    const res = await s.commit(plainCommit([
      [{ op: 'insert', table: 'objects', row: a }, { op: 'update', table: 'objects', row: { ...existing, version: 2 }, expected: 5 }],
      [{ op: 'insert', table: 'objects', row: b }, { op: 'insert', table: 'objects', row: c }],
    ]));
    assert.deepEqual(res.outcomes, [{ ok: false, code: 'STORE_CONFLICT' }, { ok: true }]);
    assert.equal(await s.get('objects', a.id), undefined, 'the failed unit left nothing behind');
    assert.ok(await s.get('objects', b.id));
    assert.ok(await s.get('objects', c.id));
    assert.equal((await s.get('objects', existing.id))!.version, 1);
  });

  withStore('finish runs once inside the transaction: it sees the outcomes and links audit records to the head', async (s) => {
    let calls = 0;
    let seen: readonly UnitOutcome[] = [];
    const dup = row('p1', objectCols());
    await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: dup }]]));
    const res = await s.commit({
      chain: 'node-a', durable: true,
      units: [{ writes: [{ op: 'insert', table: 'objects', row: dup }] }, { writes: [] }],
      finish(head, outcomes) {
        calls++;
        seen = outcomes;
        assert.deepEqual(head, { seq: 0, hash: '0'.repeat(64) });
        return { audit: auditRows('node-a', head, 3), writes: [{ op: 'put', table: 'meta', row: { name: 'finished', value: Buffer.from('yes') } }] };
      },
    });
    assert.equal(calls, 1);
    assert.deepEqual(seen, [{ ok: false, code: 'EXISTS' }, { ok: true }]);
    assert.equal(res.audit.length, 3);
    assert.deepEqual(await s.audit.head('node-a'), { seq: 3, hash: res.audit[2].hash });
    assert.equal((await s.getMeta('finished'))?.toString(), 'yes');
    const next = await s.commit({ chain: 'node-a', durable: false, units: [], finish: (head) => ({ audit: auditRows('node-a', head, 2), writes: [] }) });
    assert.equal(next.audit[0].prev, res.audit[2].hash);
    assert.equal(next.audit[0].seq, 4);
    assert.deepEqual(await s.audit.head('node-b'), { seq: 0, hash: '0'.repeat(64) }, 'chains are independent');
    assert.deepEqual(await s.audit.chains(), ['node-a']);
  });

  withStore('chains lists every chain once, in code-point order, from an index seek per chain', async (s) => {
    assert.deepEqual(await s.audit.chains(), [], 'an empty log has no chains');
    // Names that sort differently by locale than by code point; several records each.
    const names = ['node-2', 'node-10', 'B', 'a', 'zürich', 'node-1/w0'];
    for (const [i, chain] of names.entries()) {
      await s.commit({ chain, durable: false, units: [], finish: (head) => ({ audit: auditRows(chain, head, 3 + i), writes: [] }) });
    }
    const expected = [...names].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
    assert.deepEqual(await s.audit.chains(), expected);
  });

  withStore('an error thrown by finish rolls the whole batch back', async (s) => {
    const r = row('p1', objectCols());
    await assert.rejects(s.commit({
      chain: 'n', durable: true, units: [{ writes: [{ op: 'insert', table: 'objects', row: r }] }],
      finish() { throw new Error('audit link failed'); },
    }), /audit link failed/);
    assert.equal(await s.get('objects', r.id), undefined);
    assert.deepEqual(await s.audit.head('n'), { seq: 0, hash: '0'.repeat(64) });
  });

  withStore('find filters on indexed columns, pages by id and refuses other columns', async (s) => {
    const rows = Array.from({ length: 25 }, (_, i) => row(i < 20 ? 'p1' : 'p2', objectCols(i % 2 ? 'odd' : 'even', `l${i % 5}`)));
    await s.commit(plainCommit(rows.map((r) => [{ op: 'insert', table: 'objects', row: r }])));
    const evens = await s.find('objects', { partition: 'p1', owner: 'even' });
    assert.deepEqual(evens.map((r) => r.id), rows.slice(0, 20).filter((_, i) => i % 2 === 0).map((r) => r.id));
    assert.equal(await s.count('objects', { partition: 'p1', label: 'l3' }), 4);
    assert.equal(await s.count('objects', {}), 25);
    const page1 = await s.find('objects', { partition: 'p1' }, { limit: 7 });
    const page2 = await s.find('objects', { partition: 'p1' }, { limit: 7, after: page1[6].id });
    const page3 = await s.find('objects', { partition: 'p1' }, { limit: 7, after: page2[6].id });
    assert.deepEqual([...page1, ...page2, ...page3].map((r) => r.id), rows.slice(0, 20).map((r) => r.id));
    assert.equal((await s.find('objects', { partition: 'p1', cls: 4, label: 'l0' })).length, 4);
    await assert.rejects(s.find('objects', { data: 'x' } as never), /filter/);
  });

  withStore('plain tables: put replaces by key, remove deletes, findPlain filters', async (s) => {
    await s.commit(plainCommit([[
      { op: 'put', table: 'object_shares', row: { object_id: 'o1', user_id: 'u1', partition: 'p' } },
      { op: 'put', table: 'object_shares', row: { object_id: 'o1', user_id: 'u2', partition: 'p' } },
      { op: 'put', table: 'object_shares', row: { object_id: 'o2', user_id: 'u1', partition: 'p' } },
      { op: 'put', table: 'login_throttle', row: { key: 'k', failures: 1, last_at: 10 } },
    ]]));
    await s.commit(plainCommit([[{ op: 'put', table: 'login_throttle', row: { key: 'k', failures: 2, last_at: 20 } }]]));
    assert.deepEqual(await s.findPlain('login_throttle', { key: 'k' }), [{ key: 'k', failures: 2, last_at: 20 }]);
    assert.deepEqual((await s.findPlain('object_shares', { user_id: 'u1' })).map((r) => r.object_id).sort(), ['o1', 'o2']);
    await s.commit(plainCommit([[{ op: 'remove', table: 'object_shares', key: { object_id: 'o1', user_id: 'u1' } }]]));
    assert.deepEqual((await s.findPlain('object_shares', { user_id: 'u1' })).map((r) => r.object_id), ['o2']);
  });

  withStore('meta values round-trip', async (s) => {
    await s.putMeta({ a: Buffer.from([0, 1]), b: Buffer.from('two') });
    await s.putMeta({ b: Buffer.from('three') });
    assert.deepEqual(await s.getMeta('a'), Buffer.from([0, 1]));
    assert.equal((await s.getMeta('b'))?.toString(), 'three');
    assert.equal(await s.getMeta('none'), undefined);
  });

  withStore('the change log names every write, in order', async (s) => {
    const start = await s.changes.latest();
    const r = row('p1', objectCols());
    const res = await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }], [{ op: 'put', table: 'login_throttle', row: { key: 'x', failures: 1, last_at: 1 } }]]));
    assert.ok(res.changeSeq > start);
    await s.commit(plainCommit([[{ op: 'delete', table: 'objects', id: r.id }]]));
    const log = await s.changes.since(start, 100);
    assert.deepEqual(log.map((c) => [c.table, c.id]), [['objects', r.id], ['login_throttle', 'x'], ['objects', r.id]]);
    assert.ok(log.every((c, i) => i === 0 || c.seq > log[i - 1].seq));
    assert.equal(await s.changes.latest(), log[log.length - 1].seq);
    const empty = await s.commit(plainCommit([]));
    assert.equal(empty.changeSeq, 0);
  });

  withStore('a second connection sees commits at once and is told of them', async (s, second) => {
    const other = await second();
    try {
      let told = 0;
      const stop = other.changes.subscribe(() => { told++; });
      other.changes.poll();
      const r = row('p1', objectCols());
      await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
      assert.deepEqual(await other.get('objects', r.id), r, 'visible on the other connection as soon as commit resolved');
      const deadline = Date.now() + 3000;
      while (!other.changes.poll() && told === 0 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 20));
      assert.ok(told > 0 || Date.now() < deadline, 'the other connection learned of the commit (poll or subscription)');
      stop();
      assert.ok((await other.changes.since(0, 100)).some((c) => c.id === r.id));
    } finally { await other.close(); }
  });

  withStore('concurrent conflicting updates from two connections: exactly one wins', async (s, second) => {
    const other = await second();
    try {
      const r = row('p1', objectCols());
      await s.commit(plainCommit([[{ op: 'insert', table: 'objects', row: r }]]));
      const results = await Promise.all([s, other, s, other].map((st, i) =>
        st.commit(plainCommit([[{ op: 'update', table: 'objects', row: { ...r, version: 2, data: `{"w":${i}}` }, expected: 1 }]]))));
      assert.equal(results.filter((x) => x.outcomes[0].ok).length, 1);
      assert.equal((await s.get('objects', r.id))!.version, 2);
    } finally { await other.close(); }
  });

  withStore('audit records page in order; checkpoints list by range; seqAtTime finds by time', async (s) => {
    await s.commit({ chain: 'c', durable: true, units: [], finish: (head) => ({ audit: auditRows('c', head, 30), writes: [] }) });
    const first = await s.audit.list('c', 1, 10);
    const rest = await s.audit.list('c', 11, 100);
    assert.deepEqual([...first, ...rest].map((r) => r.seq), Array.from({ length: 30 }, (_, i) => i + 1));
    assert.equal(first[1].prev, first[0].hash);
    for (const seq of [10, 20, 30]) await s.audit.putCheckpoint({ chain: 'c', seq, hash: `h${seq}`, time: 't', node: 'n', signature: 's' });
    assert.deepEqual((await s.audit.listCheckpoints('c', 15, 30)).map((c) => c.seq), [20, 30]);
    assert.equal((await s.audit.lastCheckpoint('c'))?.seq, 30);
    assert.equal(await s.audit.lastCheckpoint('other'), undefined);
    assert.equal(await s.audit.seqAtTime('c', new Date(1_700_000_000_000 + 12_500).toISOString()), 13);
    assert.equal(await s.audit.seqAtTime('c', '2100-01-01T00:00:00.000Z'), undefined);
  });

  withStore('bulk: dump leaves out what it is told to, replace restores exactly, wipe keeps what it is told to', async (s) => {
    const r = row('p1', objectCols());
    const u = row('', { username: 'admin', role: 'officer' });
    await s.commit({ chain: 'c', durable: true, units: [{ writes: [{ op: 'insert', table: 'objects', row: r }, { op: 'insert', table: 'users', row: u }] }],
      finish: (head) => ({ audit: auditRows('c', head, 2), writes: [] }) });
    const dump = await s.bulk.dump(['audit', 'audit_checkpoints', 'change_log']);
    assert.ok(!('audit' in dump));
    assert.equal(dump.objects.length, 1);
    await s.commit(plainCommit([[{ op: 'delete', table: 'objects', id: r.id }]]));
    const mark = await s.changes.latest();
    await s.bulk.replace({ objects: dump.objects });
    assert.deepEqual(await s.get('objects', r.id), r);
    assert.ok(await s.changes.latest() > mark, 'a replace is announced on the change log');
    await s.bulk.wipe(['audit', 'audit_checkpoints']);
    assert.equal(await s.get('objects', r.id), undefined);
    assert.equal(await s.get('users', u.id), undefined);
    assert.equal((await s.audit.head('c')).seq, 2, 'the audit chain survives a wipe');
  });

  // Key use counters (core/key-limits.ts): the atomic conditional consume.
  const consume = (id: string, below: number, seen: RecordRow[] = [], mac: (r: RecordRow) => Buffer | undefined = (r) => Buffer.alloc(32, r.version + 1)): Write =>
    ({ op: 'consume', table: 'use_counters', id, below, reseal: (stored) => { seen.push(stored); return mac(stored); } });

  withStore('consume: +1 while below the bound, the reseal sees the row as it was and its MAC is stored; then KEY_USES_EXHAUSTED', async (s) => {
    const r = row('p1', {}, { sealed: null, data: '{}' });
    await s.commit(plainCommit([[{ op: 'insert', table: 'use_counters', row: r }]]));
    const seen: RecordRow[] = [];
    const res = await s.commit(plainCommit([[consume(r.id, 3, seen)], [consume(r.id, 3, seen)], [consume(r.id, 3, seen)]]));
    assert.deepEqual(res.outcomes, [{ ok: true }, { ok: true }, { ok: false, code: 'KEY_USES_EXHAUSTED' }]);
    assert.deepEqual(seen.map((x) => [x.version, x.mac.equals(Buffer.alloc(32, x.version)) || x.mac.equals(r.mac)]), [[1, true], [2, true]]);
    assert.deepEqual(await s.get('use_counters', r.id), { ...r, version: 3, mac: Buffer.alloc(32, 3) });
    assert.deepEqual((await s.commit(plainCommit([[consume('missing', 9)]]))).outcomes, [{ ok: false, code: 'STORE_CORRUPT' }]);
    // A reseal that refuses the stored row (a bad MAC) fails the unit and leaves the row as it was.
    const refused = await s.commit(plainCommit([[consume(r.id, 9, [], () => undefined)]]));
    assert.deepEqual(refused.outcomes, [{ ok: false, code: 'STORE_CORRUPT' }]);
    assert.equal((await s.get('use_counters', r.id))!.version, 3);
  });

  withStore('consume is exact under concurrency across two connections: 5 of 24 succeed', async (s, second) => {
    const r = row('p1', {}, { sealed: null, data: '{}' });
    await s.commit(plainCommit([[{ op: 'insert', table: 'use_counters', row: r }]]));
    const other = await second();
    try {
      const all = await Promise.all(Array.from({ length: 24 }, (_, i) => (i % 2 ? other : s).commit(plainCommit([[consume(r.id, 6)]]))));
      const outcomes = all.map((x) => x.outcomes[0]);
      assert.equal(outcomes.filter((o) => o.ok).length, 5);
      assert.ok(outcomes.every((o) => o.ok || o.code === 'KEY_USES_EXHAUSTED'));
      assert.equal((await s.get('use_counters', r.id))!.version, 6);
    } finally { await other.close(); }
  });
}
