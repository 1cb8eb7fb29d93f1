// The real `inkan` command (bin/inkan.js) on export files: `audit verify` offline (OK, TAMPERED
// with exit 1, --json, --after, v1 files, bad input) and the export options refused before any
// server is contacted. The server side is in audit-cli-e2e.test.ts.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { inChunks, openExport } from '../../src/core/audit/export';
import { fixture, Fixture, tempDir } from './fixtures';

/** dist/test/audit → the repository root. */
const BIN = path.resolve(__dirname, '..', '..', '..', 'bin', 'inkan.js');
const work = tempDir('inkan-audit-cli-');
after(() => fs.rmSync(work, { recursive: true, force: true }));

interface Run { code: number; out: string; err: string }
/** Runs the CLI with no INKAN_* of ours and a server that is never reached. */
function inkan(args: string[]): Promise<Run> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('INKAN_')) env[k] = v;
  env.INKAN_SERVER = 'http://127.0.0.1:9';
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => { out += c; });
    child.stderr.on('data', (c: Buffer) => { err += c; });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out, err }));
  });
}
const jsonError = (r: Run) => (JSON.parse(r.out) as { error: { code: string; message: string } }).error;

let n = 0;
async function exportFile(f: Fixture, range = {}): Promise<string> {
  const file = path.join(work, `export-${++n}.ndjson`);
  await pipeline(inChunks(await openExport(f.store.audit, { ...range, publicKey: f.key.pem, sign: f.sign })), fs.createWriteStream(file, { mode: 0o600 }));
  return file;
}
function keyFile(f: Fixture): string {
  const file = path.join(work, `key-${++n}.pem`);
  fs.writeFileSync(file, f.key.pem);
  return file;
}

test('audit verify: OK, then TAMPERED naming the record with exit 1; --json gives the report', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 50, { checkpointEvery: 10 });
    const file = await exportFile(f);
    const pem = keyFile(f);
    const ok = await inkan(['audit', 'verify', file, '--public-key', pem]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^OK: 1 chain\(s\), 50 records, 5 stored checkpoints, chain intact\n  node-1: records 1-50, signed at export up to 50\n$/);
    const j = await inkan(['--json', 'audit', 'verify', file, '--public-key', pem]);
    assert.deepEqual([JSON.parse(j.out).ok, JSON.parse(j.out).records], [true, 50]);

    const text = fs.readFileSync(file, 'utf8');
    const at = text.indexOf('"op":"key.sign"');
    fs.writeFileSync(file, text.slice(0, at + 10) + 'X' + text.slice(at + 11));
    const bad = await inkan(['audit', 'verify', file, '--public-key', pem]);
    assert.equal(bad.code, 1);
    const line = text.slice(0, at).split('\n').length;
    assert.match(bad.out, new RegExp(`^TAMPERED: record \\d+ was edited \\(its hash does not match its content\\) \\[chain node-1, line ${line}\\]\\n$`));
    const bj = await inkan(['--json', 'audit', 'verify', file, '--public-key', pem]);
    assert.equal(bj.code, 1);
    assert.equal(JSON.parse(bj.out).findings[0].chain, 'node-1');
  } finally { await f.close(); }
});

