// The record format itself (linkRecords, the canonical body), old inkan-audit/v1 exports, and
// inputs that are not exports or are damaged: each gets a clear answer, never a crash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as c from '../../src/crypto/node-crypto';
import { canonical, fromCanonical, GENESIS, linkRecords } from '../../src/audit-chain/chain';
import { ExportFormatError, verifyExport } from '../../src/audit-chain/verify';
import { auditKey, body, fixture, fromArray, opensslSha256, parse } from './fixtures';

test('linkRecords numbers and links bodies onto a head, and is pure', () => {
  const head = { seq: 41, hash: 'ab'.repeat(32) };
  const bodies = [body(1, { partition: 'tenant-a', detail: 'rotated' }), body(2)];
  const rows = linkRecords('node-7', head, bodies);
  assert.deepEqual(rows.map((r) => [r.chain, r.seq, r.time]), [['node-7', 42, bodies[0].time], ['node-7', 43, bodies[1].time]]);
  assert.equal(rows[0].prev, head.hash);
  assert.equal(rows[1].prev, rows[0].hash);
  assert.deepEqual(linkRecords('node-7', head, bodies), rows, 'the same input gives the same rows');
  assert.equal(head.seq, 41, 'the head is not changed');
  // partition sits between face and op; absent fields are null.
  const values = JSON.parse(rows[0].body) as unknown[];
  assert.deepEqual(values.slice(5, 8), [bodies[0].face, 'tenant-a', bodies[0].op]);
  assert.equal(JSON.parse(rows[1].body)[11], null);
  assert.equal(canonical(fromCanonical(rows[0].body)), rows[0].body);
  // The chain name is bound into the hash (by a second SHA-256 implementation).
  assert.equal(opensslSha256(Buffer.from(`inkan-audit/v2\0"node-7"\0${head.hash}\0${rows[0].body}`)), rows[0].hash);
  assert.notEqual(linkRecords('node-8', head, bodies)[0].hash, rows[0].hash);
  assert.throws(() => linkRecords('node-7', head, [{ ...bodies[0], time: '2026-01-01 10:00' }]), /ISO 8601/);
  assert.throws(() => linkRecords('node-7', { seq: -1, hash: GENESIS }, bodies), /malformed/);
  assert.throws(() => linkRecords('', head, bodies), /name/);
  assert.deepEqual(linkRecords('node-7', head, []), []);
});

/** An inkan-audit/v1 export as Inkan 0.1 wrote it, built from the v1 definition. */
function v1Export(key: c.KeyObject, pem: string, n: number) {
  const fields = ['seq', 'time', 'node', 'actor', 'role', 'face', 'op', 'object', 'outcome', 'code', 'detail'];
  let prev = GENESIS;
  const records = Array.from({ length: n }, (_, i) => {
    const r: Record<string, unknown> = { seq: i + 1, time: `2025-01-01T00:00:${String(i).padStart(2, '0')}.000Z`, node: 'node-1', actor: 'u', role: 'user', face: 'admin', op: 'key.sign', outcome: 'success' };
    const hash = opensslSha256(Buffer.from(`inkan-audit/v1\0${prev}\0${JSON.stringify(fields.map((f) => r[f] ?? null))}`));
    Object.assign(r, { prev, hash });
    prev = hash;
    return r;
  });
  const cp = { seq: n, hash: prev, time: '2025-01-02T00:00:00.000Z', node: 'node-1' };
  const signature = c.signSync(null, Buffer.from(`inkan-audit/v1/checkpoint\0${cp.seq}\0${cp.hash}\0${cp.time}\0${cp.node}`), key).toString('base64');
  return { scheme: 'inkan-audit/v1', records, checkpoints: [{ ...cp, signature }], publicKey: pem };
}

test('old inkan-audit/v1 exports still verify, pretty-printed or compact, and tampering is named', async () => {
  const k = await auditKey();
  const e = v1Export(k.privateKey, k.pem, 6);
  for (const text of [JSON.stringify(e, null, 1) + '\n', JSON.stringify(e)]) {
    const r = await verifyExport(fromArray([text]), { publicKey: k.pem });
    assert.equal(r.ok, true, r.problem);
    assert.deepEqual([r.scheme, r.records, r.checkpoints], ['inkan-audit/v1', 6, 1]);
  }
  const edited = structuredClone(e);
  edited.records[2].actor = 'someone-else';
  const bad = await verifyExport(fromArray([JSON.stringify(edited, null, 1)]), { publicKey: k.pem });
  assert.equal(bad.ok, false);
  assert.match(bad.problem!, /record 3 was edited/);
  await assert.rejects(verifyExport(fromArray([JSON.stringify(e)]), { publicKey: k.pem, anchors: [{ chain: 'node-1', seq: 1, hash: GENESIS, time: '', node: '', signature: '' }] }), /--after checks inkan-audit\/v2/);
});

