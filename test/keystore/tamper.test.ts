// The store is untrusted: edited, swapped or truncated rows are detected and never used.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CKA, CKK, CKM, CKO } from '../../src/pkcs11/constants';
import { freshModule, TestModule } from '../helpers/harness';

const code = (c: string) => (err: unknown) => { assert.equal((err as { code?: string }).code, c); return true; };

async function aesKey(m: TestModule, label: string) {
  return m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.LABEL, label], [CKA.TOKEN, true]]));
}

/** Seal and unseal: drops the module's cache so the next read comes from the (tampered) file. */
async function reopen(m: TestModule, shares: string[]) {
  await m.hsm.lifecycle.seal(m.officer);
  await m.hsm.lifecycle.unseal(shares[0]);
}

test('editing a public attribute in the database is detected (STORE_CORRUPT), others keep working', async () => {
  const m = await freshModule();
  try {
    const shares = m.shares;
    const victim = await aesKey(m, 'victim');
    const other = await aesKey(m, 'other');
    const db = m.store.rawDatabase();
    const row = db.prepare('SELECT data FROM objects WHERE id = ?').get(victim.id) as { data: string };
    const data = JSON.parse(row.data);
    data.attrs[CKA.EXTRACTABLE] = true; data.attrs[CKA.SENSITIVE] = false;
    db.prepare('UPDATE objects SET data = ? WHERE id = ?').run(JSON.stringify(data), victim.id);
    await reopen(m, shares);
    const caller = m.hsm.callerOf(await m.hsm.login('user', 'user-password-1'), 'admin');
    await assert.rejects(m.hsm.lookup.resolve(caller, victim.id), code('STORE_CORRUPT'));
    const listed = await m.hsm.lookup.find(caller);
    assert.deepEqual(listed.map((o) => o.id), [other.id], 'the corrupt row is skipped in listings');
    const o2 = await m.hsm.lookup.resolve(caller, 'other');
    const ct = await m.hsm.crypto.encrypt(caller, o2, CKM.AES_GCM, { iv: Buffer.alloc(12, 1) }, Buffer.from('x'));
    assert.equal(ct.length, 17);
  } finally { await m.close(); }
});

test('a sealed value swapped between rows, or truncated, is detected', async () => {
  const m = await freshModule();
  try {
    const shares = m.shares;
    const a = await aesKey(m, 'a');
    const b = await aesKey(m, 'b');
    const db = m.store.rawDatabase();
    const get = (id: string) => (db.prepare('SELECT sealed, mac FROM objects WHERE id = ?').get(id) as { sealed: Buffer; mac: Buffer });
    const ra = get(a.id); const rb = get(b.id);
    // Swap sealed values and MACs: each row's MAC and AAD bind the object id.
    db.prepare('UPDATE objects SET sealed = ?, mac = ? WHERE id = ?').run(rb.sealed, rb.mac, a.id);
    db.prepare('UPDATE objects SET sealed = ? WHERE id = ?').run(rb.sealed.subarray(0, 20), b.id);
    await reopen(m, shares);
    // Another row's MAC put in place changes what the integrity accumulator sees: the module notices at
    // unseal and refuses to serve until the custodians accept the store as it is (or a backup is restored).
    const st = await m.hsm.status();
    assert.equal(st.state, 'error');
    assert.match(st.problem ?? '', /rolled back|removed|added/);
    await assert.rejects(m.hsm.login('user', 'user-password-1'), code('STORE_CORRUPT'));
    assert.equal((await m.hsm.lifecycle.custodian({ kind: 'accept-store' }, shares[0])).done, true);
    assert.equal(m.hsm.state, 'unsealed');
    const caller = m.hsm.callerOf(await m.hsm.login('user', 'user-password-1'), 'admin');
    await assert.rejects(m.hsm.lookup.resolve(caller, a.id), code('STORE_CORRUPT'));
    await assert.rejects(m.hsm.lookup.resolve(caller, b.id), code('STORE_CORRUPT'));
  } finally { await m.close(); }
});

test('changing a user row (role escalation) is detected', async () => {
  const m = await freshModule();
  try {
    const db = m.store.rawDatabase();
    db.prepare("UPDATE users SET role = 'officer' WHERE username = 'user'").run();
    await assert.rejects(m.hsm.login('user', 'user-password-1'), code('STORE_CORRUPT'));
    await m.hsm.login('officer', 'officer-password-1');
  } finally { await m.close(); }
});

test('secret key values are not in the database file in clear', async () => {
  const m = await freshModule();
  try {
    const value = Buffer.from('00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff', 'hex');
    await m.hsm.keys.createObject(m.caller, new Map<number, any>([[CKA.CLASS, CKO.SECRET_KEY], [CKA.KEY_TYPE, CKK.AES],
      [CKA.VALUE, value], [CKA.TOKEN, true]]));
    const db = m.store.rawDatabase();
    db.pragma('wal_checkpoint(FULL)');
    const fs = await import('node:fs');
    const file = fs.readFileSync(`${m.dir}/inkan.db`);
    assert.equal(file.indexOf(value), -1);
    assert.equal(file.indexOf(Buffer.from(value.toString('hex'))), -1);
    assert.equal(file.indexOf(Buffer.from(value.toString('base64'))), -1);
  } finally { await m.close(); }
});
