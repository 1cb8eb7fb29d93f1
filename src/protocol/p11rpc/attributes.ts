// Attributes on the wire (docs/p11kit-rpc.md §5.4, §5.5, §8): the value encoding is chosen by
// attribute TYPE, never by the declared length, from the per-type class table below
// (rpc-message.c:map_attribute_to_value_type of p11-kit 0.24.1).
//
// Representation: a discriminated union on `kind` (the value class):
//   { type, kind: 'unavailable' }                      valid = 0 (ulValueLen = -1)
//   { type, kind: 'byte',       length, value: number } CK_BBOOL/CK_BYTE listed in §5.5
//   { type, kind: 'ulong',      length, value: number } CK_ULONG listed in §5.5 (8 bytes BE)
//   { type, kind: 'date',       length, value: Buffer | null }   "YYYYMMDD" or empty / NULL
//   { type, kind: 'mechanisms', length, value: number[] }         CKA_ALLOWED_MECHANISMS
//   { type, kind: 'template',   length, value: Attribute[] }      WRAP/UNWRAP_TEMPLATE (decode only)
//   { type, kind: 'bytes',      length, value: Buffer | null }    everything else, raw C bytes
// `length` is the sender's ulValueLen (§5.4). attrBool()/attrUlong() read CK_BBOOL and
// CK_ULONG values in both their listed and their raw native (unlisted type) forms.
import { ProtocolError } from './protocol-error';
import type { Reader } from './reader';
import type { Writer } from './writer';

export type AttributeClass = 'byte' | 'ulong' | 'date' | 'mechanisms' | 'template' | 'bytes';

/** §5.5 table, row by row (hex types as in the spec). */
export const BYTE_CLASS_TYPES: readonly number[] = Object.freeze([
  0x1, 0x2, 0x86, 0x103, 0x104, 0x105, 0x106, 0x107, 0x108, 0x109, 0x10a, 0x10b, 0x10c, 0x162,
  0x163, 0x164, 0x165, 0x170, 0x171, 0x200, 0x202, 0x210, 0x301, 0x302, 0x405,
]);
export const ULONG_CLASS_TYPES: readonly number[] = Object.freeze([
  0x0, 0x80, 0x87, 0x88, 0x100, 0x121, 0x133, 0x134, 0x160, 0x161, 0x166, 0x201, 0x300, 0x400,
  0x401, 0x402, 0x403, 0x404, 0x406, 0x500,
]);
export const DATE_CLASS_TYPES: readonly number[] = Object.freeze([0x110, 0x111]);
export const MECHANISM_ARRAY_CLASS_TYPES: readonly number[] = Object.freeze([0x40000600]);
export const TEMPLATE_CLASS_TYPES: readonly number[] = Object.freeze([0x40000211, 0x40000212]);
/** Listed explicitly in §5.5; encoded exactly like the default (unlisted) types. */
export const BYTE_ARRAY_CLASS_TYPES: readonly number[] = Object.freeze([
  0x3, 0x10, 0x11, 0x12, 0x81, 0x82, 0x83, 0x84, 0x85, 0x89, 0x8a, 0x8b, 0x90, 0x101, 0x102, 0x120,
  0x122, 0x123, 0x124, 0x125, 0x126, 0x127, 0x128, 0x130, 0x131, 0x132, 0x180, 0x181, 0x480, 0x481,
  0x482, 0x501, 0x502, 0x503,
]);

/**
 * WRAP/UNWRAP/DERIVE_TEMPLATE cannot be carried by 0.24.1 in either direction: the client
 * rejects any response naming them, even as unavailable (§5.5, §8.2). Requests that carry
 * or ask for them should be answered ERROR(CKR_ATTRIBUTE_TYPE_INVALID).
 */
export const UNTRANSPORTABLE_ATTRIBUTE_TYPES: ReadonlySet<number> = new Set([0x40000211, 0x40000212, 0x40000213]);

const CLASS_BY_TYPE: ReadonlyMap<number, AttributeClass> = new Map<number, AttributeClass>([
  ...BYTE_CLASS_TYPES.map((t) => [t, 'byte'] as const),
  ...ULONG_CLASS_TYPES.map((t) => [t, 'ulong'] as const),
  ...DATE_CLASS_TYPES.map((t) => [t, 'date'] as const),
  ...MECHANISM_ARRAY_CLASS_TYPES.map((t) => [t, 'mechanisms'] as const),
  ...TEMPLATE_CLASS_TYPES.map((t) => [t, 'template'] as const),
]);

