// `inkan audit verify -` on a long export streamed into its stdin, line by line, never held whole
// by this test or by the CLI: intact it verifies; an altered, a cut or a removed line in the
// middle is refused naming the record and the line of the export where it shows (the line
// numbers are counted here, independently of the verifier). And the edge the other way: the
// export of an empty log, of a one-record log and of a range past the head still verify.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { inChunks, openExport, type ExportRange } from '../../src/core/audit/export';
import { fixture, Fixture, tempDir } from './fixtures';

/** dist/test/audit → the repository root. */
const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'inkan.js');
const RECORDS = 30_000;
const work = tempDir('inkan-audit-stream-');
after(() => fs.rmSync(work, { recursive: true, force: true }));

interface Run { code: number; out: string; err: string }
/** An edit of line `lineNo` (1 = the header): its replacement, or null to drop it. */
type Edit = (line: string, lineNo: number) => string | null;

function keyFile(f: Fixture): string {
  const file = path.join(work, `key-${process.hrtime.bigint()}.pem`);
  fs.writeFileSync(file, f.key.pem);
  return file;
}

/** The export, edited on the way, piped into `inkan audit verify - …args`. */
async function verifyPiped(f: Fixture, edit: Edit = (l) => l, args: string[] = [], range: ExportRange = {}): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('INKAN_')) env[k] = v;
  env.INKAN_SERVER = 'http://127.0.0.1:9';
  const child = spawn(process.execPath, [BIN, ...args, 'audit', 'verify', '-', '--public-key', keyFile(f)], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => { out += c; });
  child.stderr.on('data', (c: Buffer) => { err += c; });
  const closed = new Promise<number>((resolve, reject) => { child.on('error', reject); child.on('close', (code) => resolve(code ?? -1)); });
  const lines = await openExport(f.store.audit, { ...range, publicKey: f.key.pem, sign: f.sign });
  async function* edited() {
    let n = 0;
    for await (const l of lines) {
      const e = edit(l.slice(0, -1), ++n);
      if (e !== null) yield e + '\n';
    }
  }
  await pipeline(Readable.from(inChunks(edited())), child.stdin);
  return { code: await closed, out, err };
}

/** The line number (1-based) of record `seq` in the unedited export, counted from the lines. */
async function lineOf(f: Fixture, seq: number): Promise<number> {
  let n = 0;
  for await (const l of await openExport(f.store.audit, { publicKey: f.key.pem, sign: f.sign })) {
    n++;
    const j = JSON.parse(l) as { type: string; seq?: number };
    if (j.type === 'record' && j.seq === seq) return n;
  }
  throw new Error(`record ${seq} is not in the export`);
}

const isRecord = (l: string, seq: number) => l.startsWith('{"type":"record"') && (JSON.parse(l) as { seq: number }).seq === seq;

test(`a ${RECORDS}-record export streamed into verify -: intact OK; an altered, cut or removed line names its record and line`, { timeout: 180_000 }, async () => {
  const f = await fixture();
  try {
    for (let done = 0; done < RECORDS; done += 5000) await f.append('node-1', 5000, { checkpointEvery: 100 });

    const ok = await verifyPiped(f);
    assert.equal(ok.code, 0, ok.err + ok.out);
    assert.match(ok.out, new RegExp(`^OK: 1 chain\\(s\\), ${RECORDS} records, ${RECORDS / 100} stored checkpoints, chain intact\\n`));

    // An edited record body: valid JSON, a wrong hash.
    const edited = await lineOf(f, 15_000);
    const alter = await verifyPiped(f, (l) => (isRecord(l, 15_000) ? l.replace(/"actor":"[^"]*"/, '"actor":"mallory"') : l));
    assert.equal(alter.code, 1);
    assert.equal(alter.out, `TAMPERED: record 15000 was edited (its hash does not match its content) [chain node-1, line ${edited}]\n`);
    const json = await verifyPiped(f, (l) => (isRecord(l, 15_000) ? l.replace(/"actor":"[^"]*"/, '"actor":"mallory"') : l), ['--json']);
    const report = JSON.parse(json.out) as { ok: boolean; findings: { seq: number; line: number }[]; chains: { firstBadLine: number }[] };
    assert.deepEqual([report.ok, report.findings[0].seq, report.findings[0].line, report.chains[0].firstBadLine], [false, 15_000, edited, edited]);

    // A line cut short (a torn write, a truncated copy): the file is damaged at that line.
    const cut = await lineOf(f, 20_000);
    const torn = await verifyPiped(f, (l) => (isRecord(l, 20_000) ? l.slice(0, Math.floor(l.length / 2)) : l));
    assert.equal(torn.code, 1);
    assert.equal(torn.out, `TAMPERED: line ${cut} is not JSON (the file is damaged or was edited)\n`);

    // A record removed: the gap shows where record 12345 should be, the line its successor now has.
    const removedAt = await lineOf(f, 12_345);
    const removed = await verifyPiped(f, (l) => (isRecord(l, 12_345) ? null : l));
    assert.equal(removed.code, 1);
    assert.equal(removed.out, `TAMPERED: record 12345 was removed (next present is 12346) [chain node-1, line ${removedAt}]\n`);
  } finally { await f.close(); }
});

test('the export of an empty log, of a one-record log and of a range past the head verify', async () => {
  const f = await fixture();
  try {
    const empty = await verifyPiped(f, undefined, ['--json']);
    assert.equal(empty.code, 0, empty.err + empty.out);
    assert.deepEqual((({ ok, records, chains }) => ({ ok, records, chains }))(JSON.parse(empty.out)), { ok: true, records: 0, chains: [] });
    // The empty export is still complete: a header and an end line, nothing else.
    const lines: string[] = [];
    for await (const l of await openExport(f.store.audit, { publicKey: f.key.pem, sign: f.sign })) lines.push(l);
    assert.deepEqual(lines.map((l) => (JSON.parse(l) as { type: string }).type), ['header', 'end']);

    await f.append('node-1', 1);
    const one = await verifyPiped(f);
    assert.equal(one.code, 0, one.err + one.out);
    assert.match(one.out, /^OK: 1 chain\(s\), 1 records, 0 stored checkpoints, chain intact\n  node-1: records 1-1, signed at export up to 1\n$/);
    const past = await verifyPiped(f, undefined, [], { fromSeq: 50 });
    assert.equal(past.code, 0, past.err + past.out);
    assert.match(past.out, /node-1: no records from 2, signed at export up to 1/);
    // A cut-off empty export (no end line) is still refused.
    const cut = await verifyPiped(f, (l) => (l.startsWith('{"type":"end"') ? null : l));
    assert.equal(cut.code, 1);
    assert.match(cut.out, /the export has no end line: it was cut off/);
  } finally { await f.close(); }
});

test('--after may not read stdin too', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 3);
    const file = path.join(work, 'x.ndjson');
    await pipeline(inChunks(await openExport(f.store.audit, { publicKey: f.key.pem, sign: f.sign })), fs.createWriteStream(file));
    const both = await new Promise<Run>((resolve, reject) => {
      const child = spawn(process.execPath, [BIN, '--json', 'audit', 'verify', file, '--public-key', keyFile(f), '--after', '-'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout.on('data', (c: Buffer) => { out += c; });
      child.on('error', reject);
      child.on('close', (code) => resolve({ code: code ?? -1, out, err: '' }));
    });
    assert.equal(both.code, 1);
    assert.equal((JSON.parse(both.out) as { error: { code: string } }).error.code, 'BAD_ARGUMENT');
  } finally { await f.close(); }
});
