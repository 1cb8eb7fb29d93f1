// The call table against p11kit-rpc.md §6 and the structure layouts against §5.7.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { CALL, CALLS, callById, callByName, parseSignature } from '../../../src/protocol/p11rpc/calls';
import { STRUCT_LAYOUTS } from '../../../src/protocol/p11rpc/structs';

const SPEC = '/work/shared/research/p11kit-rpc.md';

test('66 dense ids, 0..65, unique names', () => {
  assert.equal(CALLS.length, 66);
  CALLS.forEach((c, i) => assert.equal(c.id, i));
  assert.equal(new Set(CALLS.map((c) => c.name)).size, 66);
  assert.equal(CALL.C_Initialize, 1);
  assert.equal(CALL.C_GetAttributeValue, 24);
  assert.equal(CALL.C_WaitForSlotEvent, 65);
  assert.equal(callByName('C_SignInit').request, 'uMu');
  assert.equal(callById(66), undefined);
  assert.equal(callById(-1), undefined);
  assert.equal(callById(1.5), undefined);
  assert.equal(CALLS[0].request, null);
  assert.equal(CALLS[0].response, 'u');
});

test('the table matches the §6 table of the spec, row by row', (t) => {
  if (!existsSync(SPEC)) {
    t.skip('spec not present on this machine');
    return;
  }
  const text = readFileSync(SPEC, 'utf8');
  const section = text.slice(text.indexOf('## 6. The call table'), text.indexOf('### 6.1'));
  const rows = [...section.matchAll(/^\| (\d+) \| (\w+) \| (`[^`]*`|\(empty\)|—) \| (`[^`]*`|\(empty\)) \|/gm)];
  assert.equal(rows.length, 66);
  const sig = (cell: string): string | null => (cell === '—' ? null : cell === '(empty)' ? '' : cell.slice(1, -1));
  for (const [, id, name, req, resp] of rows) {
    const c = CALLS[Number(id)];
    assert.equal(c.name, name);
    assert.equal(c.request, sig(req), `${name} request`);
    assert.equal(c.response, sig(resp), `${name} response`);
  }
});

test('signatures split into §5.2 tokens', () => {
  assert.deepEqual(parseSignature('uMuayaA'), ['u', 'M', 'u', 'ay', 'aA']);
  assert.deepEqual(parseSignature('uufA'), ['u', 'u', 'fA']);
  assert.deepEqual(parseSignature(''), []);
  assert.throws(() => parseSignature('q'));
  assert.throws(() => parseSignature('ax'));
  for (const c of CALLS) {
    assert.equal(c.requestTokens.join(''), c.request ?? '');
    assert.equal(c.responseTokens.join(''), c.response);
  }
});

test('structure layouts spell exactly their calls\' response signatures (§5.7)', () => {
  const withStruct = CALLS.filter((c) => c.responseStruct !== undefined);
  assert.deepEqual(withStruct.map((c) => c.name),
    ['C_GetInfo', 'C_GetSlotInfo', 'C_GetTokenInfo', 'C_GetMechanismInfo', 'C_GetSessionInfo']);
  for (const c of withStruct) {
    const layout = STRUCT_LAYOUTS[c.responseStruct!];
    assert.equal(layout.map((f) => f.token).join(''), c.response);
    for (const f of layout) assert.equal(f.token === 's', f.size !== undefined, `${c.name}.${f.name}`);
  }
  assert.deepEqual(STRUCT_LAYOUTS.CK_SLOT_INFO.filter((f) => f.size).map((f) => f.size), [64, 32]);
  assert.deepEqual(STRUCT_LAYOUTS.CK_TOKEN_INFO.filter((f) => f.size).map((f) => f.size), [32, 32, 16, 16, 16]);
});

test('the table is frozen', () => {
  assert.throws(() => { (CALLS as unknown as unknown[]).push(1); });
  assert.throws(() => { (CALLS[1] as { name: string }).name = 'x'; });
});
