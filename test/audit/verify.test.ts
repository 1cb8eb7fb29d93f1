// Exports of a real SQLite store verify, and the streaming verifier names each kind of tampering:
// edited, removed, inserted and reordered records, forged checkpoints, rows deleted from the
// store (which export-time signing alone would hide), per chain.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ed25519 } from '@noble/curves/ed25519';
import * as c from '../../src/crypto/node-crypto';
import { chainHash, checkpointMessage, GENESIS } from '../../src/audit-chain/chain';
import { auditKey, findLine, fixture, opensslSha256, parse } from './fixtures';

const edit = (lines: string[], i: number, change: (l: Record<string, any>) => void): string[] => {
  const copy = [...lines];
  const l = parse(copy[i]);
  change(l);
  copy[i] = JSON.stringify(l) + '\n';
  return copy;
};
const recordIndex = (lines: string[], seq: number, chain = 'node-1') => findLine(lines, (l) => l.type === 'record' && l.chain === chain && l.seq === seq);

test('an export verifies; its hashes and signatures check out with openssl and @noble/curves', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 30, { checkpointEvery: 10 });
    const lines = await f.lines();
    const r = await f.verify(lines);
    assert.equal(r.ok, true, r.problem);
    assert.deepEqual([r.records, r.checkpoints, r.chains[0].final?.seq], [30, 3, 30]);
    const types = lines.map((l) => parse(l).type);
    assert.deepEqual([types[0], types[1], types.at(-2), types.at(-1)], ['header', 'start', 'final', 'end']);
    // Each stored checkpoint follows the record it names.
    for (const i of lines.keys()) if (parse(lines[i]).type === 'checkpoint') assert.equal(parse(lines[i - 1]).seq, parse(lines[i]).seq);

    // The record hash, recomputed from the format's definition by another SHA-256.
    for (const seq of [3, 4]) {
      const rec = parse(lines[recordIndex(lines, seq)]);
      assert.equal(rec.partition, seq === 3 ? undefined : 'p1', 'partition is absent or the tenant');
      const fields = ['seq', 'time', 'node', 'actor', 'role', 'face', 'partition', 'op', 'object', 'outcome', 'code', 'detail'].map((k) => rec[k] ?? null);
      assert.equal(opensslSha256(Buffer.from(`inkan-audit/v2\0"node-1"\0${rec.prev}\0${JSON.stringify(fields)}`)), rec.hash);
    }
    // The final checkpoint, verified by @noble/curves on the raw public key.
    const fin = parse(lines.at(-2)!);
    const raw = c.exportSpki(f.key.publicKey).subarray(-32);
    const msg = Buffer.from(JSON.stringify(['inkan-audit/v2/checkpoint', 'node-1', fin.seq, fin.hash, fin.time, fin.node]));
    assert.deepEqual(checkpointMessage(fin as never), msg);
    assert.equal(ed25519.verify(Buffer.from(fin.signature, 'base64'), msg, raw), true);
    assert.equal(fin.hash, parse(lines[recordIndex(lines, 30)]).hash);
  } finally { await f.close(); }
});

test('the verifier names edited, removed, inserted and reordered records', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 20, { checkpointEvery: 5 });
    const lines = await f.lines();
    const check = async (l: string[]) => (await f.verify(l)).chains[0];

    const edited = await check(edit(lines, recordIndex(lines, 5), (l) => { l.actor += 'x'; }));
    assert.deepEqual([edited.ok, edited.firstBadSeq], [false, 5]);
    assert.match(edited.problem!, /record 5 was edited/);

    // Editing and re-hashing one record (without the audit key) breaks the link of the next one.
    const rehashed = edit(lines, recordIndex(lines, 3), (l) => { l.outcome = 'failure'; l.hash = chainHash('node-1', l.prev, l as never); });
    assert.equal((await check(rehashed)).firstBadSeq, 4);

    const removed = await check(lines.filter((_, i) => i !== recordIndex(lines, 4)));
    assert.match(removed.problem!, /record 4 was removed/);
    assert.equal(removed.firstBadSeq, 4);

    const at4 = recordIndex(lines, 4);
    const inserted = await check([...lines.slice(0, at4 + 1), lines[at4], ...lines.slice(at4 + 1)]);
    assert.deepEqual([inserted.ok, inserted.firstBadSeq], [false, 4]);
    assert.match(inserted.problem!, /record 4 appears twice or was inserted/);

    const reordered = [...lines];
    const [i6, i7] = [recordIndex(lines, 6), recordIndex(lines, 7)];
    [reordered[i6], reordered[i7]] = [reordered[i7], reordered[i6]];
    const ro = await check(reordered);
    assert.deepEqual([ro.ok, ro.firstBadSeq], [false, 6]);
    assert.match(ro.problem!, /out of order/);

    // Removing the last records (and their stored checkpoints): the chain still links, but the
    // export-time checkpoint names the loss.
    const cut = recordIndex(lines, 18);
    const truncated = await check([...lines.slice(0, cut), ...lines.slice(-2)]);
    assert.equal(truncated.ok, false);
    assert.match(truncated.problem!, /missing|removed/);

    // A record with an added field is not silently accepted.
    assert.match((await check(edit(lines, recordIndex(lines, 2), (l) => { l.note = 'hi'; }))).problem!, /record 2 was edited \(it has a field "note"/);
    // Records appended after the final checkpoint.
    const extra = lines.slice(0, -1).concat(lines[recordIndex(lines, 20)], lines.at(-1)!);
    assert.match((await check(extra)).problem!, /records after the final checkpoint \(20\) were added/);
  } finally { await f.close(); }
});

