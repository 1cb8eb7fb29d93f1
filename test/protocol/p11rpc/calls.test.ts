// The call table against docs/p11kit-rpc.md §6 and the structure layouts against §5.7.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALL, CALLS, callById, callByName, parseSignature } from '../../../src/protocol/p11rpc/calls';
import { STRUCT_LAYOUTS } from '../../../src/protocol/p11rpc/structs';
import { P11KIT_0_24_1_CALLS } from '../../fixtures/p11kit-rpc/call-table';

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

test('the table matches p11-kit 0.24.1\'s rpc-message.h (§6), row by row', () => {
  assert.equal(P11KIT_0_24_1_CALLS.length, 66);
  for (const [id, name, request, response] of P11KIT_0_24_1_CALLS) {
    const c = CALLS[id];
    assert.equal(c.name, name);
    assert.equal(c.request, request, `${name} request`);
    assert.equal(c.response, response, `${name} response`);
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
