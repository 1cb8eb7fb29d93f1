// Red-team findings 1 and 5 (issue #8): parallel guessing no longer beats the lockout, unknown and
// known names answer alike, guessing is slowed before the lock, and a locked-out last officer comes
// back only through the custodians' shares. Each test performs the attack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fromCanonical } from '../../src/audit-chain/chain';
import { freshModule, TestModule, USER_PASSWORD } from '../helpers/harness';

const codeOf = (r: PromiseSettledResult<unknown>) => (r.status === 'fulfilled' ? 'OK' : (r.reason as { code?: string }).code ?? 'ERR');
const count = (xs: string[], x: string) => xs.filter((y) => y === x).length;

async function loginRecords(m: TestModule, username: string, after = 0) {
  return (await m.store.audit.list(m.hsm.node, after + 1, 100_000)).map((r) => fromCanonical(r.body)).filter((b) => b.op === 'user.login' && b.actor === username);
}
async function failedCount(m: TestModule, username: string): Promise<{ failed: number; locked: boolean }> {
  const u = (await m.hsm.users.list(m.officer)).find((x) => x.username === username)!;
  return { failed: u.failedLogins, locked: u.locked };
}

test('40 concurrent guesses with the right password among them: exactly five are checked, then the account locks', async () => {
  const m = await freshModule(); // no delay: the count alone must hold under concurrency
  try {
    const mark = (await m.store.audit.head(m.hsm.node)).seq;
    const guesses = Array.from({ length: 40 }, (_, i) => (i === 39 ? USER_PASSWORD : `wrong-guess-${i}`));
    const results = (await Promise.allSettled(guesses.map((g) => m.hsm.login('user', g)))).map(codeOf);
    const records = await loginRecords(m, 'user', mark);
    const checked = records.filter((r) => r.detail === 'password checked');
    assert.equal(checked.length, 5, 'every guess is counted before it is checked: five checks, never more');
    assert.equal(count(results, 'OK'), 0, 'the right password, queued behind five wrong ones, did not get in');
    assert.equal(count(results, 'LOGIN_FAILED'), 4);
    assert.equal(count(results, 'ACCOUNT_LOCKED'), 36);
    assert.deepEqual(await failedCount(m, 'user'), { failed: 5, locked: true });
    assert.equal(records.length, 40, 'every attempt is in the audit trail');
  } finally { await m.close(); }
});

test('simultaneous correct logins of one account all succeed and lock nothing (they do not count each other as failures)', async () => {
  const m = await freshModule({ loginDelayMs: 250 });
  try {
    const results = (await Promise.allSettled(Array.from({ length: 12 }, () => m.hsm.login('user', USER_PASSWORD)))).map(codeOf);
    assert.deepEqual(results, Array(12).fill('OK'));
    assert.deepEqual(await failedCount(m, 'user'), { failed: 0, locked: false });
    // A wrong password among right ones is still counted and still delays what follows it.
    const mixed = (await Promise.allSettled([m.hsm.login('user', USER_PASSWORD), m.hsm.login('user', 'wrong'), m.hsm.login('user', USER_PASSWORD)])).map(codeOf);
    assert.deepEqual(mixed, ['OK', 'LOGIN_FAILED', 'LOGIN_THROTTLED']);
  } finally { await m.close(); }
});

test('with the growing delay, concurrent guesses are refused unevaluated: one check per delay window', async () => {
  const m = await freshModule({ loginDelayMs: 500 });
  try {
    const results = (await Promise.allSettled(Array.from({ length: 20 }, (_, i) => m.hsm.login('user', `guess-${i}`)))).map(codeOf);
    assert.equal(count(results, 'LOGIN_FAILED'), 1);
    assert.equal(count(results, 'LOGIN_THROTTLED'), 19, 'the rest wait for the delay without being checked');
    assert.deepEqual(await failedCount(m, 'user'), { failed: 1, locked: false });
    // After the delay the right password works and the count goes back to zero.
    await new Promise((r) => setTimeout(r, 550));
    await m.hsm.login('user', USER_PASSWORD);
    assert.deepEqual(await failedCount(m, 'user'), { failed: 0, locked: false });
  } finally { await m.close(); }
});

test('a name that is no user answers exactly like a user: four LOGIN_FAILED, then ACCOUNT_LOCKED; the same delays', async () => {
  const m = await freshModule();
  try {
    const known: string[] = [];
    const unknown: string[] = [];
    for (let i = 0; i < 7; i++) {
      known.push(codeOf((await Promise.allSettled([m.hsm.login('user', 'not-it-at-all')]))[0]));
      unknown.push(codeOf((await Promise.allSettled([m.hsm.login('no-such-user', 'not-it-at-all')]))[0]));
    }
    assert.deepEqual(unknown, known, 'no username oracle');
    assert.deepEqual(known, ['LOGIN_FAILED', 'LOGIN_FAILED', 'LOGIN_FAILED', 'LOGIN_FAILED', 'ACCOUNT_LOCKED', 'ACCOUNT_LOCKED', 'ACCOUNT_LOCKED']);
    // The unknown name is kept as a MAC, never in clear (people type passwords into username fields).
    const rows = m.store.rawDatabase().prepare('SELECT key FROM login_throttle').all() as { key: string }[];
    assert.equal(rows.length, 1);
    assert.match(rows[0].key, /^[0-9a-f]{64}$/);
  } finally { await m.close(); }
});

test('per-source delay: one source guessing many accounts is slowed down too', async () => {
  const m = await freshModule({ loginDelayMs: 300 });
  try {
    for (const name of ['alice', 'bob']) await m.hsm.users.create(m.officer, name, 'user', USER_PASSWORD);
    const from = { source: '203.0.113.9' };
    await assert.rejects(m.hsm.login('alice', 'wrong-password', 'admin', from), { code: 'LOGIN_FAILED' });
    await assert.rejects(m.hsm.login('bob', 'wrong-password', 'admin', from), { code: 'LOGIN_THROTTLED' });
    assert.equal((await failedCount(m, 'bob')).failed, 0, 'bob was not even counted: the source was throttled first');
    await m.hsm.login('bob', USER_PASSWORD, 'admin', { source: '198.51.100.7' }); // another source is not slowed
  } finally { await m.close(); }
});

test('five wrong passwords lock the only officer; the custodians (threshold shares) unlock it, audited', async () => {
  const m = await freshModule();
  try {
    for (let i = 0; i < 5; i++) await m.hsm.login('officer', 'guessing-officer').catch(() => undefined);
    await assert.rejects(m.hsm.login('officer', 'officer-password-1'), { code: 'ACCOUNT_LOCKED' });
    await assert.rejects(m.hsm.lifecycle.custodian({ kind: 'recover-officer', username: 'officer' }, 'inkan-share-2:bogus'), { code: 'SHARE_INVALID' });
    const r = await m.hsm.lifecycle.custodian({ kind: 'recover-officer', username: 'officer', password: 'officer-new-password' }, m.shares[0]);
    assert.equal(r.done, true);
    await m.hsm.login('officer', 'officer-new-password');
    const ops = (await m.store.audit.list(m.hsm.node, 1, 10_000)).map((x) => fromCanonical(x.body)).filter((b) => b.op === 'custodian.recover-officer');
    assert.deepEqual(ops.map((o) => o.outcome), ['failure', 'success']);
    assert.ok(!JSON.stringify(ops).includes('officer-new-password'));
  } finally { await m.close(); }
});
