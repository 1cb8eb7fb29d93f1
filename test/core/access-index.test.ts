// The access checks read the matrix through an index by action (src/core/policy/access.ts): for
// every action, actor, relation and HSM level they answer what a plain scan of every row answers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS_MATRIX, allowed, mayEver, type Action, type Actor, type Relation } from '../../src/core/policy/access';

const ACTORS: Actor[] = ['officer', 'user', 'auditor', 'system', 'anonymous'];
const RELATIONS: Relation[] = ['owner', 'shared', 'self', 'unowned', 'public', 'partition', 'module'];

test('allowed and mayEver answer as a scan of the whole matrix does', () => {
  const actions = [...new Set(ACCESS_MATRIX.map((r) => r.action))];
  assert.ok(actions.length > 20);
  let yes = 0;
  for (const action of [...actions, 'no.such' as Action]) {
    for (const who of ACTORS) {
      const ever = ACCESS_MATRIX.some((r) => r.action === action && r.who.includes(who));
      assert.equal(mayEver(action, who), ever, `${action} ${who}`);
      for (const relation of RELATIONS) {
        for (const hsm of [false, true]) {
          const want = ACCESS_MATRIX.some((r) => r.action === action && r.who.includes(who) && r.relations.includes(relation)
            && (!r.hsmLevel || hsm || who === 'system'));
          assert.equal(allowed(action, who, relation, hsm), want, `${action} ${who} ${relation} ${hsm}`);
          if (want) yes++;
        }
      }
    }
  }
  assert.ok(yes > 50);
});
