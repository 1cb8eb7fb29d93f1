#!/usr/bin/env node
// `npm install`'s prepare step: compiles the TypeScript with tsc when it is installed (a
// developer's checkout, `npm install -g .`, `npm link`). With `npm install --omit=dev` tsc is
// absent: a package or checkout that already holds dist/ is used as it is; one without says
// how to build it, instead of failing deep inside npm.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
let tsc;
try { tsc = require.resolve('typescript/bin/tsc', { paths: [ROOT] }); } catch { tsc = undefined; }
if (tsc) {
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.json')], { stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
if (fs.existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) process.exit(0);
console.error('inkan: dist/ is missing and TypeScript is not installed (--omit=dev): run `npm install` (with dev dependencies) and `npm run build` once, then `npm prune --omit=dev`.');
process.exit(1);
