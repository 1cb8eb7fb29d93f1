// Message bodies (docs/p11kit-rpc.md §5.1): decode a request by walking its call's request
// signature, encode a response by walking the response signature, and the ERROR message.
//
// Decoded request: { callId, name, args } with one typed value per signature token, see
// RequestTokenTypes in message-types.ts (u → number, ay → Buffer | null, aA → Attribute[],
// M → Mechanism | null, fy/fu → OutputBufferHint, fA → AttributeRequest[], …). Buffers are
// views into the body: copy what outlives the request, and zero the body when done with
// secrets. Response: { callId, values } with one value per response token (structure calls
// also accept the CK_* structure itself, §5.7).
import { readAttributeArray, readAttributeRequests, writeAttributeArray, type AttributeOut } from './attributes';
import { callById, type CallDef, type SigToken } from './calls';
import { FRAME_HEADER_LENGTH } from './framing';
import { readMechanism } from './mechanisms';
import type { DecodedRequest, RequestArg, ResponseMessage } from './message-types';
import type { OutputBufferHint } from './outputs';
import { ProtocolError } from './protocol-error';
import { Reader, type ReaderLimits } from './reader';
import { STRUCT_LAYOUTS, padText, structValues, type CkVersion, type StructName } from './structs';
import { Writer } from './writer';

/** The longest request signature is 7 letters ('uMuayaA'); anything much longer is hostile. */
const MAX_SIGNATURE_LENGTH = 64;
/** §13: a 0.25 client's "non-NULL buffer of length 0" in `fy`. */
const ZERO_LENGTH_BUFFER = 0xffffffff;
export const ERROR_CALL_ID = 0;
/** §6.1: the first `ay` of C_Initialize; on mismatch answer ERROR(CKR_GENERAL_ERROR). */
export const RPC_HANDSHAKE = 'PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1';

export function isRpcHandshake(arg: Buffer | null): boolean {
  return arg !== null && arg.equals(Buffer.from(RPC_HANDSHAKE, 'latin1'));
}

type TokenReader = (r: Reader) => RequestArg;

/** `ay` (§5.2): present flag; present = 0 is followed by a length only (NULL pointer). */
function readPresentBytes(r: Reader): Buffer | null {
  const present = r.readByte('byte array present flag');
  if (present === 0) {
    r.readUint32('byte array length');
    return null;
  }
  if (present !== 1) throw new ProtocolError('malformed', `byte array present flag ${present}`);
  return r.readByteArray('byte array');
}

/** `au` (§5.2): present flag, u32 count, then the values only if present. */
function readPresentUlongs(r: Reader): number[] | null {
  const present = r.readByte('ulong array present flag');
  if (present === 0) {
    r.readUint32('ulong array count');
    return null;
  }
  if (present !== 1) throw new ProtocolError('malformed', `ulong array present flag ${present}`);
  const n = r.readCount(8, 'ulong array count');
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(r.readUlong('ulong array element'));
  return out;
}

function readByteBuffer(r: Reader): OutputBufferHint {
  const capacity = r.readUint32('byte buffer capacity');
  if (capacity === ZERO_LENGTH_BUFFER) return { capacity: 0, sizeQuery: false };
  return { capacity, sizeQuery: capacity === 0 };
}

function readUlongBuffer(r: Reader): OutputBufferHint {
  const capacity = r.readUint32('ulong buffer capacity');
  return { capacity, sizeQuery: capacity === 0 };
}

const TOKEN_READERS: Readonly<Record<SigToken, TokenReader>> = {
  y: (r) => r.readByte('byte argument'),
  u: (r) => r.readUlong('ulong argument'),
  v: (r) => ({ major: r.readByte('version major'), minor: r.readByte('version minor') }),
  s: (r) => r.readByteArray('string argument'),
  z: (r) => r.readByteArray('string argument'),
  M: readMechanism,
  ay: readPresentBytes,
  au: readPresentUlongs,
  aA: (r) => readAttributeArray(r),
  fy: readByteBuffer,
  fu: readUlongBuffer,
  fA: readAttributeRequests,
};

