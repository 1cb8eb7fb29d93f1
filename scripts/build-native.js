#!/usr/bin/env node
// `npm install`'s install step: builds the optional raw-digest ECDSA addon (native/, node-gyp,
// against node's own headers and OpenSSL). It never fails the install: without a compiler or
// headers Inkan signs raw digests with @noble/curves instead, slower (docs/performance.md), and
// the server says which path it uses at start. INKAN_NATIVE=0 skips the build.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const NATIVE = path.resolve(__dirname, '..', 'native');

function nodeGyp() {
  if (process.env.npm_config_node_gyp && fs.existsSync(process.env.npm_config_node_gyp)) return process.env.npm_config_node_gyp;
  const bundled = path.resolve(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  if (fs.existsSync(bundled)) return bundled;
  try { return require.resolve('node-gyp/bin/node-gyp.js'); } catch { return undefined; }
}

/** The headers installed beside this node (distribution packages, the official tarballs): no download. */
function localNodeDir() {
  const prefix = path.resolve(path.dirname(process.execPath), '..');
  const inc = path.join(prefix, 'include', 'node');
  return fs.existsSync(path.join(inc, 'node_api.h')) && fs.existsSync(path.join(inc, 'openssl', 'evp.h')) ? prefix : undefined;
}

function main() {
  if (process.env.INKAN_NATIVE === '0') return 'skipped (INKAN_NATIVE=0)';
  const gyp = nodeGyp();
  if (!gyp) return 'node-gyp not found';
  const nodedir = localNodeDir();
  const args = [gyp, 'rebuild', '--silent', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
  const r = spawnSync(process.execPath, args, { cwd: NATIVE, stdio: ['ignore', 'inherit', 'inherit'], env: process.env });
  if (r.status !== 0) return `node-gyp exited with ${r.status ?? r.signal}`;
  return undefined;
}

const failed = main();
if (failed) console.error(`inkan: the native ECDSA addon was not built (${failed}); raw-digest ECDSA uses @noble/curves (slower, see docs/performance.md).`);
