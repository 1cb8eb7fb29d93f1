// Hostile input: random frames, random bodies and mutations/truncations of the captured
// requests. The only allowed outcomes are a decoded message or a ProtocolError — never
// another exception, never an allocation sized by an unchecked length. Seeded, so a
// failure can be replayed; the whole file runs in well under a second or two.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALLS, type SigToken } from '../../../src/protocol/p11rpc/calls';
import { FrameDecoder } from '../../../src/protocol/p11rpc/framing';
import { decodeRequest } from '../../../src/protocol/p11rpc/message';
import { ProtocolError } from '../../../src/protocol/p11rpc/protocol-error';
import { CAPTURED_EXCHANGES } from '../../fixtures/p11kit-rpc/capture-frames';
import {
  Rng, attrArray, attrByte, attrBytes, attrInvalid, attrMechs, attrUlong, ayData, ayLength, body, bstr, cat, fromHex,
  u32, u64, u8,
} from './wire';

const POISON = [0xfffffff0, 0xffffffff, 0x7fffffff, 0x80000000, 0x00ffffff, 0, 1];

/** Runs fn; it may return or throw a ProtocolError, nothing else. */
function survive(fn: () => unknown, context: string): boolean {
  try {
    fn();
    return true;
  } catch (e) {
    if (e instanceof ProtocolError) return false;
    assert.fail(`${context}: ${e instanceof Error ? e.stack : String(e)}`);
  }
}

const capturedBodies = CAPTURED_EXCHANGES.filter((e) => e.request).map((e) => {
  const [f] = new FrameDecoder({ handshake: false }).push(fromHex(e.request!));
  return { source: e.source, body: f.body };
});

test('every truncation of a captured request is a ProtocolError', () => {
  for (const { source, body: b } of capturedBodies) {
    for (let n = 0; n < b.length; n++) {
      assert.equal(survive(() => decodeRequest(b.subarray(0, n)), `${source} cut at ${n}`), false, `${source} @${n}`);
    }
    const extended = cat(b, u8(0));
    assert.throws(() => decodeRequest(extended), (e: unknown) => e instanceof ProtocolError && e.kind === 'trailing-bytes');
  }
});

test('poisoned 32-bit fields at every offset of every captured request', () => {
  for (const { source, body: b } of capturedBodies) {
    for (let off = 0; off + 4 <= b.length; off++) {
      for (const p of POISON) {
        const m = Buffer.from(b);
        m.writeUInt32BE(p, off);
        survive(() => decodeRequest(m), `${source} poison ${p.toString(16)} @${off}`);
      }
    }
  }
});

test('random byte flips in captured requests', () => {
  const rng = new Rng(0x5eed);
  for (let i = 0; i < 20_000; i++) {
    const { source, body: b } = rng.pick(capturedBodies);
    const m = Buffer.from(b);
    for (let k = 1 + rng.int(4); k > 0; k--) m[rng.int(m.length)] = rng.int(256);
    survive(() => decodeRequest(m), `${source} flip #${i}`);
  }
});

test('random bodies behind a valid call id and signature', () => {
  const rng = new Rng(42);
  const calls = CALLS.filter((c) => c.request !== null);
  for (let i = 0; i < 20_000; i++) {
    const c = rng.pick(calls);
    const tail = rng.bytes(rng.int(64));
    if (rng.int(4) === 0 && tail.length >= 4) tail.writeUInt32BE(rng.pick(POISON), rng.int(tail.length - 3));
    survive(() => decodeRequest(body(c.id, c.request!, tail)), `random body #${i} for ${c.name}`);
  }
});

