// docs/errors.md must list every catalog code with the same mappings (fastify's habit).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERRORS } from '../../src/errors/catalog';
import { CKR } from '../../src/pkcs11/constants';
import { HsmError, toHsmError } from '../../src/errors/hsm-error';
import { REPO_ROOT } from '../helpers/harness';

const ckrName = (v: number) => 'CKR_' + Object.entries(CKR).find(([, x]) => x === v)![0];

test('docs/errors.md lists every error code with its HTTP, PKCS#11 and KMS mapping', () => {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'errors.md'), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of doc.split('\n')) {
    const m = /^\| `([A-Z_]+)` \| (\d+) \| (CKR_[A-Z_]+) \| (\w+) \((\d+)\) \|/.exec(line);
    if (m) rows.set(m[1], m.slice(2, 6));
  }
  assert.deepEqual([...rows.keys()].sort(), Object.keys(ERRORS).sort());
  for (const [code, spec] of Object.entries(ERRORS)) {
    assert.deepEqual(rows.get(code), [String(spec.status), ckrName(spec.ckr), spec.kmsType, String(spec.kmsStatus)], code);
  }
});

test('unknown errors become INTERNAL without their detail', () => {
  const e = toHsmError(new Error('secret detail 0123'));
  assert.equal(e.code, 'INTERNAL');
  assert.doesNotMatch(e.message, /secret detail/);
  assert.equal(toHsmError(new HsmError('KEY_NOT_FOUND')).ckr, CKR.OBJECT_HANDLE_INVALID);
});
