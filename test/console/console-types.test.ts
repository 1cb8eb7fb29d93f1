// The console's browser modules are plain JavaScript served as they are (no build step), with
// JSDoc types: this checks them with TypeScript in strict mode against the DOM library, so a
// typo in a field or a wrong argument fails `npm test` instead of a page in the browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { REPO_ROOT } from '../helpers/harness';

test('the console\'s browser modules type-check (tsc --checkJs, strict, DOM)', () => {
  const tsc = require.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(REPO_ROOT, 'src', 'console', 'tsconfig.json')], { encoding: 'utf8' });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
});

test('the console never parses text as HTML (no innerHTML and kin): text is put in as text nodes', () => {
  const dir = path.join(REPO_ROOT, 'src', 'console');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.js'));
  assert.ok(files.length >= 5);
  for (const f of files) {
    const src = fs.readFileSync(path.join(dir, f), 'utf8').replace(/^\s*\/\/.*$/gm, '');
    assert.doesNotMatch(src, /\b(innerHTML|outerHTML|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser|eval|Function)\b/, f);
  }
});
