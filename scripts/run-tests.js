#!/usr/bin/env node
// `npm test` after tsc: runs node's test runner over the compiled test files only
// (dist/**/*.test.js), so helper modules are not counted as tests. Node 20's --test does not
// expand globs, hence the list. INKAN_TEST_CONCURRENCY sets how many files run at once
// (default 2, one per core). Arguments that are paths (test/api, dist/test/cli/cli.test.js)
// narrow the run to the test files under them; options go to node --test, written as one
// argument each (--test-name-pattern=KMS).
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

/** Every *.test.js under `dir`, sorted. */
function testFiles(dir) {
  const out = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...testFiles(full));
    else if (e.name.endsWith('.test.js')) out.push(full);
  }
  return out.sort();
}

function concurrency() {
  const raw = process.env.INKAN_TEST_CONCURRENCY ?? '2';
  if (!/^[1-9][0-9]*$/.test(raw)) {
    console.error(`run-tests: INKAN_TEST_CONCURRENCY must be a positive integer, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return raw;
}

/** A path argument as a prefix of dist/ paths: test/x.test.ts and dist/test/x.test.js agree. */
function selector(arg) {
  let rel = path.relative(ROOT, path.resolve(arg)).replace(/\.ts$/, '.js');
  if (rel.split(path.sep)[0] !== 'dist') rel = path.join('dist', rel);
  return rel;
}

const n = concurrency();
const options = process.argv.slice(2).filter((a) => a.startsWith('-'));
const selectors = process.argv.slice(2).filter((a) => !a.startsWith('-')).map(selector);
const selected = (rel) => selectors.length === 0
  || selectors.some((s) => rel === s || rel.startsWith(s.endsWith(path.sep) ? s : s + path.sep));
if (!fs.existsSync(DIST)) {
  console.error('run-tests: no dist/ (run tsc first: npm test does)');
  process.exit(2);
}
const files = [];
for (const f of testFiles(DIST)) {
  const rel = path.relative(DIST, f);
  if (!selected(path.relative(ROOT, f))) continue;
  // A test whose .ts was deleted or renamed still has its old .js in dist/: skip it.
  if (fs.existsSync(path.join(ROOT, rel.replace(/\.js$/, '.ts')))) files.push(path.relative(ROOT, f));
  else console.error(`run-tests: skipping ${rel}, its source ${rel.replace(/\.js$/, '.ts')} is gone`);
}
if (files.length === 0) {
  console.error(`run-tests: no dist/**/*.test.js found${selectors.length ? ` under ${selectors.join(', ')}` : ''}`);
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${n}`, ...options, ...files], {
  cwd: ROOT, stdio: 'inherit',
});
if (r.error) throw r.error;
if (r.signal) process.kill(process.pid, r.signal);
process.exit(r.status ?? 1);