test('random frames through the frame decoder and on into the body decoder', () => {
  const rng = new Rng(7);
  for (let i = 0; i < 3_000; i++) {
    const parts: Buffer[] = [u8(0)];
    for (let k = rng.int(4); k >= 0; k--) {
      const bodyLen = rng.int(3) === 0 ? rng.pick(POISON) : rng.int(80);
      const optLen = rng.int(5) === 0 ? rng.pick(POISON) : rng.int(8);
      parts.push(u32(rng.int(2 ** 32)), u32(optLen), u32(bodyLen), rng.bytes(rng.int(120)));
    }
    const stream = cat(...parts);
    const dec = new FrameDecoder({ maxFrameSize: 4096 });
    let pos = 0;
    while (pos < stream.length) {
      const step = 1 + rng.int(40);
      const chunk = stream.subarray(pos, pos + step);
      pos += step;
      let ok = true;
      survive(() => {
        for (const f of dec.push(chunk)) survive(() => decodeRequest(f.body), `frame #${i} body`);
      }, `frame stream #${i}`) || (ok = false);
      assert.ok(dec.bufferedBytes <= 4096 + 40, 'decoder must not buffer past the frame cap');
      if (!ok) break;
    }
  }
});

// Random *valid* requests: every call, arguments built by the independent builder, and the
// decoded values checked against what was built.
type Gen = (rng: Rng) => [Buffer, unknown];

const ATTR_GENS: ((rng: Rng) => [Buffer, unknown])[] = [
  (r) => { const v = r.int(2); return [attrByte(0x1, v), { type: 1, kind: 'byte', length: 1, value: v }]; },
  (r) => { const v = r.int(2 ** 32); return [attrUlong(0x100, v), { type: 0x100, kind: 'ulong', length: 8, value: v }]; },
  (r) => { const b = r.bytes(r.int(20)); return [attrBytes(0x102, b), { type: 0x102, kind: 'bytes', length: b.length, value: b }]; },
  () => [attrBytes(0x111, null), { type: 0x111, kind: 'date', length: 0, value: null }],
  (r) => { const m = [r.int(4096), r.int(4096)]; return [attrMechs(0x40000600, m), { type: 0x40000600, kind: 'mechanisms', length: 16, value: m }]; },
  () => [attrInvalid(0x11), { type: 0x11, kind: 'unavailable' }],
];

const GENS: Partial<Record<SigToken, Gen>> = {
  y: (r) => { const v = r.int(256); return [u8(v), v]; },
  u: (r) => { const v = r.int(2) ? r.int(2 ** 32) : Math.floor(r.next() * Number.MAX_SAFE_INTEGER); return [u64(v), v]; },
  z: (r) => { const b = r.bytes(r.int(40)); return [bstr(b), b]; },
  ay: (r) => {
    const b = r.bytes(r.int(300));
    return r.int(5) === 0 ? [ayLength(0), null] : [ayData(b), b];
  },
  fy: (r) => { const c = r.int(1000); return [u32(c), { capacity: c, sizeQuery: c === 0 }]; },
  fu: (r) => { const c = r.int(1000); return [u32(c), { capacity: c, sizeQuery: c === 0 }]; },
  fA: (r) => {
    const items = Array.from({ length: r.int(5) }, () => ({ type: r.int(2 ** 32), length: r.int(300) }));
    return [cat(u32(items.length), ...items.flatMap((x) => [u32(x.type), u32(x.length)])), items];
  },
  aA: (r) => {
    const picked = Array.from({ length: r.int(6) }, () => r.pick(ATTR_GENS)(r));
    return [attrArray(...picked.map((p) => p[0])), picked.map((p) => p[1])];
  },
  M: (r) => {
    if (r.int(2)) return [cat(u32(0x1081), u32(0xffffffff)), { type: 0x1081, params: null }];
    const [h, g, s] = [r.int(1000), r.int(10), r.int(64)];
    return [cat(u32(0xd), u64(h), u64(g), u64(s)), { type: 0xd, params: { kind: 'rsa-pkcs-pss', hashAlg: h, mgf: g, sLen: s } }];
  },
};

test('random valid requests of every call decode to exactly what was built', () => {
  const rng = new Rng(2024);
  for (let i = 0; i < 3_000; i++) {
    const c = CALLS[1 + rng.int(CALLS.length - 1)];
    const built = c.requestTokens.map((t) => GENS[t]!(rng));
    const got = decodeRequest(body(c.id, c.request!, ...built.map((x) => x[0])));
    assert.deepEqual(got, { callId: c.id, name: c.name, args: built.map((x) => x[1]) }, `${c.name} #${i}`);
  }
});
