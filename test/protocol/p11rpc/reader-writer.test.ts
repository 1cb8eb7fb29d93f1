// Bounded reader and growable writer (docs/p11kit-rpc.md §5.2, §5.3): expected bytes come from
// the independent builder in wire.ts; every length is refused before it is trusted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ProtocolError, Reader } from '../../../src/protocol/p11rpc/reader';
import { Writer } from '../../../src/protocol/p11rpc/writer';
import { bstr, cat, u32, u64, u8 } from './wire';

function throwsProtocol(fn: () => unknown, kind?: string): void {
  assert.throws(fn, (err: unknown) => err instanceof ProtocolError && (kind === undefined || err.kind === kind));
}

test('reader decodes the primitive forms of §5.2', () => {
  const r = new Reader(cat(u8(7), u32(0xdeadbeef), u64(0x1122334455667788n), u64(0x11), bstr('abc'), bstr(null)));
  assert.equal(r.readByte(), 7);
  assert.equal(r.readUint32(), 0xdeadbeef);
  assert.equal(r.readUint64(), 0x1122334455667788n);
  assert.equal(r.readUlong(), 0x11);
  assert.deepEqual(r.readByteArray(), Buffer.from('abc'));
  assert.equal(r.readByteArray(), null);
  assert.equal(r.remaining, 0);
  r.expectEnd();
});

test('readUlong accepts 2^53 - 1 and refuses anything above', () => {
  assert.equal(new Reader(u64(Number.MAX_SAFE_INTEGER)).readUlong(), Number.MAX_SAFE_INTEGER);
  throwsProtocol(() => new Reader(u64(2n ** 53n)).readUlong(), 'malformed');
  throwsProtocol(() => new Reader(u64(0xffffffffffffffffn)).readUlong(), 'malformed');
  // The bigint form still carries the full range (CK_UNAVAILABLE_INFORMATION).
  assert.equal(new Reader(u64(0xffffffffffffffffn)).readUint64(), 0xffffffffffffffffn);
});

test('every read past the end is a ProtocolError, never a RangeError', () => {
  throwsProtocol(() => new Reader(Buffer.alloc(0)).readByte(), 'truncated');
  throwsProtocol(() => new Reader(Buffer.alloc(3)).readUint32(), 'truncated');
  throwsProtocol(() => new Reader(Buffer.alloc(7)).readUint64(), 'truncated');
  throwsProtocol(() => new Reader(Buffer.alloc(7)).readUlong(), 'truncated');
  throwsProtocol(() => new Reader(cat(u32(5), Buffer.from('abcd'))).readByteArray(), 'truncated');
  throwsProtocol(() => new Reader(Buffer.alloc(2)).readBytes(3), 'truncated');
});

test('byte-string lengths are checked before any allocation (§5.3)', () => {
  // 0xfffffff0 would be a 4 GiB allocation if trusted; ≥ 0x7fffffff is invalid outright.
  throwsProtocol(() => new Reader(u32(0xfffffff0)).readByteArray(), 'malformed');
  throwsProtocol(() => new Reader(u32(0x7fffffff)).readByteArray(), 'malformed');
  throwsProtocol(() => new Reader(cat(u32(100), Buffer.alloc(100))).readByteArray('x', 99), 'limit');
  const capped = new Reader(cat(u32(10), Buffer.alloc(10)), { maxByteArrayLength: 9 });
  throwsProtocol(() => capped.readByteArray(), 'limit');
  throwsProtocol(() => new Reader(u32(0x7ffffffe)).readByteArray(), 'limit');
});

test('counts are checked against the cap and the remaining bytes', () => {
  throwsProtocol(() => new Reader(u32(5000)).readCount(1), 'limit');
  throwsProtocol(() => new Reader(cat(u32(3), Buffer.alloc(23))).readCount(8), 'truncated');
  assert.equal(new Reader(cat(u32(3), Buffer.alloc(24))).readCount(8), 3);
  throwsProtocol(() => new Reader(cat(u32(2), Buffer.alloc(100)), { maxArrayCount: 1 }).readCount(1), 'limit');
});

test('readString is byte-exact and honours its own cap', () => {
  assert.equal(new Reader(bstr(Buffer.from([0x61, 0xff]))).readString(), 'a\u00ff');
  assert.equal(new Reader(bstr(null)).readString(), null);
  throwsProtocol(() => new Reader(bstr('x'.repeat(65))).readString('signature', 64), 'limit');
});

test('expectEnd refuses trailing bytes', () => {
  const r = new Reader(Buffer.from([1, 2]));
  r.readByte();
  throwsProtocol(() => r.expectEnd(), 'trailing-bytes');
});

test('byte arrays are views into the body, not copies', () => {
  const src = cat(u32(3), Buffer.from('xyz'));
  const v = new Reader(src).readByteArray();
  assert.ok(v !== null);
  src[4] = 0x41;
  assert.equal(v.toString(), 'Ayz');
});

test('writer produces the bytes of the independent builder', () => {
  const w = new Writer(16);
  w.writeByte(1).writeUint32(0x01020304).writeUint64(0xffffffffffffffffn).writeUlong(0x11);
  w.writeByteArray(Buffer.from('hello')).writeByteArray(null).writeString('é');
  const expected = cat(u8(1), u32(0x01020304), u64(0xffffffffffffffffn), u64(0x11), bstr('hello'), bstr(null),
    bstr(Buffer.from('é', 'utf8')));
  assert.deepEqual(w.finish(), expected);
});

test('writer grows past its initial size', () => {
  const w = new Writer(16);
  const big = Buffer.alloc(100_000, 0xab);
  w.writeByteArray(big).writeByte(2);
  assert.deepEqual(w.finish(), cat(bstr(big), u8(2)));
});

test('writer refuses values the wire cannot carry', () => {
  const w = new Writer();
  throwsProtocol(() => w.writeByte(256), 'encode');
  throwsProtocol(() => w.writeByte(-1), 'encode');
  throwsProtocol(() => w.writeUint32(2 ** 32), 'encode');
  throwsProtocol(() => w.writeUint32(1.5), 'encode');
  throwsProtocol(() => w.writeUint64(-1), 'encode');
  throwsProtocol(() => w.writeUint64(2n ** 64n), 'encode');
  throwsProtocol(() => w.writeUint64(2 ** 60), 'encode');
  assert.equal(w.length, 0);
});

test('a CK_ULONG given as a number is written as the same 8 bytes as its bigint, across the safe range', () => {
  const values = [0, 1, 0xff, 0xffffffff, 0x100000000, 0x1234567890, 2 ** 52 + 3, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 200; i++) values.push(Math.floor(Math.random() * Number.MAX_SAFE_INTEGER));
  for (const v of values) {
    assert.deepEqual(new Writer().writeUint64(v).finish(), u64(v), `ulong ${v}`);
    assert.deepEqual(new Writer().writeUint64(v).finish(), new Writer().writeUint64(BigInt(v)).finish());
  }
});

test('a writer that reserves room for a header writes after it', () => {
  const out = new Writer(16, 12).writeUint32(7).finish();
  assert.equal(out.length, 16);
  assert.deepEqual(out.subarray(12), u32(7));
});
