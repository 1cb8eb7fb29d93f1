// Hostile clients against the real server over real sockets: mutated captured requests in
// well-formed frames must each get an answer; random byte streams and absurd frame lengths may
// only get answers or a closed connection. Meanwhile a well-behaved connection keeps working
// and the process survives (the server runs in this test process). Seeded and replayable.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { FrameDecoder } from '../../../src/protocol/p11rpc';
import { devServer, TestServer } from '../../helpers/harness';
import { CAPTURED_EXCHANGES } from '../../fixtures/p11kit-rpc/capture-frames';
import { cat, fromHex, frame, Rng, u32, u64, u8 } from '../../protocol/p11rpc/wire';
import { RawClient } from './raw-client';

const SEED = Number(process.env.FUZZ_SEED ?? 0x1a2b3c);
let srv: TestServer;
let socketPath: string;
let pin: string;
let healthy: RawClient;
let healthySession: number;

const requests = CAPTURED_EXCHANGES.filter((e) => e.request).map((e) => new FrameDecoder({ handshake: false }).push(fromHex(e.request!))[0].body);

function mutate(rng: Rng, b: Buffer): Buffer {
  const out = Buffer.from(b);
  switch (rng.int(5)) {
    case 0: return out.subarray(0, rng.int(out.length + 1));
    case 1: for (let i = 0; i < 1 + rng.int(4); i++) out[rng.int(out.length)] ^= 1 << rng.int(8); return out;
    case 2: { const at = rng.int(Math.max(1, out.length - 3)); out.writeUInt32BE([0xffffffff, 0x7fffffff, 0x10000, 0][rng.int(4)], Math.min(at, Math.max(0, out.length - 4))); return out; }
    case 3: return cat(out, rng.bytes(1 + rng.int(16)));
    default: return cat(out.subarray(0, 4), rng.bytes(rng.int(64)));
  }
}

async function expectHealthy(): Promise<void> {
  const r = await healthy.ok('C_GenerateRandom', 'ufy', u64(healthySession), u32(8));
  assert.equal(r.readByte(), 1);
  assert.equal(r.readByteArray()!.length, 8);
}

before(async () => {
  srv = await devServer();
  socketPath = decodeURIComponent(srv.p11Address.slice('unix:path='.length));
  pin = `${srv.credentials!.user.username}:${srv.credentials!.user.password}`;
  healthy = await RawClient.connect(socketPath);
  await healthy.initialize();
  healthySession = await healthy.openSession();
  await healthy.login(healthySession, pin);
});
after(async () => { healthy.close(); await srv.close(); });

test('every mutated request in a well-formed frame is answered, by its code', { timeout: 120_000 }, async () => {
  const rng = new Rng(SEED);
  const c = await RawClient.connect(socketPath);
  await c.initialize();
  const s = await c.openSession();
  await c.login(s, pin);
  for (let round = 0; round < 10; round++) {
    const batch = Array.from({ length: 40 }, () => mutate(rng, requests[rng.int(requests.length)]));
    let timer: NodeJS.Timeout | undefined;
    const answers = await Promise.race([
      Promise.all(batch.map((b) => c.send(b))),
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`round ${round} (seed ${SEED}) left requests unanswered`)), 20_000); }),
    ]).finally(() => clearTimeout(timer));
    assert.equal(answers.length, batch.length);
    await expectHealthy();
  }
  c.close();
});

test('random byte streams get answers or a closed connection, never a crash or a stuck server', { timeout: 60_000 }, async () => {
  const rng = new Rng(SEED + 1);
  await Promise.all(Array.from({ length: 30 }, async () => {
    const sock = net.connect(socketPath);
    sock.on('error', () => undefined);
    // A refused connect (backlog full on a busy machine) is an outcome too, not a reason to wait forever.
    const connected = await new Promise<boolean>((resolve) => { sock.once('connect', () => resolve(true)); sock.once('error', () => resolve(false)); });
    if (!connected) return;
    const header = () => cat(u32(rng.int(2 ** 30)), u32(rng.int(3) ? rng.int(16) : rng.int(2 ** 31)), u32(rng.int(3) ? rng.int(256) : rng.int(2 ** 31)));
    const chunks = [u8(rng.int(3)), ...Array.from({ length: 1 + rng.int(6) }, () => rng.int(2) ? header() : rng.bytes(rng.int(300)))];
    for (const ch of chunks) sock.write(ch);
    await new Promise<void>((resolve) => { sock.once('close', () => resolve()); setTimeout(() => { sock.destroy(); resolve(); }, 300); });
  }));
  await expectHealthy();
});

test('absurd lengths close only their own connection', { timeout: 60_000 }, async () => {
  for (const [opts, bodyLen] of [[0, 0xffffffff], [0xffffffff, 0], [5000, 10], [0, 0x7ffffff0]]) {
    const c = await RawClient.connect(socketPath);
    c.socket.write(cat(u32(16), u32(opts), u32(bodyLen)));
    await c.closed;
  }
  const eofMidFrame = await RawClient.connect(socketPath);
  eofMidFrame.socket.end(frame(16, cat(u32(2), u32(0))).subarray(0, 15));
  await eofMidFrame.closed;
  await expectHealthy();
});
