// docs/p11kit-rpc.md's call table (§6) and attribute-class table (§5.5) against the p11-kit
// 0.24.1 data in test/fixtures/p11kit-rpc/, so the document cannot drift from the code's source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { P11KIT_0_24_1_CALLS } from '../fixtures/p11kit-rpc/call-table';
import { P11KIT_0_24_1_ATTRIBUTE_CLASSES } from '../fixtures/p11kit-rpc/attribute-classes';

const DOC = fs.readFileSync(path.resolve(__dirname, '..', '..', '..', 'docs', 'p11kit-rpc.md'), 'utf8');

function between(start: string, end: string): string {
  const i = DOC.indexOf(start);
  const j = DOC.indexOf(end, i);
  assert.ok(i >= 0 && j > i, `docs/p11kit-rpc.md has "${start}" before "${end}"`);
  return DOC.slice(i, j);
}

test('§6 lists the 66 calls of rpc-message.h with their signatures, row by row', () => {
  const rows = [...between('## 6. The call table', '### 6.1')
    .matchAll(/^\| (\d+) \| (\w+) \| (`[^`]*`|\(empty\)|—) \| (`[^`]*`|\(empty\)) \|/gm)];
  const sig = (cell: string): string | null => (cell === '—' ? null : cell === '(empty)' ? '' : cell.slice(1, -1));
  assert.deepEqual(rows.map(([, id, name, req, resp]) => [Number(id), name, sig(req), sig(resp)]),
    P11KIT_0_24_1_CALLS.map((row) => [...row]));
});

test('§5.5 lists the attribute value classes of map_attribute_to_value_type, row by row', () => {
  const section = between('### 5.5', '### 5.6');
  const row = (label: string): number[] => {
    const line = section.split('\n').find((l) => l.startsWith(`| ${label} |`));
    assert.ok(line, label);
    return [...line.split('|')[3].matchAll(/0x[0-9a-f]+/g)].map((m) => Number(m[0]));
  };
  const spec = P11KIT_0_24_1_ATTRIBUTE_CLASSES;
  assert.deepEqual(row('BYTE'), spec.byte);
  assert.deepEqual(row('ULONG'), spec.ulong);
  assert.deepEqual(row('DATE'), spec.date);
  assert.deepEqual(row('MECHANISM ARRAY'), spec.mechanisms);
  assert.deepEqual(row('ATTRIBUTE ARRAY'), spec.template);
  assert.deepEqual(row('BYTE ARRAY (explicit)'), spec.bytes);
});
