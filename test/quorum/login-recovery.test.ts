// Logins before and after the lockout: the growing delay (ordering, not timings: a retry inside
// the delay is refused unevaluated and uncounted), an officer's lockout that ends by itself and
// grows when guessing goes on (no denial of service on the only officer, and no session ended by
// a guesser), and recovery of a locked-out last officer by 2 of 3 custodians' shares, audited.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromCanonical } from '../../src/audit-chain/chain';
import { Hsm, type HsmOptions } from '../../src/core/hsm';
import { delayAfter, LoginThrottle, officerLockout, OFFICER_LOCKOUT_MS } from '../../src/core/login-throttle';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { tempDir } from '../helpers/harness';

const PW = 'officer-password-1';

async function module(opts: HsmOptions, shares = 1, threshold = 1): Promise<{ hsm: Hsm; shares: string[]; close(): Promise<void> }> {
  const dir = tempDir();
  const store = new SqliteKeyStore(path.join(dir, 'inkan.db'));
  const hsm = new Hsm(store, opts);
  await hsm.start();
  const all = await hsm.lifecycle.init(shares, threshold, { username: 'officer', password: PW });
  for (const s of all.slice(0, threshold)) await hsm.lifecycle.unseal(s);
  return { hsm, shares: all, async close() { await store.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('the delay grows with each failure and is capped; a try inside it is refused, after it allowed', () => {
  const steps = [1, 2, 3, 4, 5, 6, 7].map((n) => delayAfter(n, 100));
  for (let i = 1; i < 5; i++) assert.ok(steps[i] > steps[i - 1], `delay ${i + 1} grows: ${steps}`);
  assert.equal(steps[6], steps[5], 'capped');
  let now = 1_000_000;
  const t = new LoginThrottle(undefined as never, undefined as never, async () => undefined, 100, () => now);
  assert.throws(() => t.checkAccount(3, now), { code: 'LOGIN_THROTTLED' });
  now += delayAfter(3, 100) - 1;
  assert.throws(() => t.checkAccount(3, 1_000_000), { code: 'LOGIN_THROTTLED' });
  now += 1;
  t.checkAccount(3, 1_000_000);
  assert.ok(officerLockout(2) > officerLockout(1) && officerLockout(1) === OFFICER_LOCKOUT_MS && officerLockout(40) === 24 * 3600_000);
});

test('inside the delay even the right password is refused unevaluated, and the attempt is not counted', async () => {
  const m = await module({ loginDelayMs: 60_000 });
  try {
    const o = m.hsm.callerOf(await m.hsm.login('officer', PW), 'admin');
    await m.hsm.users.create(o, 'user', 'user', 'user-password-1');
    await assert.rejects(m.hsm.login('user', 'wrong-password'), { code: 'LOGIN_FAILED' });
    await assert.rejects(m.hsm.login('user', 'user-password-1'), { code: 'LOGIN_THROTTLED' });
    await assert.rejects(m.hsm.login('user', 'wrong-again'), { code: 'LOGIN_THROTTLED' });
    const u = (await m.hsm.users.list(o)).find((x) => x.username === 'user')!;
    assert.equal(u.failedLogins, 1, 'throttled attempts are not counted');
  } finally { await m.close(); }
});

test('five wrong passwords lock an officer for a while, not for good; its sessions go on; the next lockout is longer', async () => {
  const m = await module({ loginDelayMs: 0, officerLockoutMs: 1500 });
  try {
    const before = m.hsm.callerOf(await m.hsm.login('officer', PW), 'admin');
    const codes: string[] = [];
    for (let i = 0; i < 6; i++) codes.push(await m.hsm.login('officer', `guess-${i}`).then(() => 'OK', (e) => e.code));
    assert.deepEqual(codes, ['LOGIN_FAILED', 'LOGIN_FAILED', 'LOGIN_FAILED', 'LOGIN_FAILED', 'ACCOUNT_LOCKED', 'ACCOUNT_LOCKED']);
    await assert.rejects(m.hsm.login('officer', PW), { code: 'ACCOUNT_LOCKED' }, 'the right password does not help during the lockout');
    // A guesser proves nothing: the officer's own session still works, and shows when the lock ends.
    const me = (await m.hsm.users.list(before)).find((u) => u.username === 'officer')!;
    assert.ok(me.lockedUntil && Date.parse(me.lockedUntil) > Date.now());
    assert.equal(me.locked, false);
    await sleep(1550);
    // The lockout ended by itself; five more guesses lock it twice as long.
    for (let i = 0; i < 5; i++) await m.hsm.login('officer', `guess-b${i}`).catch(() => undefined);
    await sleep(1550);
    await assert.rejects(m.hsm.login('officer', PW), { code: 'ACCOUNT_LOCKED' }, 'the second lockout lasts longer than the first');
    await sleep(1550);
    await m.hsm.login('officer', PW);
    const after = (await m.hsm.users.list(before)).find((u) => u.username === 'officer')!;
    assert.equal(after.lockedUntil, undefined);
    assert.equal(after.failedLogins, 0);
  } finally { await m.close(); }
});

test('another officer lifts an officer\'s lockout; a crypto user stays locked until an officer unlocks it', async () => {
  const m = await module({ loginDelayMs: 0 });
  try {
    const o = m.hsm.callerOf(await m.hsm.login('officer', PW), 'admin');
    await m.hsm.users.create(o, 'o2', 'officer', 'o2-password-1');
    await m.hsm.users.create(o, 'cu', 'user', 'cu-password-1');
    for (let i = 0; i < 5; i++) await m.hsm.login('o2', `guess-${i}`).catch(() => undefined);
    for (let i = 0; i < 5; i++) await m.hsm.login('cu', `guess-${i}`).catch(() => undefined);
    await assert.rejects(m.hsm.login('o2', 'o2-password-1'), { code: 'ACCOUNT_LOCKED' });
    const cu = (await m.hsm.users.list(o)).find((u) => u.username === 'cu')!;
    assert.equal(cu.locked, true, 'a crypto user is locked for good');
    await m.hsm.users.unlock(o, 'o2');
    await m.hsm.login('o2', 'o2-password-1');
  } finally { await m.close(); }
});

test('2 of 3 custodians recover the locked-out last officer with their shares (one share is not enough), audited', async () => {
  const m = await module({ loginDelayMs: 0 }, 3, 2);
  try {
    for (let i = 0; i < 5; i++) await m.hsm.login('officer', `guess-${i}`).catch(() => undefined);
    await assert.rejects(m.hsm.login('officer', PW), { code: 'ACCOUNT_LOCKED' });
    const action = { kind: 'recover-officer' as const, username: 'officer', password: 'recovered-password-1' };
    const first = await m.hsm.lifecycle.custodian(action, m.shares[2]);
    assert.deepEqual(first, { done: false, progress: 1, threshold: 2 });
    await assert.rejects(m.hsm.login('officer', 'recovered-password-1'), { code: 'ACCOUNT_LOCKED' }, 'nothing happened on one share');
    await assert.rejects(m.hsm.lifecycle.custodian(action, m.shares[2]), { code: 'SHARE_DUPLICATE' });
    const done = await m.hsm.lifecycle.custodian(action, m.shares[0]);
    assert.equal(done.done, true);
    await m.hsm.login('officer', 'recovered-password-1');
    const recs = (await m.hsm.store.audit.list(m.hsm.node, 1, 10_000)).map((r) => fromCanonical(r.body)).filter((b) => b.op === 'custodian.recover-officer');
    assert.deepEqual(recs.map((r) => r.outcome), ['success', 'failure', 'success']);
    assert.match(String(recs[2].detail), /unlocked, password reset/);
    assert.ok(!JSON.stringify(recs).includes('recovered-password-1'));
  } finally { await m.close(); }
});
