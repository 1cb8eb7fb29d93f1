// The failover relay of `inkan p11-stdio --server` (src/protocol/p11-failover/relay.ts) against two
// scripted fake nodes on unix sockets, with request and answer bytes built by the independent
// test builder (test/protocol/p11rpc/wire.ts). The first node dies while a C_Sign is in flight; the
// second must see, in order, the application's C_Initialize, a reopened session, the login with
// the PIN, the C_SignInit with its session handle mapped, then the C_Sign once more. A session
// object's alias is refused without asking the node, and a key generation in flight at the next
// death is answered CKR_DEVICE_REMOVED and never sent again.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { FailoverRelay } from '../../../src/protocol/p11-failover/relay';
import { parseAddresses } from '../../../src/protocol/p11-failover/upstream';
import { attrArray, attrUlong, ayData, ayLength, body, bstr, cat, frame, mechNoParam, u32, u64, u8 } from '../p11rpc/wire';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-relay-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Seen { call: number; body: Buffer }
type Script = (seen: Seen, conn: net.Socket) => Buffer | 'die';

/** A node that answers the version byte and each request frame with `script`'s body. */
function fakeNode(name: string, script: Script): { path: string; seen: Seen[]; close(): Promise<void> } {
  const file = path.join(dir, `${name}.sock`);
  const seen: Seen[] = [];
  const conns = new Set<net.Socket>();
  const server = net.createServer((c) => {
    conns.add(c);
    c.on('close', () => conns.delete(c));
    c.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let versioned = false;
    c.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!versioned && buf.length >= 1) { versioned = true; buf = buf.subarray(1); c.write(Buffer.from([0])); }
      while (buf.length >= 12) {
        const code = buf.readUInt32BE(0);
        const total = 12 + buf.readUInt32BE(4) + buf.readUInt32BE(8);
        if (buf.length < total) return;
        const b = Buffer.from(buf.subarray(12 + buf.readUInt32BE(4), total));
        buf = buf.subarray(total);
        const s = { call: b.readUInt32BE(0), body: b };
        seen.push(s);
        const answer = script(s, c);
        if (answer === 'die') { c.destroy(); return; }
        c.write(frame(code, answer));
      }
    });
  });
  server.listen(file);
  return { path: file, seen, close: () => new Promise((r) => { for (const c of conns) c.destroy(); server.close(() => r()); }) };
}

const C = { Initialize: 1, OpenSession: 10, Login: 18, CreateObject: 20, GetAttributeValue: 24, SignInit: 42, Sign: 43, GenerateKeyPair: 59 };
const ok = (call: number) => body(call, '');
const handshake = ayData('PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1\0');
const TOKEN_KEY = 0x80001234;
/** The u64 right after the call id and the signature: a session-level request's session handle. */
const sessionArg = (b: Buffer) => Number(b.readBigUInt64BE(8 + b.readUInt32BE(4)));