/**
 * Decodes one request body. Unknown call ids (including 0 and the 0.25 ids ≥ 66) raise
 * kind 'unknown-call' (§11: answer CKR_FUNCTION_NOT_SUPPORTED); every other failure means
 * CKR_DEVICE_ERROR (§11.3–4).
 */
export function decodeRequest(body: Buffer, limits: Partial<ReaderLimits> = {}): DecodedRequest {
  const r = new Reader(body, limits);
  const callId = r.readUint32('call id');
  const call = callById(callId);
  if (call === undefined || call.request === null) {
    throw new ProtocolError('unknown-call', `call id ${callId} is not a request`);
  }
  const signature = r.readString('signature', MAX_SIGNATURE_LENGTH);
  if (signature !== call.request) {
    throw new ProtocolError('signature-mismatch', `${call.name} expects "${call.request}"`);
  }
  const args = call.requestTokens.map((tok) => TOKEN_READERS[tok](r));
  r.expectEnd(call.name);
  return { callId, name: call.name, args } as unknown as DecodedRequest;
}

/** A decoded request and where each argument starts in the body: a relay rewrites `u` handles in place. */
export type RequestLayout = DecodedRequest & { readonly offsets: readonly number[] };

/** decodeRequest plus the byte offset of every argument (same checks, same errors). */
export function decodeRequestLayout(body: Buffer, limits: Partial<ReaderLimits> = {}): RequestLayout {
  const r = new Reader(body, limits);
  const callId = r.readUint32('call id');
  const call = callById(callId);
  if (call === undefined || call.request === null) {
    throw new ProtocolError('unknown-call', `call id ${callId} is not a request`);
  }
  const signature = r.readString('signature', MAX_SIGNATURE_LENGTH);
  if (signature !== call.request) {
    throw new ProtocolError('signature-mismatch', `${call.name} expects "${call.request}"`);
  }
  const offsets: number[] = [];
  const args = call.requestTokens.map((tok) => { offsets.push(r.offset); return TOKEN_READERS[tok](r); });
  r.expectEnd(call.name);
  return { callId, name: call.name, args, offsets } as unknown as RequestLayout;
}

/** Encodes a request body from raw argument bytes (a relay's own calls, e.g. replaying C_Login). */
export function encodeRequestBody(callId: number, write: (w: Writer) => void): Buffer {
  const call = callById(callId);
  if (call === undefined || call.request === null) fail(`call id ${callId} is not a request`);
  const w = new Writer();
  w.writeUint32(call.id).writeByteArray(Buffer.from(call.request, 'latin1'));
  write(w);
  return w.finish();
}

type TokenWriter = (w: Writer, value: unknown, size: number | undefined) => void;

