// Framing (docs/p11kit-rpc.md §3, §4): the version byte, 12-byte headers, frames split at every
// byte boundary, pipelined frames in one chunk, and the size cap enforced from the header.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  FrameDecoder, encodeFrame, negotiateVersion, versionReply, type Frame,
} from '../../../src/protocol/p11rpc/framing';
import { ProtocolError } from '../../../src/protocol/p11rpc/protocol-error';
import { CAPTURED_EXCHANGES, CAPTURED_STREAMS } from '../../fixtures/p11kit-rpc/capture-frames';
import { body, bstr, cat, frame, fromHex, u32, u8 } from './wire';

const sample = [
  frame(0x10, body(1, 'ayyay', u8(1), bstr('PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1'), u8(0), u8(1), bstr('\0')), 'client'),
  frame(0x11, body(3, ''), 'client'),
  frame(0x12, Buffer.alloc(0), ''),
  frame(0x13, body(2, ''), 'client'),
];
const stream = cat(u8(0), ...sample);

function collect(dec: FrameDecoder, chunks: Buffer[]): Frame[] {
  return chunks.flatMap((c) => dec.push(c));
}

function assertSample(frames: Frame[]): void {
  assert.equal(frames.length, sample.length);
  frames.forEach((f, i) => assert.deepEqual(encodeFrame(f.code, f.body, f.options), sample[i]));
}

test('a stream split at every single byte boundary decodes the same frames', () => {
  for (let cut = 0; cut <= stream.length; cut++) {
    const dec = new FrameDecoder();
    const frames = collect(dec, [stream.subarray(0, cut), stream.subarray(cut)]);
    assertSample(frames);
    assert.equal(dec.clientVersion, 0);
    assert.equal(dec.bufferedBytes, 0);
    dec.end();
  }
});

test('a stream fed one byte at a time, and all at once', () => {
  const bytes = [...stream].map((b) => Buffer.from([b]));
  assertSample(collect(new FrameDecoder(), bytes));
  assertSample(collect(new FrameDecoder(), [stream]));
});

test('the version byte is reported once and answered with 0x00 (§3)', () => {
  const dec = new FrameDecoder();
  assert.equal(dec.takeClientVersion(), undefined);
  assert.deepEqual(dec.push(u8(1)), []);
  assert.equal(dec.takeClientVersion(), 1);
  assert.equal(dec.takeClientVersion(), undefined);
  assert.deepEqual(versionReply(1), Buffer.from([0]));
  assert.equal(negotiateVersion(0), 0);
  assert.equal(negotiateVersion(2), 0);
});

test('without handshake the first byte is already a header', () => {
  const dec = new FrameDecoder({ handshake: false });
  assertSample(collect(dec, [cat(...sample)]));
  assert.equal(dec.clientVersion, null);
});

test('encodeFrame matches the builder and writes no options for responses', () => {
  const b = body(0, 'u', fromHex('00000000000000a0'));
  assert.deepEqual(encodeFrame(0x16, b), frame(0x16, b));
  assert.deepEqual(encodeFrame(0x16, b, Buffer.from('client')), frame(0x16, b, 'client'));
});

test('an oversized frame is refused from its header, before buffering the body', () => {
  const dec = new FrameDecoder();
  const header = cat(u8(0), u32(0x10), u32(0), u32(0xfffffff0));
  assert.throws(() => dec.push(header), (e: unknown) => e instanceof ProtocolError && e.kind === 'frame');
  assert.equal(dec.bufferedBytes, 0);
  // The stream is out of sync from now on: every later push fails the same way.
  assert.throws(() => dec.push(Buffer.alloc(1)), ProtocolError);
});

test('the frame cap is configurable and counts header + options + body', () => {
  const f = frame(1, Buffer.alloc(20), 'client'); // 12 + 6 + 20 = 38 bytes
  assert.equal(new FrameDecoder({ handshake: false, maxFrameSize: 38 }).push(f).length, 1);
  assert.throws(() => new FrameDecoder({ handshake: false, maxFrameSize: 37 }).push(f), ProtocolError);
  assert.throws(() => new FrameDecoder({ handshake: false, maxOptionsLength: 5 }).push(f), ProtocolError);
});

test('EOF inside a frame is a transport error; EOF at a boundary is not (§11.2)', () => {
  const dec = new FrameDecoder();
  dec.push(stream.subarray(0, 10));
  assert.throws(() => dec.end(), (e: unknown) => e instanceof ProtocolError && e.kind === 'frame');
  const clean = new FrameDecoder();
  clean.push(stream);
  clean.end();
  new FrameDecoder().end();
});

test('zero-length options and bodies are legal frames', () => {
  const [f] = new FrameDecoder({ handshake: false }).push(frame(7, Buffer.alloc(0)));
  assert.equal(f.code, 7);
  assert.equal(f.options.length, 0);
  assert.equal(f.body.length, 0);
});

for (const s of CAPTURED_STREAMS) {
  test(`captured ${s.source}: the relay's real chunks and every split point give the dumped frames`, () => {
    const chunks = s.clientChunks.map(fromHex);
    const whole = cat(...chunks);
    const expected = collect(new FrameDecoder(), chunks).map((f) => encodeFrame(f.code, f.body, f.options));
    assert.ok(expected.length > 0);
    assert.deepEqual(cat(u8(0), ...expected), whole);
    for (let cut = 0; cut <= whole.length; cut++) {
      const got = collect(new FrameDecoder(), [whole.subarray(0, cut), whole.subarray(cut)]);
      assert.deepEqual(got.map((f) => encodeFrame(f.code, f.body, f.options)), expected);
    }
    // The server stream has the same shape: its version byte, then frames without options.
    const responses = collect(new FrameDecoder(), s.serverChunks.map(fromHex));
    assert.equal(responses.length, expected.length);
    responses.forEach((r) => assert.equal(r.options.length, 0));
  });
}

test('pipelined captured requests in one chunk come out in order', () => {
  const reqs = CAPTURED_EXCHANGES.flatMap((e) => (e.request ? [fromHex(e.request)] : []));
  const frames = new FrameDecoder({ handshake: false }).push(cat(...reqs));
  assert.deepEqual(frames.map((f) => encodeFrame(f.code, f.body, f.options)), reqs);
  assert.ok(frames.every((f) => f.options.toString() === 'client' || f.options.toString() === 'minisock'));
});
