// A tiny, independent byte builder for the p11rpc tests, written straight from
// docs/p11kit-rpc.md §4–§5 with plain Buffer calls. It deliberately shares no code with the
// Writer under test, so expected bytes never come from the code being checked.

export const cat = (...parts: Buffer[]): Buffer => Buffer.concat(parts);
export const fromHex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');

export function u8(v: number): Buffer {
  return Buffer.from([v]);
}

export function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
}

export function u64(v: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
}

/** §5.3 byte string; null is the NULL marker. */
export function bstr(v: Buffer | string | null): Buffer {
  if (v === null) return u32(0xffffffff);
  const b = typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
  return cat(u32(b.length), b);
}

/** `ay` with present = 1. */
export const ayData = (v: Buffer | string | null): Buffer => cat(u8(1), bstr(v));
/** `ay` with present = 0 (NULL pointer, or a length-only answer). */
export const ayLength = (n: number): Buffer => cat(u8(0), u32(n));
export const auData = (vals: (number | bigint)[]): Buffer => cat(u8(1), u32(vals.length), ...vals.map(u64));
export const auCount = (n: number): Buffer => cat(u8(0), u32(n));

/** Body: call id, signature, arguments (§5.1). */
export function body(callId: number, signature: string, ...args: Buffer[]): Buffer {
  return cat(u32(callId), bstr(signature), ...args);
}

/** Whole frame (§4); requests carry the module name, responses nothing. */
export function frame(code: number, b: Buffer, options = ''): Buffer {
  const o = Buffer.from(options, 'latin1');
  return cat(u32(code), u32(o.length), u32(b.length), o, b);
}

// Attributes (§5.4): type, valid, length, value encoded by type class.
export const attrInvalid = (type: number): Buffer => cat(u32(type), u8(0));
export const attrByte = (type: number, v: number, len = 1): Buffer => cat(u32(type), u8(1), u32(len), u8(v));
export const attrUlong = (type: number, v: number | bigint, len = 8): Buffer => cat(u32(type), u8(1), u32(len), u64(v));
export const attrBytes = (type: number, v: Buffer | string | null, len?: number): Buffer =>
  cat(u32(type), u8(1), u32(len ?? (v === null ? 0 : Buffer.from(v).length)), bstr(v));
export const attrMechs = (type: number, mechs: number[], len = 8 * mechs.length): Buffer =>
  cat(u32(type), u8(1), u32(len), u32(mechs.length), ...mechs.map(u64));
export const attrArray = (...attrs: Buffer[]): Buffer => cat(u32(attrs.length), ...attrs);

/** `M` with the NULL-marker parameter, as 0.24.1 sends parameter-less mechanisms. */
export const mechNoParam = (type: number): Buffer => cat(u32(type), u32(0xffffffff));

/** Small deterministic PRNG (mulberry32) so fuzz failures can be replayed from the seed. */
export class Rng {
  constructor(private state: number) {}

  next(): number {
    this.state = (this.state + 0x6d2b79f5) | 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i++) b[i] = this.int(256);
    return b;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)];
  }
}
