// Every shell example of README.md, run as written, in order, in one bash session in a fresh
// temporary directory (as a newcomer in one terminal), against `inkan serve --dev` started from
// the README's own server block. A block is skipped only when the line above it says
// `<!-- readme-test: skip (why) -->`, so a new example is tested by default. The only changes:
// the README's address http://127.0.0.1:7280 becomes this test's server (another port, so a
// developer's own dev server is never touched); `inkan` on PATH is this checkout (what
// `npm install -g .` gives, tested in cli-package.test.ts); HOME is the temp dir; NODE_PATH is
// this checkout's node_modules, for the Key Vault example's SDKs. Blocks needing a program
// that is absent here (pkcs11-tool, curl with --aws-sigv4) are skipped with that reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { INKAN_BIN, REPO_ROOT, tempDir } from '../helpers/harness';
import { serve } from './cli-helpers';

interface Block { line: number; marker?: string; code: string }

/** The ```sh blocks of a Markdown text, with the readme-test marker right above each, if any. */
export function shellBlocks(md: string): Block[] {
  const lines = md.split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```sh\s*$/.exec(lines[i]);
    if (!open) continue;
    const indent = open[1].length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^\s*```\s*$/.test(lines[j]); j++) body.push(lines[j].slice(Math.min(indent, lines[j].search(/\S|$/))));
    let k = i - 1;
    while (k >= 0 && lines[k].trim() === '') k--;
    const marker = /^\s*<!-- readme-test: (.+?) -->\s*$/.exec(lines[k] ?? '')?.[1];
    out.push({ line: i + 1, marker, code: body.join('\n') });
    i = j;
  }
  return out;
}

const README = fs.readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');
const README_URL = 'http://127.0.0.1:7280';
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const CURL_SIGV4 = has('curl') && /aws-sigv4/.test(spawnSync('curl', ['--help', 'all'], { encoding: 'utf8' }).stdout ?? '');

function missingProgram(code: string): string | undefined {
  if (/pkcs11-tool/.test(code) && (!has('pkcs11-tool') || !fs.existsSync('/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so'))) return 'pkcs11-tool or p11-kit-client.so is not installed';
  if (/--aws-sigv4/.test(code) && !CURL_SIGV4) return 'curl with --aws-sigv4 is not installed';
  return undefined;
}

test('the README marks its blocks and has one server block that starts a dev module', () => {
  const blocks = shellBlocks(README);
  assert.ok(blocks.length >= 6, `${blocks.length} shell blocks`);
  const servers = blocks.filter((b) => b.marker === 'server');
  assert.equal(servers.length, 1);
  assert.match(servers[0].code, /^inkan serve --dev\b/);
  for (const b of blocks) if (b.marker && b.marker !== 'server') assert.match(b.marker, /^skip \(.+\)$/, `line ${b.line}: a skip says why`);
  assert.ok(!/npx inkan/.test(blocks.map((b) => b.code).join('\n')), 'the examples use the installed inkan, not npx');
});

test('every README example runs as written against a dev server', { timeout: 300_000 }, async (t) => {
  const dir = tempDir('inkan-readme-');
  const bin = path.join(dir, '.bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(bin, 'inkan'), `#!/bin/sh\nexec "${process.execPath}" "${INKAN_BIN}" "$@"\n`, { mode: 0o755 });
  const env: Record<string, string> = {
    PATH: `${bin}:${path.dirname(process.execPath)}:${process.env.PATH}`, HOME: dir, NODE_PATH: path.join(REPO_ROOT, 'node_modules'),
    LANG: 'C.UTF-8',
  };
  const blocks = shellBlocks(README);
  const server = blocks.find((b) => b.marker === 'server')!;
  const argv = server.code.split('#')[0].trim().split(/\s+/);
  assert.deepEqual(argv.slice(0, 2), ['inkan', 'serve']);
  // serve() runs bin/inkan.js itself; the working directory is the temp dir, as in the README.
  const cwd = process.cwd();
  process.chdir(dir);
  let srv;
  try { srv = await serve([...argv.slice(2), '--http', '127.0.0.1:0'], env); } finally { process.chdir(cwd); }
  try {
    const run: { line: number; code: string }[] = [];
    for (const b of blocks) {
      if (b === server || b.marker?.startsWith('skip')) continue;
      const why = missingProgram(b.code);
      if (why) { t.diagnostic(`README line ${b.line}: skipped, ${why}`); continue; }
      run.push(b);
    }
    const script = ['set -eo pipefail', ...run.map((b) => `echo "=== README line ${b.line}" >&2\n${b.code.replaceAll(README_URL, srv.url)}`)].join('\n');
    const r = await new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
      const child = spawn('bash', ['-c', script], { cwd: dir, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = ''; let err = '';
      child.stdout.on('data', (c: Buffer) => { out += c; });
      child.stderr.on('data', (c: Buffer) => { err += c; });
      child.on('close', (code) => resolve({ code, out, err }));
    });
    const last = [...r.err.matchAll(/=== README line (\d+)/g)].pop()?.[1];
    assert.equal(r.code, 0, `README example at line ${last} failed:\n${r.err.slice(-3000)}\n${r.out.slice(-2000)}`);
    // What the examples say they print.
    assert.match(r.out + r.err, /Verified OK/, 'openssl verified the signature');
    assert.match(r.out, /OK: \d+ chain\(s\), \d+ records/, 'audit verify said OK');
    assert.match(r.out, /^ID +LABEL +CLASS/m, 'key list printed its table');
    if (run.some((b) => /akv-demo/.test(b.code))) assert.match(r.out, /\/keys\/demo-ec\/\S+ true/, 'the Key Vault SDK signed and verified');
    if (run.some((b) => /--aws-sigv4/.test(b.code))) assert.match(r.out, /"ciphertext":/, 'the XKS proxy encrypted');
    if (run.some((b) => /pkcs11-tool/.test(b.code))) assert.match(r.out + r.err, /Key pair generated/, 'pkcs11-tool made a key pair');
    assert.ok(!fs.existsSync(path.join(REPO_ROOT, 'msg.sig')), 'nothing is written into the repository');
  } finally {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
