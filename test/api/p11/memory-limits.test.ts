// Red-team attacks on the PKCS#11 listener's memory, against a real server and socket: a big
// frame before C_Initialize, partial frames held open across many connections, and multi-part
// input (C_DigestUpdate) piled up across sessions. Each is refused clearly (a dropped connection
// with one log line, or CKR_DEVICE_MEMORY), every byte goes back to its budget on every path, and
// digests that fit are still right (checked with node:crypto).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { CKM, CKR } from '../../../src/pkcs11/constants';
import { ayData, cat, mechNoParam, u32, u64 } from '../../protocol/p11rpc/wire';
import { RawClient } from './raw-client';
import { limitedServer, LimitedServer, until } from './limit-helpers';

const KiB = 1024;
const MiB = 1024 * KiB;
const fy = (n: number) => u32(n);

describe('PKCS#11 memory limits', { timeout: 120_000 }, () => {
  let srv: LimitedServer;
  before(async () => {
    srv = await limitedServer({
      p11Limits: { preInitFrameBytes: 64 * KiB, requestBufferBytes: 4 * MiB, multipartBytes: 1 * MiB, handshakeTimeoutMs: 30_000 },
    });
  });
  after(async () => { await srv.close(); });
  const stats = () => srv.p11.stats();

  /** Header of a frame announcing `total` bytes, and `have` bytes of its body: a frame that never completes. */
  const partialFrame = (total: number, have: number) => cat(u32(77), u32(0), u32(total - 12), Buffer.alloc(have, 0x41));

  test('before C_Initialize a frame over the small cap drops the connection; after it the same frame is taken', async () => {
    const early = await RawClient.connect(srv.socketPath);
    early.socket.write(partialFrame(1 * MiB, 1000));
    await early.closed;
    const line = srv.lines('p11 handshake failed').at(-1)!;
    assert.equal(line.level, 'info');
    assert.match(String(line.reason), /exceeds cap 65536/);
    const late = await RawClient.connect(srv.socketPath);
    await late.initialize();
    const s = await late.openSession();
    await late.ok('C_DigestInit', 'uM', u64(s), mechNoParam(CKM.SHA256));
    const data = crypto.randomBytes(512 * KiB);
    const r = await late.ok('C_Digest', 'uayfy', u64(s), ayData(data), fy(32));
    assert.equal(r.readByte(), 1);
    assert.deepEqual(r.readByteArray(), crypto.createHash('sha256').update(data).digest());
    late.close();
  });

  test('partial frames held by many connections: the one that goes over the budget is dropped, the others and new clients go on', async () => {
    const holders: RawClient[] = [];
    for (let i = 0; i < 3; i++) {
      const c = await RawClient.connect(srv.socketPath);
      await c.initialize();
      holders.push(c);
    }
    // Each holds 1.5 MiB of a 2 MiB frame: 1.5 MiB - 64 KiB allowance charged, 2 fit in 4 MiB, the third does not.
    holders[0].socket.write(partialFrame(2 * MiB, 1.5 * MiB));
    holders[1].socket.write(partialFrame(2 * MiB, 1.5 * MiB));
    await until(() => stats().requestBufferBytes === 2 * (1.5 * MiB - 64 * KiB), 5000, 'two partial frames to be charged');
    holders[2].socket.write(partialFrame(2 * MiB, 1.5 * MiB));
    await holders[2].closed;
    const line = srv.lines('p11 connection dropped').at(-1)!;
    assert.equal(line.reason, 'request buffer budget exhausted');
    assert.equal(line.level, 'warn');
    assert.equal(line.budget, 4 * MiB);
    // Ordinary calls fit in every connection's allowance, even with the budget nearly spent.
    const fresh = await RawClient.connect(srv.socketPath);
    await fresh.initialize();
    assert.equal((await fresh.ok('C_GetSlotList', 'yfu', Buffer.from([1]), u32(4))).readByte(), 1);
    fresh.close();
    holders[0].close();
    holders[1].close();
    await until(() => stats().requestBufferBytes === 0, 5000, 'the budget to be returned');
  });

  async function digestSession(c: RawClient): Promise<number> {
    const s = await c.openSession();
    await c.ok('C_DigestInit', 'uM', u64(s), mechNoParam(CKM.SHA256));
    return s;
  }
  const update = (c: RawClient, s: number, data: Buffer) => c.call('C_DigestUpdate', 'uay', u64(s), ayData(data));

  test('multi-part input beyond the budget is CKR_DEVICE_MEMORY and ends that operation; a digest that fits is right', async () => {
    const c = await RawClient.connect(srv.socketPath);
    await c.initialize();
    const a = await digestSession(c);
    const b = await digestSession(c);
    const partA = crypto.randomBytes(600 * KiB);
    assert.equal((await update(c, a, partA)).callId, 39);
    assert.equal(stats().multipartBytes, 600 * KiB);
    assert.equal((await update(c, b, crypto.randomBytes(300 * KiB))).callId, 39);
    assert.equal(stats().multipartBytes, 900 * KiB);
    // B's next part does not fit: refused, B's operation ends and its 300 KiB go back.
    assert.equal((await update(c, b, crypto.randomBytes(300 * KiB))).rv, CKR.DEVICE_MEMORY);
    assert.equal(stats().multipartBytes, 600 * KiB);
    assert.equal((await update(c, b, Buffer.alloc(1))).rv, CKR.OPERATION_NOT_INITIALIZED);
    // A is unharmed, and its final releases its input.
    const partA2 = crypto.randomBytes(100 * KiB);
    assert.equal((await update(c, a, partA2)).callId, 39);
    const r = await c.ok('C_DigestFinal', 'ufy', u64(a), fy(32));
    assert.equal(r.readByte(), 1);
    assert.deepEqual(r.readByteArray(), crypto.createHash('sha256').update(partA).update(partA2).digest());
    assert.equal(stats().multipartBytes, 0);
    c.close();
  });

  test('multi-part input goes back to the budget on C_CloseSession, C_Logout, a replacing single-part call and connection close', async () => {
    const c = await RawClient.connect(srv.socketPath);
    await c.initialize();
    // C_CloseSession
    const s1 = await digestSession(c);
    await update(c, s1, Buffer.alloc(200 * KiB));
    assert.equal(stats().multipartBytes, 200 * KiB);
    await c.ok('C_CloseSession', 'u', u64(s1));
    assert.equal(stats().multipartBytes, 0);
    // C_Logout ends the operations of every session (session.ts)
    const s2 = await digestSession(c);
    assert.equal((await c.login(s2, srv.pin)).callId, 18);
    await update(c, s2, Buffer.alloc(200 * KiB));
    assert.equal(stats().multipartBytes, 200 * KiB);
    await c.ok('C_Logout', 'u', u64(s2));
    assert.equal(stats().multipartBytes, 0);
    // A single-part C_Digest on an operation that had gathered parts ends it
    await c.ok('C_DigestInit', 'uM', u64(s2), mechNoParam(CKM.SHA256));
    await update(c, s2, Buffer.alloc(100 * KiB));
    await c.call('C_Digest', 'uayfy', u64(s2), ayData(Buffer.from('x')), fy(32));
    assert.equal(stats().multipartBytes, 0);
    // Connection close (the client vanishes mid-operation)
    const s3 = await digestSession(c);
    await update(c, s3, Buffer.alloc(300 * KiB));
    assert.equal(stats().multipartBytes, 300 * KiB);
    c.close();
    await until(() => stats().multipartBytes === 0 && stats().sessions === 0, 5000, 'the closed connection to release its input');
  });

  test('a too-large single frame is still refused after C_Initialize by the per-frame cap', async () => {
    const c = await RawClient.connect(srv.socketPath);
    await c.initialize();
    c.socket.write(cat(u32(5), u32(0), u32(0x7fffffff)));
    await c.closed;
    assert.match(String(srv.lines('p11 connection dropped').at(-1)!.reason), /exceeds cap/);
  });
});