export function attributeClass(type: number): AttributeClass {
  return CLASS_BY_TYPE.get(type) ?? 'bytes';
}

export type Attribute =
  | { readonly type: number; readonly kind: 'unavailable' }
  | { readonly type: number; readonly kind: 'byte'; readonly length: number; readonly value: number }
  | { readonly type: number; readonly kind: 'ulong'; readonly length: number; readonly value: number }
  | { readonly type: number; readonly kind: 'date'; readonly length: number; readonly value: Buffer | null }
  | { readonly type: number; readonly kind: 'mechanisms'; readonly length: number; readonly value: readonly number[] }
  | { readonly type: number; readonly kind: 'template'; readonly length: number; readonly value: readonly Attribute[] }
  | { readonly type: number; readonly kind: 'bytes'; readonly length: number; readonly value: Buffer | null };

type OptionalLength<A> = A extends { readonly length: number }
  ? Omit<A, 'length'> & { readonly length?: number }
  : A;
/** An attribute to encode: `length` defaults to the value's C size (§8.2 "N"). */
export type AttributeOut = OptionalLength<Attribute>;

/** One `fA` entry of C_GetAttributeValue (§8.1): the application's buffer size, 0 = pValue NULL. */
export interface AttributeRequest {
  readonly type: number;
  /** A client claim: never allocate from it. 0 means a size query for this attribute. */
  readonly length: number;
}

/** Smallest wire size of one attribute (type + valid flag): bounds a count before looping. */
const MIN_ATTRIBUTE_SIZE = 5;
/** Templates nest one level at most; the only nested form p11-kit produces (§5.5). */
const MAX_TEMPLATE_DEPTH = 1;

export function readAttributeArray(r: Reader, depth = 0): Attribute[] {
  const n = r.readCount(MIN_ATTRIBUTE_SIZE, 'attribute count');
  const out: Attribute[] = [];
  for (let i = 0; i < n; i++) out.push(readAttribute(r, depth));
  return out;
}

export function readAttribute(r: Reader, depth = 0): Attribute {
  const type = r.readUint32('attribute type');
  const valid = r.readByte('attribute valid flag');
  if (valid === 0) return { type, kind: 'unavailable' };
  if (valid !== 1) throw new ProtocolError('malformed', `attribute valid flag ${valid}`);
  const length = r.readUint32('attribute length');
  const kind = attributeClass(type);
  switch (kind) {
    case 'byte': return { type, kind, length, value: r.readByte('attribute value') };
    case 'ulong': return { type, kind, length, value: r.readUlong('attribute value') };
    case 'date': return { type, kind, length, value: r.readByteArray('date value') };
    case 'bytes': return { type, kind, length, value: r.readByteArray('attribute value') };
    case 'mechanisms': {
      const n = r.readCount(8, 'mechanism count');
      const value: number[] = [];
      for (let i = 0; i < n; i++) value.push(r.readUlong('mechanism type'));
      return { type, kind, length, value };
    }
    case 'template':
      if (depth >= MAX_TEMPLATE_DEPTH) throw new ProtocolError('malformed', 'nested template inside a template');
      return { type, kind, length, value: readAttributeArray(r, depth + 1) };
  }
}

/** `fA` (§5.2, §8.1): u32 count, then (u32 type, u32 buffer length) pairs. */
export function readAttributeRequests(r: Reader): AttributeRequest[] {
  const n = r.readCount(8, 'attribute request count');
  const out: AttributeRequest[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ type: r.readUint32('attribute type'), length: r.readUint32('attribute buffer length') });
  }
  return out;
}

/** The size the C value occupies on the client (§8.2 "N"), which the declared length must cover. */
export function nativeSize(a: AttributeOut): number {
  switch (a.kind) {
    case 'unavailable': return 0;
    case 'byte': return 1;
    case 'ulong': return 8;
    case 'mechanisms': return 8 * a.value.length;
    case 'template': return 0;
    default: return a.value === null ? 0 : a.value.length;
  }
}

export function writeAttributeArray(w: Writer, attrs: readonly AttributeOut[]): void {
  w.writeUint32(attrs.length);
  for (const a of attrs) writeAttribute(w, a);
}

/**
 * Encodes one response attribute. Refuses what the client would reject (§8.3): a value
 * class that differs from the type's, a value larger than the declared length, templates.
 */
