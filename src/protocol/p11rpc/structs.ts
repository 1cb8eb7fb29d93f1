// The fixed structures that travel in responses (docs/p11kit-rpc.md §5.7), as typed interfaces
// plus their field layouts. Field names keep the PKCS#11 spelling. Blank-padded text fields
// (`s`) must have exactly their C size on the wire, or the client fails the call (§5.2).
import { ProtocolError } from './protocol-error';

export interface CkVersion { readonly major: number; readonly minor: number }
/** Text of a CK_UTF8CHAR[n] field: a string (UTF-8) or raw bytes, blank-padded to n on encode. */
export type PaddedText = string | Buffer;
/** A CK_ULONG on the way out: bigint lets CK_UNAVAILABLE_INFORMATION (2^64 - 1) be sent. */
export type Ulong = number | bigint;

/** §5.7 "CK_UNAVAILABLE_INFORMATION is FFFFFFFFFFFFFFFF" on the wire (a 64-bit (CK_ULONG)-1). */
export const CK_UNAVAILABLE_INFORMATION = 0xffffffffffffffffn;
export const CK_EFFECTIVELY_INFINITE = 0;

export interface CkInfo {
  readonly cryptokiVersion: CkVersion;
  readonly manufacturerID: PaddedText;
  readonly flags: Ulong;
  readonly libraryDescription: PaddedText;
  readonly libraryVersion: CkVersion;
}

export interface CkSlotInfo {
  readonly slotDescription: PaddedText;
  readonly manufacturerID: PaddedText;
  readonly flags: Ulong;
  readonly hardwareVersion: CkVersion;
  readonly firmwareVersion: CkVersion;
}

export interface CkTokenInfo {
  readonly label: PaddedText;
  readonly manufacturerID: PaddedText;
  readonly model: PaddedText;
  readonly serialNumber: PaddedText;
  readonly flags: Ulong;
  readonly ulMaxSessionCount: Ulong;
  readonly ulSessionCount: Ulong;
  readonly ulMaxRwSessionCount: Ulong;
  readonly ulRwSessionCount: Ulong;
  readonly ulMaxPinLen: Ulong;
  readonly ulMinPinLen: Ulong;
  readonly ulTotalPublicMemory: Ulong;
  readonly ulFreePublicMemory: Ulong;
  readonly ulTotalPrivateMemory: Ulong;
  readonly ulFreePrivateMemory: Ulong;
  readonly hardwareVersion: CkVersion;
  readonly firmwareVersion: CkVersion;
  readonly utcTime: PaddedText;
}

export interface CkMechanismInfo {
  readonly ulMinKeySize: Ulong;
  readonly ulMaxKeySize: Ulong;
  readonly flags: Ulong;
}

export interface CkSessionInfo {
  readonly slotID: Ulong;
  readonly state: Ulong;
  readonly flags: Ulong;
  readonly ulDeviceError: Ulong;
}

export interface StructTypes {
  CK_INFO: CkInfo;
  CK_SLOT_INFO: CkSlotInfo;
  CK_TOKEN_INFO: CkTokenInfo;
  CK_MECHANISM_INFO: CkMechanismInfo;
  CK_SESSION_INFO: CkSessionInfo;
}
export type StructName = keyof StructTypes;

export interface FieldDef {
  readonly name: string;
  readonly token: 'v' | 's' | 'u';
  /** Exact byte size of an `s` field. */
  readonly size?: number;
}

const v = (name: string): FieldDef => ({ name, token: 'v' });
const u = (name: string): FieldDef => ({ name, token: 'u' });
const s = (name: string, size: number): FieldDef => ({ name, token: 's', size });

/** Field order and sizes exactly as §5.7's table; joined tokens equal the response signature. */
export const STRUCT_LAYOUTS: { readonly [K in StructName]: readonly FieldDef[] } = Object.freeze({
  CK_INFO: [v('cryptokiVersion'), s('manufacturerID', 32), u('flags'), s('libraryDescription', 32), v('libraryVersion')],
  CK_SLOT_INFO: [s('slotDescription', 64), s('manufacturerID', 32), u('flags'), v('hardwareVersion'), v('firmwareVersion')],
  CK_TOKEN_INFO: [
    s('label', 32), s('manufacturerID', 32), s('model', 16), s('serialNumber', 16), u('flags'),
    u('ulMaxSessionCount'), u('ulSessionCount'), u('ulMaxRwSessionCount'), u('ulRwSessionCount'),
    u('ulMaxPinLen'), u('ulMinPinLen'), u('ulTotalPublicMemory'), u('ulFreePublicMemory'),
    u('ulTotalPrivateMemory'), u('ulFreePrivateMemory'), v('hardwareVersion'), v('firmwareVersion'),
    s('utcTime', 16),
  ],
  CK_MECHANISM_INFO: [u('ulMinKeySize'), u('ulMaxKeySize'), u('flags')],
  CK_SESSION_INFO: [u('slotID'), u('state'), u('flags'), u('ulDeviceError')],
});

/** The structure's fields in wire order, ready to be walked against the signature. */
export function structValues<K extends StructName>(name: K, value: StructTypes[K]): unknown[] {
  const record = value as unknown as Record<string, unknown>;
  return STRUCT_LAYOUTS[name].map((f) => {
    if (record[f.name] === undefined) throw new ProtocolError('encode', `${name}.${f.name} is missing`);
    return record[f.name];
  });
}

/**
 * Exactly `size` bytes for a CK_UTF8CHAR[size] field: text is UTF-8 encoded and blank-padded.
 * Too long is a server bug here; use blankPad() to truncate user-supplied text first.
 */
export function padText(text: PaddedText, size: number, what = 'text field'): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  if (bytes.length > size) throw new ProtocolError('encode', `${what} is ${bytes.length} bytes, field holds ${size}`);
  const out = Buffer.alloc(size, 0x20);
  bytes.copy(out);
  return out;
}

/**
 * Truncates text to at most `size` UTF-8 bytes without splitting a character, then
 * blank-pads it (e.g. a C_InitToken label, which arrives as strlen bytes, §10).
 */
export function blankPad(text: string | Buffer, size: number): Buffer {
  const bytes = typeof text === 'string' ? Buffer.from(text, 'utf8') : text;
  let end = Math.min(bytes.length, size);
  // Step back over UTF-8 continuation bytes (10xxxxxx) so the cut lands on a character start.
  if (end < bytes.length) while (end > 0 && (bytes[end] & 0xc0) === 0x80) end--;
  return padText(bytes.subarray(0, end), size);
}
