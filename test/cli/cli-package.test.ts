// The package as people install it: a scoped name we control, `inkan` on PATH from any directory
// after `npm install -g .` (checked with a private --prefix), `--version`, runtime imports all in
// "dependencies" (so `npm install --omit=dev` runs `inkan serve`), and usage errors that print one
// line and where the usage is, never the whole help.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT, tempDir } from '../helpers/harness';
import { inkan } from './cli-helpers';

const pkg = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string; version: string; bin: Record<string, string>; private?: boolean; files: string[];
  dependencies: Record<string, string>; devDependencies: Record<string, string>;
};

test('the package is @inkan-hsm/inkan, publishable, with the inkan command', () => {
  assert.equal(pkg.name, '@inkan-hsm/inkan');
  assert.notEqual(pkg.private, true);
  assert.deepEqual(pkg.bin, { inkan: 'bin/inkan.js' });
  const bin = fs.readFileSync(path.join(REPO_ROOT, pkg.bin.inkan), 'utf8');
  assert.match(bin, /^#!\/usr\/bin\/env node\n/);
});

test('inkan --version prints the package version', async () => {
  const r = await inkan(['--version'], {});
  assert.equal(r.code, 0);
  assert.equal(r.out.trim(), pkg.version);
});

/** Bare module names required by the compiled runtime (dist/src), without node builtins. */
function runtimeImports(dir: string, found = new Set<string>()): Set<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) runtimeImports(full, found);
    else if (e.name.endsWith('.js')) {
      for (const m of fs.readFileSync(full, 'utf8').matchAll(/require\(["']([^"'.][^"']*)["']\)|import\(["']([^"'.][^"']*)["']\)/g)) {
        const spec = m[1] ?? m[2];
        if (spec.startsWith('node:') || builtinModules.includes(spec)) continue;
        found.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
      }
    }
  }
  return found;
}

test('every package the runtime imports is a runtime dependency, not a dev dependency', () => {
  const used = runtimeImports(path.join(REPO_ROOT, 'dist', 'src'));
  assert.ok(used.has('better-sqlite3') && used.has('commander'), [...used].join(' '));
  for (const name of used) assert.ok(pkg.dependencies[name], `${name} is imported by dist/src but is not in "dependencies"`);
  // And what the package ships holds the runtime, not the tests.
  const pack = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: REPO_ROOT, encoding: 'utf8' });
  assert.equal(pack.status, 0, pack.stderr);
  const files = (JSON.parse(pack.stdout) as { files: { path: string }[] }[])[0].files.map((f) => f.path);
  for (const f of ['bin/inkan.js', 'dist/src/cli/main.js', 'dist/src/server.js', 'package.json', 'README.md']) assert.ok(files.includes(f), `the package holds ${f}`);
  assert.ok(!files.some((f) => f.startsWith('dist/test/') || f.startsWith('test/')), 'no tests in the package');
});

test('npm install -g . puts inkan on PATH, working from any directory', { timeout: 120_000 }, () => {
  const prefix = tempDir('inkan-global-');
  try {
    const r = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--ignore-scripts', '--no-audit', '--no-fund', '--offline', REPO_ROOT], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    const elsewhere = tempDir('inkan-cwd-');
    const env = { ...process.env, PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}`, INKAN_CONFIG_DIR: elsewhere };
    const v = spawnSync('inkan', ['--version'], { cwd: elsewhere, env, encoding: 'utf8' });
    assert.equal(v.status, 0, v.stderr);
    assert.equal(v.stdout.trim(), pkg.version);
    const which = spawnSync('sh', ['-c', 'command -v inkan'], { env, encoding: 'utf8' });
    assert.equal(which.stdout.trim(), path.join(prefix, 'bin', 'inkan'));
    fs.rmSync(elsewhere, { recursive: true, force: true });
  } finally { fs.rmSync(prefix, { recursive: true, force: true }); }
});

test('a usage error prints its one line and the command\'s --help hint, not the whole help', async () => {
  const missing = await inkan(['sign'], {});
  assert.equal(missing.code, 1);
  assert.equal(missing.out, '');
  assert.equal(missing.err, "inkan: error: missing required argument 'key'\nRun `inkan sign --help` for usage and examples.\n");
  const typo = await inkan(['key', 'generat'], {});
  assert.equal(typo.code, 1);
  assert.match(typo.err, /^inkan: error: unknown command 'generat'\n\(Did you mean generate\?\)\nRun `inkan key --help` for usage and examples\.\n$/);
  const option = await inkan(['key', 'list', '--bogus'], {});
  assert.match(option.err, /^inkan: error: unknown option '--bogus'\nRun `inkan key list --help`/);
  for (const r of [missing, typo, option]) assert.ok(!/Usage:|Options:/.test(r.err), r.err);
});

test('inkan help COMMAND shows that command with examples', async () => {
  const r = await inkan(['help', 'sign'], {});
  assert.equal(r.code, 0);
  assert.match(r.out, /^Usage: inkan sign \[options\] <key>/);
  assert.match(r.out, /Examples:\n {2}inkan sign /);
  assert.match((await inkan(['key', 'generate', '--help'], {})).out, /Examples:\n {2}inkan key generate --type ec/);
});

test('errors from an unreachable server name the next step', async () => {
  const r = await inkan(['status'], { INKAN_SERVER: 'http://127.0.0.1:9' });
  assert.equal(r.code, 1);
  assert.match(r.err, /\[UNREACHABLE\]\n {2}next: start the server \(`inkan serve`\)/);
});