test('forged or foreign checkpoints are refused', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 12, { checkpointEvery: 4 });
    const lines = await f.lines();
    const other = await auditKey();
    const foreign = await f.verify(lines, undefined, other.pem);
    assert.equal(foreign.ok, false);
    assert.match(foreign.chains[0].problem!, /checkpoint at record 4 has an invalid signature/);
    // A stored checkpoint edited to name another hash.
    const cpAt = findLine(lines, (l) => l.type === 'checkpoint' && l.seq === 8);
    const forged = await f.verify(edit(lines, cpAt, (l) => { l.hash = parse(lines[recordIndex(lines, 7)]).hash; }));
    assert.match(forged.chains[0].problem!, /checkpoint at record 8 has an invalid signature/);
    // A final checkpoint signed by another key over the real head.
    const fin = parse(lines.at(-2)!);
    const fake = { ...fin, signature: c.signSync(null, checkpointMessage(fin as never), other.privateKey).toString('base64') };
    const r = await f.verify([...lines.slice(0, -2), JSON.stringify(fake), lines.at(-1)!]);
    assert.match(r.chains[0].problem!, /final checkpoint at record 12 has an invalid signature/);
  } finally { await f.close(); }
});

test('rows deleted from the store are caught although the export signs a fresh checkpoint', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 40, { checkpointEvery: 10 });
    assert.equal((await f.verify(await f.lines())).ok, true);
    // The red team's attack: delete the newest rows. The stored checkpoint at 40 outlives them.
    f.sql('DELETE FROM audit WHERE chain = ? AND seq > 33', 'node-1');
    const t = await f.verify(await f.lines());
    assert.equal(t.ok, false);
    assert.match(t.chains[0].problem!, /truncated: the log ends at seq 33, but a signed checkpoint names record 40/);
    // A row deleted in the middle.
    f.sql('DELETE FROM audit WHERE chain = ? AND seq = 12', 'node-1');
    const m = await f.verify(await f.lines());
    assert.match(m.chains[0].problem!, /record 12 was removed/);
    // A stored row edited in place.
    f.sql("UPDATE audit SET body = replace(body, '\"user\"', '\"officer\"') WHERE chain = ? AND seq = 5", 'node-1');
    const e = await f.verify(await f.lines());
    assert.match(e.chains[0].problem!, /record 5 was edited/);
  } finally { await f.close(); }
});

test('each chain is checked on its own and named in the findings', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 15, { checkpointEvery: 5 });
    await f.append('node-2', 9, { checkpointEvery: 5 });
    await f.append('node-1', 3);
    const lines = await f.lines();
    const ok = await f.verify(lines);
    assert.equal(ok.ok, true, ok.problem);
    assert.deepEqual(ok.chains.map((ch) => [ch.chain, ch.records, ch.final?.seq]), [['node-1', 18, 18], ['node-2', 9, 9]]);
    const bad = await f.verify(edit(lines, recordIndex(lines, 7, 'node-2'), (l) => { l.op = 'key.delete'; }));
    assert.deepEqual(bad.chains.map((ch) => ch.ok), [true, false]);
    assert.deepEqual(bad.findings.map((x) => [x.chain, x.seq]), [['node-2', 7]]);
    assert.match(bad.problem!, /record 7 was edited .*\[chain node-2, line \d+\]/);
    // A record of one chain moved into another does not verify there (the hash binds the chain).
    const moved = edit(lines, recordIndex(lines, 1, 'node-2'), (l) => { l.chain = 'node-1'; });
    assert.equal((await f.verify(moved)).ok, false);
    // A chain removed from the file, header and all, is not noticed without --after: it is the
    // earlier checkpoints that name it (see consistency.test.ts). Removed only from the body, it is.
    const noBody = lines.filter((l) => parse(l).chain !== 'node-2');
    assert.match((await f.verify(noBody)).problem!, /chain node-2 is listed in the header but is not in the export/);
  } finally { await f.close(); }
});

test('the genesis, empty and one-record cases', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 1);
    const lines = await f.lines();
    assert.equal((await f.verify(lines)).ok, true);
    assert.equal(parse(lines[1]).prev, GENESIS);
    const noGenesis = edit(lines, 1, (l) => { l.prev = 'a'.repeat(64); });
    assert.match((await f.verify(noGenesis)).problem!, /record 1 does not start from the genesis hash/);
  } finally { await f.close(); }
});
