// Identity: roles, lockout after five failures, unlock, password rules, officers cannot use keys.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CKA, CKM } from '../../src/pkcs11/constants';
import { freshModule, OFFICER_PASSWORD, USER_PASSWORD } from '../helpers/harness';

const code = (c: string) => (err: unknown) => { assert.equal((err as { code?: string }).code, c); return true; };

test('five consecutive failed logins lock the account until an officer unlocks it', async () => {
  const m = await freshModule();
  try {
    for (let i = 1; i <= 4; i++) await assert.rejects(m.hsm.login('user', 'wrong-password'), code('LOGIN_FAILED'));
    await assert.rejects(m.hsm.login('user', 'wrong-password'), code('ACCOUNT_LOCKED'));
    await assert.rejects(m.hsm.login('user', USER_PASSWORD), code('ACCOUNT_LOCKED'), 'the right password does not help once locked');
    assert.equal((await m.hsm.users.list(m.officer)).find((u) => u.username === 'user')!.locked, true);
    // Locking ended the locked user's own sessions; another crypto user may not unlock anyone.
    await assert.rejects(m.hsm.users.unlock(m.caller, 'user'), code('SESSION_REVOKED'));
    await assert.rejects(m.hsm.users.unlock(await m.newUser('bob'), 'user'), code('FORBIDDEN'));
    await m.hsm.users.unlock(m.officer, 'user');
    await m.hsm.login('user', USER_PASSWORD);
  } finally { await m.close(); }
});

test('a successful login resets the failure count', async () => {
  const m = await freshModule();
  try {
    for (let i = 0; i < 4; i++) await assert.rejects(m.hsm.login('user', 'nope-nope'), code('LOGIN_FAILED'));
    await m.hsm.login('user', USER_PASSWORD);
    for (let i = 0; i < 4; i++) await assert.rejects(m.hsm.login('user', 'nope-nope'), code('LOGIN_FAILED'));
    await m.hsm.login('user', USER_PASSWORD);
  } finally { await m.close(); }
});

test('unknown users and wrong passwords give the same error', async () => {
  const m = await freshModule();
  try {
    await assert.rejects(m.hsm.login('nobody', USER_PASSWORD), code('LOGIN_FAILED'));
    await assert.rejects(m.hsm.login('user', 'not-the-password'), code('LOGIN_FAILED'));
  } finally { await m.close(); }
});

test('role matrix: officers manage users but not keys; users use keys but not users; auditors neither', async () => {
  const m = await freshModule();
  try {
    await m.hsm.users.create(m.officer, 'audrey', 'auditor', 'auditor-password');
    const auditorCaller = m.as(await m.hsm.login('audrey', 'auditor-password'));
    const officerCaller = m.officer;
    const aesT = () => new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true]]);
    await assert.rejects(m.hsm.keys.generateKey(officerCaller, CKM.AES_KEY_GEN, aesT()), code('FORBIDDEN'));
    await assert.rejects(m.hsm.keys.generateKey(auditorCaller, CKM.AES_KEY_GEN, aesT()), code('FORBIDDEN'));
    const key = await m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, aesT());
    await assert.rejects(m.hsm.crypto.encrypt(officerCaller, key, CKM.AES_GCM, { iv: Buffer.alloc(12) }, Buffer.from('x')), code('FORBIDDEN'));
    await assert.rejects(m.hsm.users.create(m.caller, 'mallory', 'officer', 'mallory-password'), code('FORBIDDEN'));
    await assert.rejects(m.hsm.users.create(auditorCaller, 'mallory', 'user', 'mallory-password'), code('FORBIDDEN'));
    assert.equal((await m.hsm.users.list(auditorCaller)).length, 3, 'auditors may list users');
    await assert.rejects(m.hsm.users.list(m.caller), code('FORBIDDEN'));
  } finally { await m.close(); }
});

test('user management edge cases: duplicates, bad names, weak passwords, the last officer', async () => {
  const m = await freshModule();
  try {
    await assert.rejects(m.hsm.users.create(m.officer, 'user', 'user', USER_PASSWORD), code('USER_EXISTS'));
    await assert.rejects(m.hsm.users.create(m.officer, 'bad name!', 'user', USER_PASSWORD), code('USERNAME_INVALID'));
    await assert.rejects(m.hsm.users.create(m.officer, 'shorty', 'user', 'short'), code('PASSWORD_POLICY'));
    await assert.rejects(m.hsm.users.create(m.officer, 'x', 'root' as never, USER_PASSWORD), code('BAD_REQUEST'));
    await assert.rejects(m.hsm.users.delete(m.officer, 'officer'), code('LAST_OFFICER'));
    await assert.rejects(m.hsm.users.delete(m.officer, 'ghost'), code('USER_NOT_FOUND'));
    await m.hsm.users.setPassword(m.officer, 'user', 'a-new-password');
    await assert.rejects(m.hsm.login('user', USER_PASSWORD), code('LOGIN_FAILED'));
    const user = m.as(await m.hsm.login('user', 'a-new-password'));
    await assert.rejects(m.hsm.users.setPassword(user, 'user', 'third-password', 'wrong-old-one'), code('LOGIN_FAILED'));
    await m.hsm.users.setPassword(user, 'user', 'third-password', 'a-new-password');
    // Changing the password ended that session: a fresh login is needed for anything else.
    await assert.rejects(m.hsm.users.setPassword(user, 'officer', 'hijacked-password'), code('SESSION_REVOKED'));
    const again = m.as(await m.hsm.login('user', 'third-password'));
    await assert.rejects(m.hsm.users.setPassword(again, 'officer', 'hijacked-password'), code('FORBIDDEN'));
    await m.hsm.users.delete(m.officer, 'user');
    await assert.rejects(m.hsm.login('user', 'third-password'), code('LOGIN_FAILED'));
    await m.hsm.login('officer', OFFICER_PASSWORD);
  } finally { await m.close(); }
});

test('password hashes are scrypt and never the password', async () => {
  const m = await freshModule();
  try {
    const rows = m.store.rawDatabase().prepare('SELECT data FROM users').all() as { data: string }[];
    assert.equal(rows.length, 2);
    for (const r of rows) {
      const hash = (JSON.parse(r.data) as { passwordHash: string }).passwordHash;
      assert.match(hash, /^scrypt\$32768\$8\$1\$/);
      assert.ok(!r.data.includes(USER_PASSWORD) && !r.data.includes(OFFICER_PASSWORD));
    }
  } finally { await m.close(); }
});