test('audit verify --after: a genuine extension passes, a truncated store fails', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 30, { checkpointEvery: 10 });
    const earlier = await exportFile(f);
    const pem = keyFile(f);
    await f.append('node-1', 5);
    const grown = await inkan(['audit', 'verify', await exportFile(f), '--public-key', pem, '--after', earlier]);
    assert.equal(grown.code, 0, grown.out + grown.err);
    assert.match(grown.out, /and only grown since the earlier checkpoints\n  node-1: records 1-35, signed at export up to 35, consistent with the earlier checkpoint at 30/);
    const sidecar = path.join(work, 'sidecar.json');
    const fin = fs.readFileSync(earlier, 'utf8').split('\n').map((l) => l && JSON.parse(l)).find((l) => l && l.type === 'final');
    const { type: _t, ...cp } = fin;
    fs.writeFileSync(sidecar, JSON.stringify({ chains: { 'node-1': cp } }));
    f.sql("DELETE FROM audit WHERE chain = 'node-1' AND seq > 25");
    f.sql("DELETE FROM audit_checkpoints WHERE chain = 'node-1' AND seq > 25");
    const cut = await exportFile(f);
    assert.equal((await inkan(['audit', 'verify', cut, '--public-key', pem])).code, 0, 'alone, the truncated log looks whole');
    for (const anchor of [earlier, sidecar]) {
      const r = await inkan(['audit', 'verify', cut, '--public-key', pem, '--after', anchor]);
      assert.equal(r.code, 1);
      // Found at the final checkpoint, the export's second-to-last line.
      const finalLine = fs.readFileSync(cut, 'utf8').trimEnd().split('\n').length - 1;
      assert.equal(r.out, `TAMPERED: truncated: the log now ends at seq 25, before the earlier checkpoint at 30 [chain node-1, line ${finalLine}]\n`);
    }
  } finally { await f.close(); }
});

test('audit verify: missing files, non-exports and a bad key are clear errors (exit 1)', async () => {
  const f = await fixture();
  try {
    await f.append('node-1', 3);
    const file = await exportFile(f);
    const pem = keyFile(f);
    const garbage = path.join(work, 'garbage.txt');
    fs.writeFileSync(garbage, 'hello\n');
    const cases: [string[], string][] = [
      [['audit', 'verify', path.join(work, 'nope'), '--public-key', pem], 'NO_FILE'],
      [['audit', 'verify', file, '--public-key', path.join(work, 'nope.pem')], 'NO_FILE'],
      [['audit', 'verify', garbage, '--public-key', pem], 'BAD_EXPORT'],
      [['audit', 'verify', file, '--public-key', garbage], 'BAD_EXPORT'],
      [['audit', 'verify', file, '--public-key', pem, '--after', garbage], 'BAD_EXPORT'],
    ];
    for (const [args, code] of cases) {
      const r = await inkan(['--json', ...args]);
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(jsonError(r).code, code, `${args.join(' ')}: ${r.out}`);
    }
    const human = await inkan(cases[2][0]);
    assert.match(human.err, /^inkan: the file is not an audit export \[BAD_EXPORT\]\n$/);
    assert.equal(human.out, '');
  } finally { await f.close(); }
});

test('audit export refuses bad ranges and an existing --out before contacting the server', async () => {
  const existing = path.join(work, 'existing.ndjson');
  fs.writeFileSync(existing, 'keep me');
  const cases: [string[], string][] = [
    [['audit', 'export', '--from', '0'], 'BAD_ARGUMENT'],
    [['audit', 'export', '--from', 'ten'], 'BAD_ARGUMENT'],
    [['audit', 'export', '--since', 'last tuesday'], 'BAD_ARGUMENT'],
    [['audit', 'export', '--from', '3', '--since', '2026-01-01T00:00:00Z'], 'BAD_ARGUMENT'],
    [['audit', 'export', '--out', existing], 'EXISTS'],
  ];
  for (const [args, code] of cases) {
    const r = await inkan(['--json', ...args]);
    assert.equal(r.code, 1, args.join(' '));
    assert.equal(jsonError(r).code, code, `${args.join(' ')}: ${r.out}`);
  }
  assert.equal(fs.readFileSync(existing, 'utf8'), 'keep me');
  // With --force the command goes on to the (absent) server, and the file is still untouched.
  const forced = await inkan(['--json', 'audit', 'export', '--out', existing, '--force']);
  assert.notEqual(jsonError(forced).code, 'EXISTS');
  assert.equal(fs.readFileSync(existing, 'utf8'), 'keep me');
  assert.deepEqual(fs.readdirSync(work).filter((x) => x.includes('.partial')), [], 'no partial file is left behind');
});