test('the relay replays initialize, session, login and sign-init on the next node and retries the sign in flight once', async () => {
  let aAlive = true;
  const a = fakeNode('a', ({ call }) => {
    if (!aAlive) return body(0, 'u', u64(0x30));
    if (call === C.OpenSession) return body(call, 'u', u64(0x11));
    if (call === C.CreateObject) return body(call, 'u', u64(5));
    if (call === C.Sign) { aAlive = false; return 'die'; }
    if (call === C.GenerateKeyPair) return body(call, 'uu', u64(TOKEN_KEY + 1), u64(TOKEN_KEY + 2));
    return ok(call);
  });
  let bDies = false;
  const b = fakeNode('b', ({ call }) => {
    if (call === C.OpenSession) return body(call, 'u', u64(0x22));
    if (call === C.Sign) return body(call, 'ay', ayData('signature'));
    if (call === C.GenerateKeyPair) { bDies = true; return 'die'; }
    return ok(call);
  });
  const out: Buffer[] = [];
  const relay = new FailoverRelay(parseAddresses(`unix:${a.path},unix:${b.path}`),
    { connectTimeoutMs: 2000, requestTimeoutMs: 5000, failoverTimeoutMs: 5000, log: () => undefined, tls: {} }, (f) => out.push(f));
  const answers = new Map<number, Buffer>();
  const answer = async (code: number) => {
    const end = Date.now() + 5000;
    for (;;) {
      for (const f of out.splice(0)) {
        if (f.length === 1) continue;
        answers.set(f.readUInt32BE(0), f.subarray(12 + f.readUInt32BE(4)));
      }
      if (answers.has(code)) return answers.get(code)!;
      if (Date.now() > end) throw new Error(`no answer to ${code}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  };
  try {
    await relay.start();
    relay.receive(cat(u8(0), frame(16, body(C.Initialize, 'ayyay', handshake, u8(0), ayLength(0)), 'client')));
    assert.deepEqual(await answer(16), ok(C.Initialize));
    relay.receive(frame(17, body(C.OpenSession, 'uu', u64(1), u64(6)), 'client'));
    const opened = await answer(17);
    const session = Number(opened.readBigUInt64BE(8 + 1));
    assert.equal(session, 1, 'the application sees the relay\'s own session handle');
    relay.receive(frame(18, body(C.Login, 'uuay', u64(session), u64(1), ayData('user:secret')), 'client'));
    assert.deepEqual(await answer(18), ok(C.Login));
    relay.receive(frame(19, body(C.CreateObject, 'uaA', u64(session), attrArray(attrUlong(0, 0))), 'client'));
    const alias = Number((await answer(19)).readBigUInt64BE(8 + 1));
    relay.receive(frame(20, body(C.SignInit, 'uMu', u64(session), mechNoParam(0x40), u64(TOKEN_KEY)), 'client'));
    assert.deepEqual(await answer(20), ok(C.SignInit));
    assert.equal(sessionArg(a.seen.at(-1)!.body), 0x11, 'node A saw its own session handle');
    // C_Sign is in flight when node A dies.
    relay.receive(frame(21, body(C.Sign, 'uayfy', u64(session), ayData('message'), u32(256)), 'client'));
    assert.deepEqual(await answer(21), body(C.Sign, 'ay', ayData('signature')));
    assert.deepEqual(b.seen.map((s) => s.call), [C.Initialize, C.OpenSession, C.Login, C.SignInit, C.Sign]);
    assert.deepEqual(b.seen[0].body, body(C.Initialize, 'ayyay', handshake, u8(0), ayLength(0)), 'the application\'s own C_Initialize');
    assert.deepEqual(b.seen[1].body, body(C.OpenSession, 'uu', u64(1), u64(6)));
    assert.deepEqual(b.seen[2].body, body(C.Login, 'uuay', u64(0x22), u64(1), cat(u8(1), bstr('user:secret'))));
    assert.deepEqual(b.seen[3].body, body(C.SignInit, 'uMu', u64(0x22), mechNoParam(0x40), u64(TOKEN_KEY)), 'token handle unchanged, session mapped');
    assert.equal(sessionArg(b.seen[4].body), 0x22);
    assert.equal(relay.current?.text, `unix:${b.path}`);

    // The session object lived on node A only: answered by the relay, node B never asked.
    const before = b.seen.length;
    relay.receive(frame(22, body(C.GetAttributeValue, 'uufA', u64(session), u64(alias), cat(u32(1), u32(3), u32(0))), 'client'));
    assert.deepEqual(await answer(22), body(0, 'u', u64(0x82)), 'CKR_OBJECT_HANDLE_INVALID');
    assert.equal(b.seen.length, before);

    // A key generation in flight when node B dies may have committed: CKR_DEVICE_REMOVED, not sent again.
    aAlive = true;
    relay.receive(frame(23, body(C.GenerateKeyPair, 'uMaAaA', u64(session), mechNoParam(0x1040), attrArray(), attrArray()), 'client'));
    assert.deepEqual(await answer(23), body(0, 'u', u64(0x32)), 'CKR_DEVICE_REMOVED');
    assert.ok(bDies);
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(!a.seen.slice(6).some((s) => s.call === C.GenerateKeyPair), 'the key generation was not sent to node A');
    assert.deepEqual(a.seen.slice(6).map((s) => s.call), [C.Initialize, C.OpenSession, C.Login], 'back on node A: initialize, session, login (the sign-init was used up)');
  } finally {
    relay.close();
    await a.close();
    await b.close();
  }
});

test('node addresses: unix: and tcp+tls:, anything else refused', () => {
  assert.deepEqual(parseAddresses('unix:/run/a.sock,tcp+tls:10.0.0.2:7290,tcp+tls:[::1]:7291').map((n) => n.kind), ['unix', 'tls', 'tls']);
  assert.throws(() => parseAddresses('tcp:10.0.0.2:7290'), /unix:PATH or tcp\+tls:HOST:PORT/);
  assert.throws(() => parseAddresses('tcp+tls:host:99999'), /unix:PATH or tcp\+tls/);
  assert.throws(() => parseAddresses(''), /no node address/);
});
