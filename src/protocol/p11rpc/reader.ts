// Bounded cursor over one message body (docs/p11kit-rpc.md §5): the only place that turns wire
// bytes into numbers and slices. The input is hostile, so every length and count is checked
// against the bytes that remain and against the caps below BEFORE anything is allocated.
//
// Representation: integers come back as JS numbers (u64 as bigint, or as a number via
// readUlong() which refuses values above 2^53 - 1); byte strings come back as Buffer views
// into the body (no copy) or null for the NULL marker 0xffffffff (§5.3). Copy what you keep.
import { ProtocolError } from './protocol-error';

export { ProtocolError } from './protocol-error';
export type { ProtocolErrorKind } from './protocol-error';

/** Caps on what one body may ask us to walk; all counts are checked before looping. */
export interface ReaderLimits {
  /** Longest byte string accepted (§5.3 forbids ≥ 0x7fffffff anyway). */
  readonly maxByteArrayLength: number;
  /** Most elements in one counted array (attributes, `fA` entries, ulongs, mechanisms). */
  readonly maxArrayCount: number;
}

export const DEFAULT_READER_LIMITS: ReaderLimits = Object.freeze({
  maxByteArrayLength: 16 * 1024 * 1024,
  maxArrayCount: 4096,
});

/** §5.3: length 0xffffffff encodes a NULL pointer; lengths ≥ 0x7fffffff are otherwise invalid. */
export const NULL_BYTE_ARRAY = 0xffffffff;
const MAX_WIRE_BYTE_ARRAY = 0x7ffffffe;
/** Largest high word of a u64 whose value still fits Number.MAX_SAFE_INTEGER (2^53 - 1). */
const MAX_SAFE_HIGH_WORD = 0x1fffff;

export class Reader {
  private pos = 0;
  readonly limits: ReaderLimits;

  constructor(private readonly buf: Buffer, limits: Partial<ReaderLimits> = {}) {
    this.limits = { ...DEFAULT_READER_LIMITS, ...limits };
  }

  get offset(): number { return this.pos; }
  get remaining(): number { return this.buf.length - this.pos; }

  /** Fails unless at least n more bytes exist; every read goes through here. */
  private need(n: number, what: string): void {
    if (n > this.buf.length - this.pos) {
      throw new ProtocolError('truncated', `${what} needs ${n} bytes at offset ${this.pos}, ${this.remaining} left`);
    }
  }

  readByte(what = 'byte'): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  readUint32(what = 'uint32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  /** §5.2 `u`: every CK_ULONG is 8 bytes big-endian on the wire, whatever the platform. */
  readUint64(what = 'uint64'): bigint {
    this.need(8, what);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  /** A CK_ULONG as a JS number; values above 2^53 - 1 cannot be represented and are refused. */
  readUlong(what = 'ulong'): number {
    this.need(8, what);
    const hi = this.buf.readUInt32BE(this.pos);
    const lo = this.buf.readUInt32BE(this.pos + 4);
    if (hi > MAX_SAFE_HIGH_WORD) {
      throw new ProtocolError('malformed', `${what} exceeds 2^53 - 1`);
    }
    this.pos += 8;
    return hi * 0x100000000 + lo;
  }

  /** n raw bytes as a view into the body. */
  readBytes(n: number, what = 'bytes'): Buffer {
    if (!Number.isSafeInteger(n) || n < 0) throw new ProtocolError('malformed', `${what}: bad length`);
    this.need(n, what);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /**
   * §5.3 byte string: u32 length then that many bytes; 0xffffffff = NULL (returns null).
   * `max` tightens the cap for fields known to be short (signatures, strings).
   */
  readByteArray(what = 'byte array', max = this.limits.maxByteArrayLength): Buffer | null {
    const len = this.readUint32(`${what} length`);
    if (len === NULL_BYTE_ARRAY) return null;
    if (len > MAX_WIRE_BYTE_ARRAY) throw new ProtocolError('malformed', `${what}: length ${len} is invalid`);
    if (len > max) throw new ProtocolError('limit', `${what}: length ${len} exceeds cap ${max}`);
    return this.readBytes(len, what);
  }

  /** A byte string decoded one char per byte (latin1), so comparisons stay byte-exact. */
  readString(what = 'string', max = this.limits.maxByteArrayLength): string | null {
    const b = this.readByteArray(what, max);
    return b === null ? null : b.toString('latin1');
  }

  /**
   * u32 element count for an array whose elements take at least `minElementSize` bytes each;
   * checked against the cap and the remaining bytes so a loop over it cannot outrun the body.
   */
  readCount(minElementSize: number, what = 'count'): number {
    const n = this.readUint32(what);
    if (n > this.limits.maxArrayCount) {
      throw new ProtocolError('limit', `${what} ${n} exceeds cap ${this.limits.maxArrayCount}`);
    }
    if (n * minElementSize > this.remaining) {
      throw new ProtocolError('truncated', `${what} ${n} cannot fit in ${this.remaining} bytes`);
    }
    return n;
  }

  /** §5.1: nothing may follow the last value. */
  expectEnd(what = 'body'): void {
    if (this.remaining !== 0) {
      throw new ProtocolError('trailing-bytes', `${this.remaining} bytes after the end of ${what}`);
    }
  }
}
