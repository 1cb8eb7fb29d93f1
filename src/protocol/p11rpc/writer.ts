// Growable big-endian writer, the mirror of reader.ts (docs/p11kit-rpc.md §5). Values the wire
// cannot carry (negative, non-integer, ≥ 2^64, byte strings ≥ 0x7fffffff) raise a
// ProtocolError of kind 'encode': they are server bugs and must never reach a client.
import { ProtocolError } from './protocol-error';
import { NULL_BYTE_ARRAY } from './reader';

const MAX_WIRE_BYTE_ARRAY = 0x7ffffffe;
const U64_LIMIT = 1n << 64n;

export class Writer {
  private buf: Buffer;
  private pos = 0;

  /** `reserve` bytes are left at the start (a frame header the caller fills in afterwards). */
  constructor(initialSize = 256, reserve = 0) {
    this.buf = Buffer.alloc(Math.max(16, initialSize, reserve));
    this.pos = reserve;
  }

  get length(): number { return this.pos; }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  writeByte(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xff) throw new ProtocolError('encode', `byte ${v} out of range`);
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  writeUint32(v: number): this {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new ProtocolError('encode', `uint32 ${v} out of range`);
    }
    this.ensure(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }

  /** §5.2 `u`: 8 bytes big-endian. Accepts numbers (safe integers) and bigints below 2^64. */
  writeUint64(v: number | bigint): this {
    let big: bigint;
    if (typeof v === 'bigint') {
      big = v;
    } else {
      if (!Number.isSafeInteger(v)) throw new ProtocolError('encode', `ulong ${v} is not a safe integer`);
      if (v < 0) throw new ProtocolError('encode', `ulong ${v} out of range`);
      // A safe integer is below 2^53: two 32-bit halves, no BigInt allocated.
      this.ensure(8);
      this.buf.writeUInt32BE(Math.floor(v / 0x100000000), this.pos);
      this.buf.writeUInt32BE(v % 0x100000000, this.pos + 4);
      this.pos += 8;
      return this;
    }
    if (big < 0n || big >= U64_LIMIT) throw new ProtocolError('encode', `ulong ${v} out of range`);
    this.ensure(8);
    this.buf.writeBigUInt64BE(big, this.pos);
    this.pos += 8;
    return this;
  }

  /** Same as writeUint64: the name says it carries a CK_ULONG. */
  writeUlong(v: number | bigint): this {
    return this.writeUint64(v);
  }

  writeBytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  /** §5.3 byte string; null writes the NULL marker 0xffffffff. */
  writeByteArray(b: Uint8Array | null): this {
    if (b === null) return this.writeUint32(NULL_BYTE_ARRAY);
    if (b.length > MAX_WIRE_BYTE_ARRAY) throw new ProtocolError('encode', `byte array of ${b.length} bytes`);
    this.writeUint32(b.length);
    return this.writeBytes(b);
  }

  /** A byte string from text (UTF-8). */
  writeString(s: string): this {
    return this.writeByteArray(Buffer.from(s, 'utf8'));
  }

  /** The bytes written so far (a view; the writer should not be used afterwards). */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
