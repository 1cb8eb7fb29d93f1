// Ranged exports (from a seq, since a time, one chain) and `--after`: a later export must
// contain what an earlier checkpoint signed, so truncation and rollback of the store are proven
// even though every export signs a fresh checkpoint over whatever the store holds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkpointMessage } from '../../src/audit-chain/chain';
import { ExportFormatError, readAnchors } from '../../src/audit-chain/verify';
import * as c from '../../src/crypto/node-crypto';
import type { CheckpointRow } from '../../src/keystore/types';
import { auditKey, findLine, fixture, fromArray, parse } from './fixtures';

const finals = (lines: string[]): CheckpointRow[] => lines.map(parse).filter((l) => l.type === 'final').map(({ type: _t, ...cp }) => cp as CheckpointRow);
const anchorsOf = (lines: string[]) => readAnchors(fromArray(lines));
const recordAt = (lines: string[], seq: number, chain = 'node-1') => parse(lines[findLine(lines, (l) => l.type === 'record' && l.chain === chain && l.seq === seq)]);

test('ranged exports verify: from a seq, since a time, one chain', async () => {
  const f = await fixture();
  try {
    const rows = await f.append('node-1', 25, { checkpointEvery: 5 });
    await f.append('node-2', 6);
    const from = await f.lines({ fromSeq: 11 });
    const r = await f.verify(from);
    assert.equal(r.ok, true, r.problem);
    assert.deepEqual(r.chains.map((ch) => [ch.chain, ch.fromSeq, ch.records]), [['node-1', 11, 15], ['node-2', 7, 0]]);
    const start = parse(from[1]);
    assert.deepEqual([start.type, start.fromSeq, start.prev], ['start', 11, rows[9].hash]);
    // The stored checkpoint at 10 is included: it signs the start's prev.
    assert.equal(parse(from[2]).type, 'checkpoint');
    assert.equal(parse(from[2]).seq, 10);

    const since = await f.lines({ since: rows[19].time, chain: 'node-1' });
    const s = await f.verify(since);
    assert.equal(s.ok, true, s.problem);
    assert.deepEqual([s.chains.length, s.chains[0].fromSeq, s.chains[0].records], [1, 20, 6]);
    assert.deepEqual(parse(since[0]).range, { since: rows[19].time, chain: 'node-1' });

    const later = await f.verify(await f.lines({ since: '2099-01-01T00:00:00Z' }));
    assert.equal(later.ok, true, later.problem);
    assert.equal(later.records, 0);
  } finally { await f.close(); }
});

test('a ranged export detects a tampered first link', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 30);
    const lines = await f.lines({ fromSeq: 12 });
    assert.equal((await f.verify(lines)).ok, true);
    // In the file: the first record made to link elsewhere.
    const i = findLine(lines, (l) => l.type === 'record' && l.seq === 12);
    const l = parse(lines[i]);
    const bad = [...lines];
    bad[i] = JSON.stringify({ ...l, prev: 'f'.repeat(64) });
    const r = await f.verify(bad);
    assert.match(r.chains[0].problem!, /record 12 does not link to record 11, which the export starts after/);
    // In the store: record 11 rewritten, so the start the exporter reads no longer fits record 12.
    f.sql("UPDATE audit SET hash = ? WHERE chain = 'node-1' AND seq = 11", 'e'.repeat(64));
    const s = await f.verify(await f.lines({ fromSeq: 12 }));
    assert.match(s.chains[0].problem!, /record 12 does not link to record 11/);
    // Record 11 deleted: the start cannot be anchored.
    f.sql("DELETE FROM audit WHERE chain = 'node-1' AND seq = 11");
    const d = await f.verify(await f.lines({ fromSeq: 12 }));
    assert.match(d.chains[0].problem!, /record 11, which the export starts after, is missing/);
    // A ranged start claimed for a whole export is refused.
    const whole = await f.lines();
    const fake = [whole[0], ...lines.slice(1)];
    assert.match((await f.verify(fake)).problem!, /records 1-11 were removed from the start of the log/);
  } finally { await f.close(); }
});

test('--after accepts a genuine extension, as an export, a sidecar or one checkpoint', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 20, { checkpointEvery: 10 });
    await f.append('node-2', 4);
    const first = await f.lines();
    await f.append('node-1', 12);
    await f.append('node-2', 3);
    const anchors = await anchorsOf(first);
    assert.deepEqual(anchors.map((a) => [a.chain, a.seq]), [['node-1', 20], ['node-2', 4]]);
    const whole = await f.verify(await f.lines(), anchors);
    assert.equal(whole.ok, true, whole.problem);
    assert.deepEqual(whole.chains.map((ch) => ch.consistentWith), [20, 4]);
    // Only what is new: each chain from its next record, the first link checked against the anchor.
    const next = await f.lines({ fromSeq: 21, chain: 'node-1' });
    const onlyNew = await f.verify(next, anchors.filter((a) => a.chain === 'node-1'));
    assert.equal(onlyNew.ok, true, onlyNew.problem);
    assert.equal(onlyNew.chains[0].consistentWith, 20);
    // The sidecar the module keeps, and one checkpoint (also copied as an export line).
    const sidecar = JSON.stringify({ chains: Object.fromEntries(finals(first).map((cp) => [cp.chain, cp])) });
    assert.deepEqual(await anchorsOf([sidecar]), finals(first));
    // The record the earlier checkpoint names may be gone from the store: a range that starts
    // right after it still links to the checkpoint, and a different history there does not.
    f.sql("DELETE FROM audit WHERE chain = 'node-1' AND seq = 20");
    const anchored = await f.verify(await f.lines({ fromSeq: 21, chain: 'node-1' }), anchors.filter((a) => a.chain === 'node-1'));
    assert.equal(anchored.ok, true, anchored.problem);
    const other = { ...anchors[0], hash: 'c'.repeat(64) };
    other.signature = c.signSync(null, checkpointMessage(other), f.key.privateKey).toString('base64');
    const differs = await f.verify(await f.lines({ fromSeq: 21, chain: 'node-1' }), [other]);
    assert.equal(differs.chains[0].problem, 'rolled back or rewritten: record 20 differs from the earlier checkpoint');
    const one = finals(first)[0];
    assert.deepEqual(await anchorsOf([JSON.stringify(one)]), [one]);
    assert.deepEqual(await anchorsOf([JSON.stringify({ type: 'final', ...one })]), [one]);
  } finally { await f.close(); }
});

