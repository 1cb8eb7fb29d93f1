// Object handles (src/api/p11/state.ts, docs/pkcs11.md "Failover"): a token object has the same
// handle on every connection and so on every node of a cluster, whatever order they met it in;
// session objects get small counters that no token handle uses; a hash collision takes the next
// free value. The expected handle is computed here with node:crypto, not with the code under test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { HandleTable, stableHandle } from '../../../src/api/p11/state';

const expected = (id: string) => (0x80000000 | (crypto.createHash('sha256').update(id).digest().readUInt32BE(0) & 0x7fffffff)) >>> 0;

test('a token object gets the same handle on two connections that meet objects in different orders', () => {
  const ids = ['3f1f9d21-13f0-41ad-9523-55986f42c2c2', 'cfbdc222-8aa4-42b3-9b9e-9c3b6c6f54cd', 'b1a2c3d4-0000-4000-8000-000000000001'];
  const one = new HandleTable();
  const two = new HandleTable();
  const h1 = ids.map((id) => one.handleOf({ id, token: true }));
  const h2 = [...ids].reverse().map((id) => two.handleOf({ id, token: true })).reverse();
  assert.deepEqual(h1, h2);
  assert.deepEqual(h1, ids.map(expected));
  for (const h of h1) assert.ok(h >= 0x80000000 && h <= 0xffffffff);
  assert.equal(one.idOf(h1[0]), ids[0]);
  assert.equal(one.handleOf({ id: ids[0], token: true }), h1[0], 'asked again, the same handle');
});

test('session objects count up from 1, below every token handle', () => {
  const t = new HandleTable();
  assert.equal(t.handleOf({ id: 's1', token: false }), 1);
  assert.equal(t.handleOf({ id: 's2', token: false }), 2);
  const tok = t.handleOf({ id: 'token-object', token: true });
  assert.ok(tok >= 0x80000000);
  assert.equal(t.handleOf({ id: 's3', token: false }), 3);
});

test('two ids whose hashes meet: the second one met takes the next value', () => {
  // Birthday search over 31 bits: about 2^16 ids.
  const seen = new Map<number, string>();
  let pair: [string, string] | undefined;
  for (let i = 0; !pair; i++) {
    const id = `object-${i}`;
    const h = stableHandle(id);
    const other = seen.get(h);
    if (other) pair = [other, id]; else seen.set(h, id);
  }
  const [x, y] = pair;
  const base = expected(x);
  assert.equal(expected(y), base);
  const t = new HandleTable();
  assert.equal(t.handleOf({ id: x, token: true }), base);
  assert.equal(t.handleOf({ id: y, token: true }), base === 0xffffffff ? 0x80000000 : base + 1);
  assert.equal(t.idOf(base), x);
});
