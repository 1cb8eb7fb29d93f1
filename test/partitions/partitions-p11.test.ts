// Partitions over PKCS#11 with pkcs11js through Debian's p11-kit-client.so (the server in a child
// process: pkcs11js calls block): one slot and token per partition (label = name, serial and
// slot id as the admin API reports them), logins resolved inside the slot's partition, keys
// invisible across partitions by label and by handle, max-objects shown as CKF_WRITE_PROTECTED
// and enforced, and a deleted partition's slot gone at the next C_GetSlotList.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { childServer, type ChildServer, P11_KIT_CLIENT } from '../interop/p11-helpers';
import { adminLogin, ALICE_PASSWORD, makePartition, PSO_PASSWORD, type Admin, type P1 } from './helpers';

const RW = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;
const CKF_WRITE_PROTECTED = 0x2;
const CKS_RW_PUBLIC_SESSION = 2; // PKCS#11 2.40 §5.5
const CKS_RW_USER_FUNCTIONS = 3;

function ckr(fn: () => unknown): string {
  try { fn(); } catch (err) { return (err as Error).message.split(':')[0]; }
  return 'CKR_OK';
}
const slotNumber = (slot: Buffer) => Number(slot.readBigUInt64LE(0));

describe('partitions over PKCS#11 (pkcs11js, p11-kit-client.so)', { timeout: 180_000 }, () => {
  let srv: ChildServer;
  let hsmOfficer: Admin;
  let p1: P1;
  const instances: pkcs11js.PKCS11[] = [];

  function connect(): pkcs11js.PKCS11 {
    process.env.P11_KIT_SERVER_ADDRESS = srv.p11Address;
    const p = new pkcs11js.PKCS11();
    p.load(P11_KIT_CLIENT);
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    instances.push(p);
    return p;
  }
  const slotFor = (p: pkcs11js.PKCS11, id: number) => p.C_GetSlotList(true).find((s) => slotNumber(s) === id);
  const aes = (p: pkcs11js.PKCS11, s: Buffer, label: string) => p.C_GenerateKey(s, { mechanism: pkcs11js.CKM_AES_KEY_GEN },
    [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_VALUE_LEN, value: 32 }, { type: pkcs11js.CKA_LABEL, value: label }]);
  function findByLabel(p: pkcs11js.PKCS11, s: Buffer, label: string): Buffer[] {
    p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_LABEL, value: label }]);
    try { return p.C_FindObjects(s, 100); } finally { p.C_FindObjectsFinal(s); }
  }

  before(async () => {
    srv = await childServer();
    hsmOfficer = await adminLogin(srv.url, srv.accounts.officer.username, srv.accounts.officer.password);
    p1 = await makePartition(srv.url, hsmOfficer, 'p1');
  });
  after(async () => {
    for (const i of instances) { try { i.C_Finalize(); } catch { /* already */ } }
    await srv.close();
  });

  test('one slot and token per partition: label, serial, slot id and model from the partition', async () => {
    const p = connect();
    const slots = p.C_GetSlotList(true);
    assert.equal(slots.length, 2);
    const listed = (await hsmOfficer('GET', '/v1/partitions')).body.partitions as { name: string; slot: number; serial: string; policy: { approvedOnly: boolean } }[];
    for (const part of listed) {
      const slot = slots.find((s) => slotNumber(s) === part.slot);
      assert.ok(slot, `slot ${part.slot} of ${part.name}`);
      const info = p.C_GetTokenInfo(slot);
      assert.equal(info.label.trim(), part.name);
      assert.equal(info.serialNumber.trim(), part.serial);
      assert.equal(info.model.trim(), part.policy.approvedOnly ? 'Inkan approved' : 'Inkan legacy ok');
    }
    assert.equal(slotNumber(slots[0]), 1, 'default stays slot 1');
    assert.equal(p.C_GetTokenInfo(slots[1]).model.trim(), 'Inkan approved', 'a new partition is approved-only');
  });

  test('a login resolves the PIN\'s user inside the slot\'s partition', () => {
    const p = connect();
    const slot = slotFor(p, p1.slot)!;
    const s = p.C_OpenSession(slot, RW);
    assert.equal(ckr(() => p.C_Login(s, pkcs11js.CKU_USER, srv.pin)), 'CKR_PIN_INCORRECT', 'the default partition\'s user is nobody in p1');
    assert.equal(ckr(() => p.C_Login(s, pkcs11js.CKU_SO, srv.officerPin)), 'CKR_PIN_INCORRECT', 'nor is the HSM officer');
    assert.equal(ckr(() => p.C_Login(s, pkcs11js.CKU_SO, `pso:${PSO_PASSWORD}`)), 'CKR_OK');
    // The partition's officer manages users, never keys.
    assert.equal(ckr(() => aes(p, s, 'by-the-officer')), 'CKR_USER_NOT_LOGGED_IN');
    p.C_Logout(s);
    assert.equal(ckr(() => p.C_Login(s, pkcs11js.CKU_USER, `alice:${ALICE_PASSWORD}`)), 'CKR_OK');
    p.C_CloseSession(s);
  });

  test('keys never cross partitions: not by label, not by handle', () => {
    const a = connect();
    const as = a.C_OpenSession(slotFor(a, p1.slot)!, RW);
    a.C_Login(as, pkcs11js.CKU_USER, `alice:${ALICE_PASSWORD}`);
    const key = aes(a, as, 'p1-secret');
    const d = connect();
    const ds = d.C_OpenSession(slotFor(d, 1)!, RW);
    d.C_Login(ds, pkcs11js.CKU_USER, srv.pin);
    aes(d, ds, 'default-secret');
    assert.equal(findByLabel(d, ds, 'p1-secret').length, 0);
    assert.equal(findByLabel(a, as, 'default-secret').length, 0);
    assert.equal(findByLabel(a, as, 'p1-secret').length, 1);
    // The same application opens a session on the default partition's slot: alice's login is not
    // for that token, and her key's handle names nothing there.
    const other = a.C_OpenSession(slotFor(a, 1)!, RW);
    assert.equal(a.C_GetSessionInfo(other).state, CKS_RW_PUBLIC_SESSION);
    assert.equal(ckr(() => a.C_GetAttributeValue(other, key, [{ type: pkcs11js.CKA_LABEL }])), 'CKR_OBJECT_HANDLE_INVALID');
    assert.equal(ckr(() => a.C_EncryptInit(other, { mechanism: pkcs11js.CKM_AES_ECB }, key)), 'CKR_KEY_HANDLE_INVALID');
    assert.equal(findByLabel(a, other, 'p1-secret').length, 0);
    // In its own partition the same handle works.
    const block = crypto.randomBytes(16);
    a.C_EncryptInit(as, { mechanism: pkcs11js.CKM_AES_ECB }, key);
    const ct = a.C_Encrypt(as, block, Buffer.alloc(16));
    assert.equal(ct.length, 16);
    assert.notDeepEqual(ct, block);
    // Closing the session on the other slot leaves alice logged in to her own token.
    a.C_CloseSession(other);
    assert.equal(a.C_GetSessionInfo(as).state, CKS_RW_USER_FUNCTIONS);
  });

  test('max-objects: a full partition\'s token is write-protected and refuses new objects', async () => {
    const held = (await hsmOfficer('GET', '/v1/partitions/p1')).body.objects as number;
    assert.equal((await hsmOfficer('PATCH', '/v1/partitions/p1', { maxObjects: held })).status, 200);
    const p = connect();
    const slot = slotFor(p, p1.slot)!;
    assert.ok(p.C_GetTokenInfo(slot).flags & CKF_WRITE_PROTECTED);
    const s = p.C_OpenSession(slot, RW);
    p.C_Login(s, pkcs11js.CKU_USER, `alice:${ALICE_PASSWORD}`);
    assert.equal(ckr(() => aes(p, s, 'one-too-many')), 'CKR_DEVICE_MEMORY');
    assert.equal((await hsmOfficer('PATCH', '/v1/partitions/p1', { maxObjects: held + 10 })).status, 200);
    assert.equal(p.C_GetTokenInfo(slot).flags & CKF_WRITE_PROTECTED, 0);
    p.C_CloseSession(s);
  });

  test('a deleted partition\'s slot is gone at the next C_GetSlotList', async () => {
    const p = connect();
    const before = p.C_GetSlotList(true).map(slotNumber);
    assert.ok(before.includes(p1.slot));
    const stale = slotFor(p, p1.slot)!;
    const r = await hsmOfficer('DELETE', '/v1/partitions/p1');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(p.C_GetSlotList(true).map(slotNumber), [1]);
    assert.equal(ckr(() => p.C_OpenSession(stale, RW)), 'CKR_SLOT_ID_INVALID');
    assert.equal(ckr(() => p.C_GetTokenInfo(stale)), 'CKR_SLOT_ID_INVALID');
  });
});