function fail(what: string): never {
  throw new ProtocolError('encode', what);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

function writeVersion(w: Writer, v: unknown): void {
  if (!isRecord(v) || typeof v.major !== 'number' || typeof v.minor !== 'number') fail('CK_VERSION expected');
  const ver = v as unknown as CkVersion;
  w.writeByte(ver.major).writeByte(ver.minor);
}

function writeText(w: Writer, v: unknown, size: number | undefined): void {
  if (typeof v !== 'string' && !Buffer.isBuffer(v)) fail('text or bytes expected');
  const text = v as string | Buffer;
  // `s` must have exactly the struct field size (§5.2); `z` is sent as is.
  w.writeByteArray(size === undefined ? Buffer.from(text) : padText(text, size));
}

function writeBytesOutput(w: Writer, v: unknown): void {
  if (Buffer.isBuffer(v)) {
    w.writeByte(1).writeByteArray(v);
  } else if (isRecord(v) && typeof v.lengthOnly === 'number') {
    w.writeByte(0).writeUint32(v.lengthOnly);
  } else {
    fail('ay expects a Buffer or { lengthOnly }');
  }
}

function writeUlongsOutput(w: Writer, v: unknown): void {
  if (Array.isArray(v)) {
    w.writeByte(1).writeUint32(v.length);
    for (const x of v) w.writeUlong(typeof x === 'bigint' || typeof x === 'number' ? x : fail('au element'));
  } else if (isRecord(v) && typeof v.countOnly === 'number') {
    w.writeByte(0).writeUint32(v.countOnly);
  } else {
    fail('au expects an array or { countOnly }');
  }
}

const TOKEN_WRITERS: Readonly<Record<SigToken, TokenWriter>> = {
  y: (w, v) => w.writeByte(typeof v === 'boolean' ? (v ? 1 : 0) : typeof v === 'number' ? v : fail('y expects a byte')),
  u: (w, v) => w.writeUlong(typeof v === 'number' || typeof v === 'bigint' ? v : fail('u expects a ulong')),
  v: writeVersion,
  s: writeText,
  z: (w, v) => writeText(w, v, undefined),
  ay: writeBytesOutput,
  au: writeUlongsOutput,
  aA: (w, v) => writeAttributeArray(w, Array.isArray(v) ? (v as AttributeOut[]) : fail('aA expects an array')),
  M: () => fail('M never appears in a response'),
  fy: () => fail('fy never appears in a response'),
  fu: () => fail('fu never appears in a response'),
  fA: () => fail('fA never appears in a response'),
};

/** Sizes of the `s` fields by token position, taken from the structure layout (§5.7). */
function textSizes(struct: StructName | undefined): (number | undefined)[] {
  return struct === undefined ? [] : STRUCT_LAYOUTS[struct].map((f) => f.size);
}

/** Each call's response signature as the byte string every response carries, made once. */
const SIGNATURE_BYTES = new Map<number, Buffer>();
function signatureBytes(call: CallDef): Buffer {
  let b = SIGNATURE_BYTES.get(call.id);
  if (!b) { b = Buffer.from(call.response, 'latin1'); SIGNATURE_BYTES.set(call.id, b); }
  return b;
}

/** Untyped form of encodeResponse, for generic dispatch code. Values are checked at run time. */
export function encodeResponseValues(callId: number, values: readonly unknown[]): Buffer {
  return writeResponse(new Writer(), callId, values).finish();
}

/**
 * The same response as a whole frame (§4: code, no options, body) in one buffer: the body is
 * written after room left for the header, so nothing is copied to frame it.
 */
export function encodeResponseFrame(code: number, callId: number, values: readonly unknown[]): Buffer {
  if (!Number.isInteger(code) || code < 0 || code > 0xffffffff) fail(`frame code ${code} out of range`);
  const out = writeResponse(new Writer(256, FRAME_HEADER_LENGTH), callId, values).finish();
  const bodyLength = out.length - FRAME_HEADER_LENGTH;
  if (bodyLength > 0xffffffff) fail('frame too large for a 32-bit length');
  out.writeUInt32BE(code, 0);
  out.writeUInt32BE(0, 4);
  out.writeUInt32BE(bodyLength, 8);
  return out;
}

function writeResponse(w: Writer, callId: number, values: readonly unknown[]): Writer {
  const call = callById(callId);
  if (call === undefined || call.request === null) fail(`call id ${callId} has no success response`);
  let flat = values;
  if (call.responseStruct !== undefined && values.length === 1 && isRecord(values[0])) {
    flat = structValues(call.responseStruct, values[0] as never);
  }
  if (flat.length !== call.responseTokens.length) {
    fail(`${call.name} response needs ${call.responseTokens.length} values, got ${flat.length}`);
  }
  const sizes = textSizes(call.responseStruct);
  w.writeUint32(call.id).writeByteArray(signatureBytes(call));
  call.responseTokens.forEach((tok, i) => TOKEN_WRITERS[tok](w, flat[i], sizes[i]));
  return w;
}

/** Encodes a success response body (§5.1): same call id, response signature, outputs. */
export function encodeResponse(msg: ResponseMessage): Buffer {
  return encodeResponseValues(msg.callId, msg.values as readonly unknown[]);
}

/**
 * ERROR message (§5.1): call id 0, signature "u", the CK_RV as u64. CKR_OK (0) would be
 * read as CKR_DEVICE_ERROR by the client, and the reference truncates to 32 bits, so
 * only 1..0xffffffff are accepted.
 */
export function encodeErrorResponse(rv: number): Buffer {
  if (!Number.isInteger(rv) || rv < 1 || rv > 0xffffffff) fail(`CK_RV ${rv} cannot be sent in an ERROR message`);
  return new Writer(32).writeUint32(ERROR_CALL_ID).writeByteArray(Buffer.from('u')).writeUlong(rv).finish();
}