test('--after detects truncation that the export alone cannot see', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 40, { checkpointEvery: 10 });
    const earlier = await anchorsOf(await f.lines());
    // A thorough attacker deletes the newest rows and the checkpoints that name them.
    f.sql("DELETE FROM audit WHERE chain = 'node-1' AND seq > 31");
    f.sql("DELETE FROM audit_checkpoints WHERE chain = 'node-1' AND seq > 31");
    const now = await f.lines();
    assert.equal((await f.verify(now)).ok, true, 'without an outside anchor, a truncated log looks whole');
    const r = await f.verify(now, earlier);
    assert.equal(r.ok, false);
    assert.equal(r.chains[0].problem, 'truncated: the log now ends at seq 31, before the earlier checkpoint at 40');
    assert.equal(r.findings[0].seq, 32);
  } finally { await f.close(); }
});

test('--after detects a rolled-back store and a rewritten history', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 20, { checkpointEvery: 10 });
    const old = f.snapshot();
    await f.append('node-1', 10, { checkpointEvery: 10 });
    const earlier = await anchorsOf(await f.lines());
    assert.equal(earlier[0].seq, 30);
    // The database file replaced by an older copy, then used on: it grows past the anchor again.
    await f.restore(old);
    await f.append('node-1', 15, { checkpointEvery: 10 });
    const rolled = await f.lines();
    assert.equal((await f.verify(rolled)).ok, true, 'the restored log is consistent in itself');
    const r = await f.verify(rolled, earlier);
    assert.equal(r.chains[0].problem, 'rolled back or rewritten: record 30 differs from the earlier checkpoint');
    // The same, seen by a ranged export that starts right after the anchor.
    const next = await f.verify(await f.lines({ fromSeq: 31 }), earlier);
    assert.equal(next.chains[0].problem, 'rolled back or rewritten: record 30 differs from the earlier checkpoint');
    // The newest rows replaced by another, properly re-linked history (and their checkpoints
    // dropped): the export alone verifies, the earlier checkpoint does not match.
    const g = await fixture();
    try {
      await g.append('node-1', 8);
      const anchors = await anchorsOf(await g.lines());
      g.sql("DELETE FROM audit WHERE chain = 'node-1' AND seq >= 6");
      g.sql("DELETE FROM audit_checkpoints WHERE chain = 'node-1'");
      await g.append('node-1', 5);
      assert.equal((await g.verify(await g.lines())).ok, true);
      const r2 = await g.verify(await g.lines(), anchors);
      assert.equal(r2.chains[0].problem, 'rolled back or rewritten: record 8 differs from the earlier checkpoint');
    } finally { await g.close(); }
  } finally { await f.close(); }
});

test('--after names a missing chain, a forged earlier checkpoint and a range it cannot check', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 12);
    await f.append('node-2', 5);
    const earlier = await anchorsOf(await f.lines());
    await f.append('node-1', 10);
    const onlyOne = await f.verify(await f.lines({ chain: 'node-1' }), earlier);
    assert.equal(onlyOne.ok, false);
    assert.match(onlyOne.problem!, /^chain node-2 missing/);
    const other = await auditKey();
    const forged = { ...earlier[0], seq: 10 };
    forged.signature = c.signSync(null, checkpointMessage(forged), other.privateKey).toString('base64');
    const fr = await f.verify(await f.lines({ chain: 'node-1' }), [forged]);
    assert.match(fr.problem!, /the earlier checkpoint for chain node-1 \(record 10\) has an invalid signature/);
    const gap = await f.verify(await f.lines({ fromSeq: 15, chain: 'node-1' }), [earlier[0]]);
    assert.match(gap.problem!, /cannot be checked against the earlier checkpoint at record 12: this export starts at record 15/);
  } finally { await f.close(); }
});

test('earlier files that hold no checkpoint are refused clearly', async () => {
  for (const text of ['', 'not json', '{"chains":{}}', '{"scheme":"inkan-audit/v1","records":[],"checkpoints":[]}', '{"chains":{"a":{"chain":"b"}}}']) {
    await assert.rejects(anchorsOf([text]), (e: unknown) => e instanceof ExportFormatError, text);
  }
  const header = JSON.stringify({ type: 'header', format: 'inkan-audit-export/2', scheme: 'inkan-audit/v2', chains: [] });
  await assert.rejects(anchorsOf([header]), /no final checkpoint/);
});

test('export ranges are checked before anything is streamed', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 3);
    for (const range of [{ fromSeq: 0 }, { fromSeq: 1.5 }, { since: 'yesterday' }, { fromSeq: 2, since: '2026-01-01T00:00:00Z' }, { chain: 'node-9' }, { chain: '' }]) {
      await assert.rejects(f.lines(range as never), (e: { code?: string }) => e.code === 'BAD_REQUEST', JSON.stringify(range));
    }
    assert.equal(recordAt(await f.lines({ fromSeq: 3 }), 3).seq, 3);
  } finally { await f.close(); }
});