test('inputs that are not exports are refused with a clear error', async () => {
  const k = await auditKey();
  for (const text of ['', 'hello\n', '{"scheme":"something-else"}', '[1,2,3]']) {
    await assert.rejects(verifyExport(fromArray([text]), { publicKey: k.pem }), (err: unknown) => err instanceof ExportFormatError, JSON.stringify(text));
  }
  await assert.rejects(verifyExport(fromArray(['{}']), { publicKey: 'not a key' }), /not a PEM public key/);
});

test('damaged exports are findings, each named: not JSON, cut off, padded, overlong, unknown lines', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 10, { checkpointEvery: 5 });
    const lines = await f.lines();
    const problems = async (l: string[]) => (await f.verify(l)).findings.map((x) => x.problem).join(' | ');
    assert.match(await problems([...lines.slice(0, 4), '{"type":"record",\n', ...lines.slice(5)]), /line 5 is not JSON/);
    // Cut off after some records (a broken download): no final checkpoint, no end line.
    const cut = await problems(lines.slice(0, 6));
    assert.match(cut, /no signed final checkpoint for chain node-1/);
    assert.match(cut, /no end line: it was cut off/);
    assert.match(await problems([...lines, lines[3]]), /comes after the end line/);
    assert.match(await problems([...lines.slice(0, 3), JSON.stringify({ type: 'comment', text: 'x'.repeat(2 << 20) }), ...lines.slice(3)]), /line 4 is longer than/);
    assert.match(await problems([...lines.slice(0, 3), '{"type":"note"}', ...lines.slice(3)]), /line 4 has an unknown type "note"/);
    assert.match(await problems([...lines.slice(0, 3), '{"type":"record","chain":"node-9","seq":1}', ...lines.slice(3)]), /names chain "node-9", which the header does not list/);
    const end = parse(lines.at(-1)!);
    assert.match(await problems([...lines.slice(0, -1), JSON.stringify({ ...end, records: 11 })]), /the end line counts 1 chains, 11 records/);
    const header = parse(lines[0]);
    assert.match(await problems([JSON.stringify({ ...header, scheme: 'inkan-audit/v9' }), ...lines.slice(1)]), /unsupported export format/);
    assert.match(await problems([JSON.stringify({ ...header, chains: 'node-1' }), ...lines.slice(1)]), /header line is malformed/);
    assert.match(await problems(lines.slice(1)), /does not start with its header line/);
    // A chain name that would write control characters to the auditor's terminal.
    assert.match(await problems([JSON.stringify({ ...header, chains: ['node-1\u001b[2J'] }), ...lines.slice(1)]), /header line is malformed/);
    // Windows line ends and blank lines are harmless.
    assert.equal((await f.verify(lines.map((l) => l.replace('\n', '\r\n')).flatMap((l) => [l, '\n']))).ok, true);
  } finally { await f.close(); }
});

test('the exporter shows a store row that is not a record instead of failing', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 5);
    f.sql("UPDATE audit SET body = 'garbage' WHERE chain = 'node-1' AND seq = 3");
    const lines = await f.lines();
    assert.equal(parse(lines[4]).unreadable, 'garbage');
    assert.match((await f.verify(lines)).problem!, /record 3 was edited \(its stored body is not a record\)/);
  } finally { await f.close(); }
});

test('an export cut into chunks at any byte (inside a line, inside a UTF-8 character) verifies the same, with the same line numbers', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 40, { checkpointEvery: 10, make: (i) => ({ detail: `Zürich ✓ ${i}` }) });
    const bytes = Buffer.from((await f.lines()).join(''));
    const inChunksOf = (size: number) => (async function* () { for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, i + size); })();
    for (const size of [1, 2, 3, 7, 64, 1000, bytes.length]) {
      const r = await verifyExport(inChunksOf(size), { publicKey: f.key.pem });
      assert.equal(r.ok, true, `${size}: ${r.problem}`);
      assert.equal(r.records, 40);
    }
    // An edit in record 25's detail: named at its line whatever the chunking (the line counted here).
    const text = bytes.toString('utf8');
    const at = text.indexOf('Zürich ✓ 25"');
    const line = text.slice(0, at).split('\n').length;
    const edited = Buffer.from(text.slice(0, at) + 'Zurich' + text.slice(at + 'Zürich'.length));
    for (const size of [1, 5, 4096]) {
      const r = await verifyExport((async function* () { for (let i = 0; i < edited.length; i += size) yield edited.subarray(i, i + size); })(), { publicKey: f.key.pem });
      assert.deepEqual([r.ok, r.findings[0].seq, r.findings[0].line], [false, 25, line], `chunks of ${size}`);
    }
  } finally { await f.close(); }
});
