// The PKCS#11 face at the byte level (docs/p11kit-rpc.md): handshake, errors that keep the
// connection, size queries and CKR_BUFFER_TOO_SMALL (§7), per-attribute results (§8),
// pipelining with different sessions in parallel and one session in order (§9), and a
// closed connection closing its sessions. Requests are built by the independent wire builder.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as net from 'node:net';
import { CKA, CKK, CKM, CKO, CKR } from '../../../src/pkcs11/constants';
import type { Reader } from '../../../src/protocol/p11rpc';
import { devServer, TestServer } from '../../helpers/harness';
import { attrArray, attrByte, attrBytes, attrUlong, ayData, ayLength, body, bstr, cat, frame, mechNoParam, u32, u64, u8 } from '../../protocol/p11rpc/wire';
import { RawClient } from './raw-client';

const socketPath = (s: TestServer) => decodeURIComponent(s.p11Address.slice('unix:path='.length));
const fy = (n: number) => u32(n);
const fA = (...pairs: [number, number][]) => cat(u32(pairs.length), ...pairs.map(([t, l]) => cat(u32(t), u32(l))));

/** One `aA` entry of a response, decoded by the §5.5 class of its type. */
function readAttr(r: Reader): { type: number; valid: boolean; length?: number; value?: unknown } {
  const type = r.readUint32();
  if (r.readByte() === 0) return { type, valid: false };
  const length = r.readUint32();
  const byteTypes = [CKA.TOKEN, CKA.SENSITIVE, CKA.EXTRACTABLE, CKA.SIGN, CKA.ENCRYPT];
  const ulongTypes = [CKA.CLASS, CKA.KEY_TYPE, CKA.VALUE_LEN];
  const value = byteTypes.includes(type as never) ? r.readByte() : ulongTypes.includes(type as never) ? r.readUlong()
    : type === CKA.ALLOWED_MECHANISMS ? Array.from({ length: r.readUint32() }, () => r.readUlong()) : r.readByteArray();
  return { type, valid: true, length, value };
}