export function writeAttribute(w: Writer, a: AttributeOut): void {
  assertShape(a);
  if (UNTRANSPORTABLE_ATTRIBUTE_TYPES.has(a.type)) {
    throw new ProtocolError('encode', `attribute 0x${a.type.toString(16)} cannot be sent to a 0.24.1 client`);
  }
  w.writeUint32(a.type);
  if (a.kind === 'unavailable') {
    w.writeByte(0);
    return;
  }
  if (a.kind !== attributeClass(a.type)) {
    throw new ProtocolError('encode', `attribute 0x${a.type.toString(16)} is ${attributeClass(a.type)}, not ${a.kind}`);
  }
  const size = nativeSize(a);
  const length = a.length ?? size;
  if (size > length) throw new ProtocolError('encode', `attribute 0x${a.type.toString(16)} value exceeds its length`);
  w.writeByte(1).writeUint32(length);
  switch (a.kind) {
    case 'byte': w.writeByte(a.value); break;
    case 'ulong': w.writeUlong(a.value); break;
    case 'mechanisms':
      w.writeUint32(a.value.length);
      for (const m of a.value) w.writeUlong(m);
      break;
    case 'date': case 'bytes': w.writeByteArray(a.value); break;
    case 'template': throw new ProtocolError('encode', 'template attributes are not encodable');
  }
}

/** Run-time guard for callers that build attributes without the types (generic dispatch). */
function assertShape(a: AttributeOut): void {
  if (typeof a !== 'object' || a === null) throw new ProtocolError('encode', 'attribute expected');
  const value: unknown = (a as { value?: unknown }).value;
  const ok = a.kind === 'mechanisms' ? Array.isArray(value)
    : a.kind === 'date' || a.kind === 'bytes' ? value === null || Buffer.isBuffer(value)
    : true; // byte and ulong values are range-checked by the writer itself
  if (!ok) throw new ProtocolError('encode', `attribute value does not fit kind ${String(a.kind)}`);
}

/** Builds a response attribute of the class its type requires (§5.5). */
export function makeAttribute(type: number, value: boolean | number | Buffer | null | readonly number[]): AttributeOut {
  const kind = attributeClass(type);
  const bad = (): never => {
    throw new ProtocolError('encode', `attribute 0x${type.toString(16)} (${kind}) cannot hold that value`);
  };
  switch (kind) {
    case 'byte':
      if (typeof value === 'boolean') return { type, kind, value: value ? 1 : 0 };
      return typeof value === 'number' ? { type, kind, value } : bad();
    case 'ulong': return typeof value === 'number' ? { type, kind, value } : bad();
    case 'mechanisms': return Array.isArray(value) ? { type, kind, value: [...value] } : bad();
    case 'date': return value === null || Buffer.isBuffer(value) ? { type, kind, value } : bad();
    case 'template': return bad();
    case 'bytes':
      // Unlisted CK_BBOOL / CK_ULONG types travel as their raw native bytes (§5.5).
      if (typeof value === 'boolean') return { type, kind, value: Buffer.from([value ? 1 : 0]) };
      if (typeof value === 'number') return { type, kind, value: nativeUlong(value) };
      return value === null || Buffer.isBuffer(value) ? { type, kind, value } : bad();
  }
}

export function unavailableAttribute(type: number): AttributeOut {
  return { type, kind: 'unavailable' };
}

/** A CK_ULONG in the client's memory layout: 8 bytes little-endian (x86-64, arm64; §5.5). */
export function nativeUlong(value: number): Buffer {
  if (!Number.isSafeInteger(value) || value < 0) throw new ProtocolError('encode', `ulong ${value} out of range`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}

/** CK_BBOOL value: the BYTE class, or a 1-byte raw value for unlisted types; else undefined. */
export function attrBool(a: Attribute): boolean | undefined {
  if (a.kind === 'byte') return a.value !== 0;
  if (a.kind === 'bytes' && a.value !== null && a.value.length === 1) return a.value[0] !== 0;
  return undefined;
}

/**
 * CK_ULONG value: the ULONG class, or raw native bytes for unlisted types (8 bytes LE on
 * 64-bit clients, 4 on 32-bit ones, §12.19); undefined if absent, malformed or above 2^53 - 1.
 */
export function attrUlong(a: Attribute): number | undefined {
  if (a.kind === 'ulong') return a.value;
  if (a.kind !== 'bytes' || a.value === null) return undefined;
  if (a.value.length === 4) return a.value.readUInt32LE(0);
  if (a.value.length !== 8) return undefined;
  const v = a.value.readBigUInt64LE(0);
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : undefined;
}

/** Byte-string value (byte-array and date classes); undefined for other classes. */
export function attrBytes(a: Attribute): Buffer | null | undefined {
  return a.kind === 'bytes' || a.kind === 'date' ? a.value : undefined;
}
