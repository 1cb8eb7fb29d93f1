#!/usr/bin/env node
// `npm test` after tsc: runs node's test runner over the compiled test files only
// (dist/**/*.test.js), so helper modules are not counted as tests. Node 20's --test does not
// expand globs, hence the list. INKAN_TEST_CONCURRENCY sets how many files run at once
// (default 2, one per core); further arguments go to node --test (e.g. --test-name-pattern).
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

const n = concurrency();
if (!fs.existsSync(DIST)) {
  console.error('run-tests: no dist/ (run tsc first: npm test does)');
  process.exit(2);
}
const files = [];
for (const f of testFiles(DIST)) {
  const rel = path.relative(DIST, f);
  // A test whose .ts was deleted or renamed still has its old .js in dist/: skip it.
  if (fs.existsSync(path.join(ROOT, rel.replace(/\.js$/, '.ts')))) files.push(path.relative(ROOT, f));
  else console.error(`run-tests: skipping ${rel}, its source ${rel.replace(/\.js$/, '.ts')} is gone`);
}
if (files.length === 0) {
  console.error('run-tests: no dist/**/*.test.js found');
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--test', `--test-concurrency=${n}`, ...process.argv.slice(2), ...files], {
  cwd: ROOT, stdio: 'inherit',
});
if (r.error) throw r.error;
if (r.signal) process.kill(process.pid, r.signal);
process.exit(r.status ?? 1);