describe('p11-kit RPC server', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let pin: string;
  before(async () => {
    srv = await devServer();
    pin = `${srv.credentials!.user.username}:${srv.credentials!.user.password}`;
  });
  after(async () => { await srv.close(); });

  async function userSession(): Promise<{ c: RawClient; s: number }> {
    const c = await RawClient.connect(socketPath(srv));
    await c.initialize();
    const s = await c.openSession();
    const a = await c.login(s, pin);
    assert.equal(a.callId, 18);
    return { c, s };
  }

  test('the version byte is answered with 0 and the handshake string is checked', async () => {
    const sock = net.connect(socketPath(srv));
    const first = await new Promise<Buffer>((resolve) => { sock.once('data', resolve); sock.write(u8(3)); });
    assert.deepEqual(first, u8(0));
    sock.destroy();
    const c = await RawClient.connect(socketPath(srv));
    const bad = await c.call('C_Initialize', 'ayyay', ayData('NOT-THE-HANDSHAKE'), u8(0), ayData(Buffer.from([0])));
    assert.equal(bad.rv, CKR.GENERAL_ERROR);
    const early = await c.call('C_GetSlotList', 'yfu', u8(1), u32(0));
    assert.equal(early.rv, CKR.CRYPTOKI_NOT_INITIALIZED);
    c.close();
  });

  test('unknown calls, bad signatures and trailing bytes are answered and the connection goes on', async () => {
    const c = await RawClient.connect(socketPath(srv));
    await c.initialize();
    assert.equal((await c.send(body(70, 'u', u64(1)))).rv, CKR.FUNCTION_NOT_SUPPORTED);
    assert.equal((await c.send(body(0, 'u', u64(1)))).rv, CKR.FUNCTION_NOT_SUPPORTED);
    assert.equal((await c.send(body(4, 'yfy', u8(1), u32(0)))).rv, CKR.DEVICE_ERROR);
    assert.equal((await c.send(cat(body(4, 'yfu', u8(1), u32(4)), u8(9)))).rv, CKR.DEVICE_ERROR);
    assert.equal((await c.send(u32(4))).rv, CKR.DEVICE_ERROR);
    const r = await c.ok('C_GetSlotList', 'yfu', u8(1), u32(4));
    assert.equal(r.readByte(), 1);
    assert.equal(r.readUint32(), 1);
    assert.equal(r.readUlong(), 1);
    c.close();
  });

  test('an oversized frame closes that connection only', async () => {
    const bad = await RawClient.connect(socketPath(srv));
    const good = await RawClient.connect(socketPath(srv));
    await good.initialize();
    bad.socket.write(cat(u32(99), u32(0), u32(0x7fffffff)));
    await bad.closed;
    const r = await good.ok('C_GetInfo', '');
    assert.equal(r.readByte(), 2);
    good.close();
  });

  test('C_GetAttributeValue: size query, too-small buffer, sensitive and invalid attributes in one call (§8.2)', async () => {
    const { c, s } = await userSession();
    const tmpl = attrArray(attrUlong(CKA.VALUE_LEN, 32), attrByte(CKA.TOKEN, 0), attrBytes(CKA.LABEL, 'attr-key'),
      attrByte(CKA.EXTRACTABLE, 1), attrByte(CKA.SENSITIVE, 1));
    const key = (await c.ok('C_GenerateKey', 'uMaA', u64(s), mechNoParam(CKM.AES_KEY_GEN), tmpl)).readUlong();
    const r = await c.ok('C_GetAttributeValue', 'uufA', u64(s), u64(key),
      fA([CKA.CLASS, 0], [CKA.LABEL, 3], [CKA.VALUE, 32], [CKA.MODULUS, 0], [CKA.VALUE_LEN, 8], [CKA.LABEL, 0], [CKA.ALLOWED_MECHANISMS, 0]));
    assert.equal(r.readUint32(), 7);
    const got = Array.from({ length: 7 }, () => readAttr(r));
    const rv = r.readUlong();
    assert.deepEqual(got[0], { type: CKA.CLASS, valid: true, length: 8, value: CKO.SECRET_KEY });
    assert.deepEqual(got[1], { type: CKA.LABEL, valid: false });
    assert.deepEqual(got[2], { type: CKA.VALUE, valid: false });
    assert.deepEqual(got[3], { type: CKA.MODULUS, valid: false });
    assert.deepEqual(got[4], { type: CKA.VALUE_LEN, valid: true, length: 8, value: 32 });
    assert.deepEqual(got[5], { type: CKA.LABEL, valid: true, length: 8, value: Buffer.from('attr-key') });
    assert.deepEqual(got[6], { type: CKA.ALLOWED_MECHANISMS, valid: true, length: 0, value: [] });
    assert.ok(([CKR.BUFFER_TOO_SMALL, CKR.ATTRIBUTE_SENSITIVE, CKR.ATTRIBUTE_TYPE_INVALID] as number[]).includes(rv));
    const tmplErr = await c.call('C_GetAttributeValue', 'uufA', u64(s), u64(key), fA([CKA.WRAP_TEMPLATE, 0]));
    assert.equal(tmplErr.rv, CKR.ATTRIBUTE_TYPE_INVALID);
    c.close();
  });

  test('C_Sign: a size query and a too-small buffer keep the operation; the same signature follows (§7.1)', async () => {
    const { c, s } = await userSession();
    const pubT = attrArray(attrBytes(CKA.EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex')), attrByte(CKA.TOKEN, 0));
    const privT = attrArray(attrByte(CKA.TOKEN, 0), attrByte(CKA.SIGN, 1));
    const r = await c.ok('C_GenerateKeyPair', 'uMaAaA', u64(s), mechNoParam(CKM.EC_KEY_PAIR_GEN), pubT, privT);
    const [, priv] = [r.readUlong(), r.readUlong()];
    const digest = crypto.createHash('sha256').update('size queries').digest();
    await c.ok('C_SignInit', 'uMu', u64(s), mechNoParam(CKM.ECDSA), u64(priv));
    const q = await c.ok('C_Sign', 'uayfy', u64(s), ayData(digest), fy(0));
    assert.deepEqual([q.readByte(), q.readUint32()], [0, 64]);
    const small = await c.ok('C_Sign', 'uayfy', u64(s), ayData(digest), fy(10));
    assert.deepEqual([small.readByte(), small.readUint32()], [0, 64]);
    const full = await c.ok('C_Sign', 'uayfy', u64(s), ayData(digest), fy(64));
    assert.equal(full.readByte(), 1);
    assert.equal(full.readByteArray()!.length, 64);
    assert.equal((await c.call('C_Sign', 'uayfy', u64(s), ayData(digest), fy(64))).rv, CKR.OPERATION_NOT_INITIALIZED);
    c.close();
  });

  test('multi-part digest equals the one-shot digest', async () => {
    const c = await RawClient.connect(socketPath(srv));
    await c.initialize();
    const s = await c.openSession();
    await c.ok('C_DigestInit', 'uM', u64(s), mechNoParam(CKM.SHA256));
    await c.ok('C_DigestUpdate', 'uay', u64(s), ayData('part one, '));
    await c.ok('C_DigestUpdate', 'uay', u64(s), ayData('part two'));
    const r = await c.ok('C_DigestFinal', 'ufy', u64(s), fy(32));
    assert.equal(r.readByte(), 1);
    assert.deepEqual(r.readByteArray(), crypto.createHash('sha256').update('part one, part two').digest());
    c.close();
  });

  test('a slow RSA-4096 generation blocks neither other sessions nor other connections; one session stays in order', async () => {
    const { c, s } = await userSession();
    const s2 = await c.openSession();
    const other = await RawClient.connect(socketPath(srv));
    await other.initialize();
    const os = await other.openSession();
    const pubT = attrArray(attrUlong(CKA.MODULUS_BITS, 4096), attrByte(CKA.TOKEN, 0));
    const slow = c.call('C_GenerateKeyPair', 'uMaAaA', u64(s), mechNoParam(CKM.RSA_PKCS_KEY_PAIR_GEN), pubT, attrArray(attrByte(CKA.TOKEN, 0)));
    const afterSlow = c.call('C_GetSessionInfo', 'u', u64(s));
    const fast = await Promise.all([
      c.call('C_GenerateRandom', 'ufy', u64(s2), fy(16)),
      other.call('C_GenerateRandom', 'ufy', u64(os), fy(16)),
    ]);
    const slowCode = (await slow).code;
    assert.ok(fast.every((a) => a.callId === 64));
    assert.ok(c.order.indexOf(fast[0].code) < c.order.indexOf(slowCode), 'the other session answered first');
    assert.equal((await slow).callId, 59);
    assert.ok(c.order.indexOf((await afterSlow).code) > c.order.indexOf(slowCode), 'same-session call waited');
    c.close();
    other.close();
  });

  test('a closed connection closes its sessions and drops their session objects', async () => {
    const { c, s } = await userSession();
    const tmpl = attrArray(attrUlong(CKA.CLASS, CKO.SECRET_KEY), attrUlong(CKA.KEY_TYPE, CKK.AES), attrUlong(CKA.VALUE_LEN, 16),
      attrByte(CKA.TOKEN, 0), attrBytes(CKA.LABEL, 'session-only'));
    await c.ok('C_GenerateKey', 'uMaA', u64(s), mechNoParam(CKM.AES_KEY_GEN), tmpl);
    const principal = await srv.hsm.login(srv.credentials!.user.username, srv.credentials!.user.password);
    // Session objects are visible only under their session's tag ("p11-<connection>/<session>").
    const tags = Array.from({ length: 200 }, (_, i) => `p11-${i + 1}/${s}`);
    const holders = async () => (await Promise.all(tags.map(async (tag) =>
      (await srv.hsm.lookup.find({ principal, face: 'p11', partition: 'default', session: tag })).some((o) => o.label === 'session-only') ? tag : undefined))).filter(Boolean);
    assert.equal((await holders()).length, 1);
    assert.equal((await srv.hsm.lookup.find(srv.hsm.callerOf(principal, 'admin'))).filter((o) => o.label === 'session-only').length, 0);
    c.close();
    await c.closed;
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(await holders(), []);
    const c2 = await RawClient.connect(socketPath(srv));
    await c2.initialize();
    const s2 = await c2.openSession();
    await c2.login(s2, pin);
    await c2.ok('C_FindObjectsInit', 'uaA', u64(s2), attrArray(attrBytes(CKA.LABEL, 'session-only')));
    const found = await c2.ok('C_FindObjects', 'ufu', u64(s2), u32(10));
    assert.deepEqual([found.readByte(), found.readUint32()], [1, 0]);
    c2.close();
  });
});

export { ayLength, bstr, frame };
