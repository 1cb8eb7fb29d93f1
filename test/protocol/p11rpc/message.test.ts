// Request decoding and response encoding on bodies built by the independent builder:
// error paths, the accepted variants of §12.12/§13, and the response forms of §5.7, §7, §8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CALL } from '../../../src/protocol/p11rpc/calls';
import { decodeRequest, encodeErrorResponse, encodeResponse, encodeResponseFrame, encodeResponseValues } from '../../../src/protocol/p11rpc/message';
import { encodeFrame, FrameDecoder } from '../../../src/protocol/p11rpc/framing';
import type { Mechanism } from '../../../src/protocol/p11rpc/mechanisms';
import { ProtocolError } from '../../../src/protocol/p11rpc/protocol-error';
import { CK_UNAVAILABLE_INFORMATION } from '../../../src/protocol/p11rpc/structs';
import {
  attrArray, attrByte, attrBytes, attrInvalid, attrMechs, attrUlong, auCount, auData, ayData, ayLength, body, bstr, cat,
  mechNoParam, u32, u64, u8,
} from './wire';

const kindOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ProtocolError, `not a ProtocolError: ${String(e)}`);
    return e.kind;
  }
  return 'no error';
};

test('unknown call ids, including 0 and the 0.25 ids, are "unknown-call" (§11.3)', () => {
  for (const id of [0, 66, 70, 88, 0xffffffff]) assert.equal(kindOf(() => decodeRequest(body(id, 'u', u64(1)))), 'unknown-call');
});

test('a signature other than the table\'s is refused (§5.1)', () => {
  assert.equal(kindOf(() => decodeRequest(body(CALL.C_GetSlotInfo, 'y', u8(1)))), 'signature-mismatch');
  assert.equal(kindOf(() => decodeRequest(cat(u32(CALL.C_Finalize), bstr(null)))), 'signature-mismatch');
  assert.equal(kindOf(() => decodeRequest(cat(u32(CALL.C_Finalize), bstr('x'.repeat(100))))), 'limit');
});

test('short bodies and trailing bytes are refused', () => {
  assert.equal(kindOf(() => decodeRequest(Buffer.from([0, 0]))), 'truncated');
  assert.equal(kindOf(() => decodeRequest(body(CALL.C_OpenSession, 'uu', u64(1)))), 'truncated');
  assert.equal(kindOf(() => decodeRequest(body(CALL.C_Finalize, '', u8(0)))), 'trailing-bytes');
  assert.equal(kindOf(() => decodeRequest(body(CALL.C_CloseSession, 'u', u64(2n ** 60n)))), 'malformed');
});

test('all three empty/NULL `ay` encodings are accepted (§5.2, §12.12, §13)', () => {
  const login = (pin: Buffer) => decodeRequest(body(CALL.C_Login, 'uuay', u64(1), u64(1), pin)).args[2];
  assert.equal(login(ayLength(0)), null);
  assert.deepEqual(login(ayData('')), Buffer.alloc(0));
  assert.equal(login(ayData(null)), null);
  assert.equal(kindOf(() => login(cat(u8(2), u32(0)))), 'malformed');
});

test('`fy` 0xffffffff is a zero-length buffer, not a size query (§13)', () => {
  const cap = (c: number) => decodeRequest(body(CALL.C_GenerateRandom, 'ufy', u64(1), u32(c))).args[1];
  assert.deepEqual(cap(0xffffffff), { capacity: 0, sizeQuery: false });
  assert.deepEqual(cap(0), { capacity: 0, sizeQuery: true });
  assert.deepEqual(cap(32), { capacity: 32, sizeQuery: false });
});

test('C_InitToken (z), C_SetPIN, C_SetOperationState, C_WrapKey, C_UnwrapKey, C_DeriveKey', () => {
  assert.deepEqual(decodeRequest(body(CALL.C_InitToken, 'uayz', u64(0), ayData('5678'), bstr('my token'))).args,
    [0, Buffer.from('5678'), Buffer.from('my token')]);
  assert.deepEqual(decodeRequest(body(CALL.C_SetPIN, 'uayay', u64(3), ayData('old'), ayData('new'))).args,
    [3, Buffer.from('old'), Buffer.from('new')]);
  assert.deepEqual(decodeRequest(body(CALL.C_SetOperationState, 'uayuu', u64(3), ayData('st'), u64(0), u64(0))).args,
    [3, Buffer.from('st'), 0, 0]);
  assert.deepEqual(decodeRequest(body(CALL.C_WrapKey, 'uMuufy', u64(3), mechNoParam(0x1081), u64(5), u64(6), u32(0))).args,
    [3, { type: 0x1081, params: null }, 5, 6, { capacity: 0, sizeQuery: true }]);
  const unwrap = decodeRequest(body(CALL.C_UnwrapKey, 'uMuayaA', u64(3), mechNoParam(1), u64(5), ayData('wrapped'),
    attrArray(attrUlong(0, 4))));
  assert.deepEqual(unwrap.args[4], [{ type: 0, kind: 'ulong', length: 8, value: 4 }]);
  const derive = decodeRequest(body(CALL.C_DeriveKey, 'uMuaA', u64(3), mechNoParam(0x1080), u64(5), attrArray()));
  assert.deepEqual(derive.args, [3, { type: 0x1080, params: null }, 5, []]);
});

test('forward-compatible mechanism parameters of p11-kit 0.25.0–0.25.5 (§13)', () => {
  const init = (m: Buffer) => decodeRequest(body(CALL.C_SignInit, 'uMu', u64(1), m, u64(2))).args[1] as Mechanism | null;
  assert.deepEqual(init(cat(u32(0x43), u64(0x250), u64(2), u64(32))),
    { type: 0x43, params: { kind: 'rsa-pkcs-pss', hashAlg: 0x250, mgf: 2, sLen: 32 } });
  assert.deepEqual(init(cat(u32(0x1082), bstr(Buffer.alloc(16, 7)))),
    { type: 0x1082, params: { kind: 'bytes', bytes: Buffer.alloc(16, 7) } });
  assert.deepEqual(init(cat(u32(0x1086), u64(128), bstr(Buffer.alloc(16, 1)))),
    { type: 0x1086, params: { kind: 'aes-ctr', counterBits: 128, cb: Buffer.alloc(16, 1) } });
  assert.deepEqual(init(cat(u32(0x1087), bstr(Buffer.alloc(12)), u64(96), bstr('aad'), u64(128))),
    { type: 0x1087, params: { kind: 'gcm', iv: Buffer.alloc(12), ivBits: 96, aad: Buffer.from('aad'), tagBits: 128 } });
  assert.deepEqual(init(cat(u32(0x1050), u64(1), bstr(null), bstr('pub'))),
    { type: 0x1050, params: { kind: 'ecdh1-derive', kdf: 1, sharedData: null, publicData: Buffer.from('pub') } });
  assert.deepEqual(init(cat(u32(0x252), u64(16))), { type: 0x252, params: { kind: 'mac-general', macLength: 16 } });
  // 0.25 sends a NULL CK_MECHANISM_PTR as the type 0xffffffff with nothing after it.
  assert.equal(init(u32(0xffffffff)), null);
  assert.equal(kindOf(() => init(cat(u32(0xd), u64(1)))), 'truncated');
});

test('templates nest at most one level, and counts are capped', () => {
  const nested = cat(u32(0x40000211), u8(1), u32(0), attrArray(cat(u32(0x40000212), u8(1), u32(0), attrArray())));
  assert.equal(kindOf(() => decodeRequest(body(CALL.C_CreateObject, 'uaA', u64(1), attrArray(nested)))), 'malformed');
  const many = cat(u32(5000), Buffer.alloc(5000 * 5));
  assert.equal(kindOf(() => decodeRequest(body(CALL.C_CreateObject, 'uaA', u64(1), many))), 'limit');
  const lying = cat(u32(1000), attrByte(1, 1));
  assert.equal(kindOf(() => decodeRequest(body(CALL.C_CreateObject, 'uaA', u64(1), lying))), 'truncated');
  const badValid = attrArray(cat(u32(1), u8(2), u32(1), u8(1)));
  assert.equal(kindOf(() => decodeRequest(body(CALL.C_CreateObject, 'uaA', u64(1), badValid))), 'malformed');
  const two = body(CALL.C_CreateObject, 'uaA', u64(1), attrArray(attrByte(1, 1), attrByte(2, 0)));
  assert.equal(kindOf(() => decodeRequest(two, { maxArrayCount: 1 })), 'limit');
  assert.equal(decodeRequest(two, { maxArrayCount: 2 }).name, 'C_CreateObject');
});

test('32-bit clients declare 4 for a CK_ULONG but still send 8 bytes (§12.19)', () => {
  const r = decodeRequest(body(CALL.C_FindObjectsInit, 'uaA', u64(1), attrArray(attrUlong(0, 3, 4))));
  assert.deepEqual(r.args[1], [{ type: 0, kind: 'ulong', length: 4, value: 3 }]);
});

test('C_GetAttributeValue response: every entry form and the trailing rv (§8)', () => {
  const got = encodeResponse({ callId: CALL.C_GetAttributeValue, values: [[
    { type: 0x40000600, kind: 'mechanisms', value: [0x1081, 0x1082] },
    { type: 0x123, kind: 'unavailable' },
    { type: 0x11, kind: 'bytes', length: 32, value: null },
    { type: 0x3, kind: 'bytes', value: Buffer.from('lbl') },
  ], 0x11] });
  const expected = body(24, 'aAu', attrArray(attrMechs(0x40000600, [0x1081, 0x1082]), attrInvalid(0x123),
    attrBytes(0x11, null, 32), attrBytes(3, 'lbl')), u64(0x11));
  assert.deepEqual(got, expected);
});

test('the ALLOWED_MECHANISMS size-query answer always carries its values (not the §8.4 bug)', () => {
  const got = encodeResponseValues(24, [[{ type: 0x40000600, kind: 'mechanisms', value: [0x1081, 0x1082] }], 0]);
  const buggy = Buffer.from('000000180000000361417500000001400006000100000010000000020000000000000000', 'hex');
  assert.notDeepEqual(got, buggy);
  assert.deepEqual(got, body(24, 'aAu', attrArray(attrMechs(0x40000600, [0x1081, 0x1082])), u64(0)));
});

test('responses refuse what the 0.24.1 client would reject (§5.5, §8.3)', () => {
  const gav = (attrs: unknown[]) => kindOf(() => encodeResponseValues(24, [attrs, 0]));
  assert.equal(gav([{ type: 0x40000211, kind: 'unavailable' }]), 'encode');
  assert.equal(gav([{ type: 0x40000213, kind: 'bytes', value: null }]), 'encode');
  assert.equal(gav([{ type: 0x1, kind: 'bytes', value: Buffer.from([1]) }]), 'encode');
  assert.equal(gav([{ type: 0x0, kind: 'ulong', length: 4, value: 1 }]), 'encode');
  assert.equal(gav([{ type: 0x3, kind: 'bytes', length: 2, value: Buffer.from('abc') }]), 'encode');
  assert.equal(gav([{ type: 0x3, kind: 'bytes', value: 'text' }]), 'encode');
  assert.equal(gav([{ type: 0x40000600, kind: 'mechanisms', value: 7 }]), 'encode');
  assert.equal(gav([{ type: 0x0, kind: 'ulong', value: 'x' }]), 'encode');
  assert.equal(gav([null]), 'encode');
  assert.equal(kindOf(() => encodeResponseValues(CALL.C_OpenSession, [])), 'encode');
  assert.equal(kindOf(() => encodeResponseValues(CALL.C_OpenSession, ['x'])), 'encode');
  assert.equal(kindOf(() => encodeResponseValues(CALL.C_Encrypt, [null])), 'encode');
  assert.equal(kindOf(() => encodeResponseValues(0, [5])), 'encode');
  assert.equal(kindOf(() => encodeResponseValues(99, [])), 'encode');
  assert.equal(kindOf(() => encodeErrorResponse(0)), 'encode');
  assert.equal(kindOf(() => encodeErrorResponse(2 ** 32)), 'encode');
  assert.equal(kindOf(() => encodeResponseValues(CALL.C_GetInfo, [{ cryptokiVersion: { major: 2, minor: 40 } }])), 'encode');
});

test('text fields are blank-padded to their exact size and never longer (§5.2 `s`)', () => {
  const info = { slotDescription: 'x'.repeat(65), manufacturerID: 'm', flags: 0,
    hardwareVersion: { major: 0, minor: 0 }, firmwareVersion: { major: 0, minor: 0 } };
  assert.equal(kindOf(() => encodeResponse({ callId: CALL.C_GetSlotInfo, values: [info] })), 'encode');
  const ok = encodeResponse({ callId: CALL.C_GetSlotInfo, values: [{ ...info, slotDescription: 'é' }] });
  const padded = (s: string, n: number) => { const b = Buffer.alloc(n, 0x20); Buffer.from(s).copy(b); return b; };
  assert.deepEqual(ok, body(5, 'ssuvv', bstr(padded('é', 64)), bstr(padded('m', 32)), u64(0), u8(0), u8(0), u8(0), u8(0)));
});

test('structure responses: object and flat forms give the same bytes (§5.7)', () => {
  const session = { slotID: 1, state: 3, flags: 6, ulDeviceError: 0 };
  const expected = body(13, 'uuuu', u64(1), u64(3), u64(6), u64(0));
  assert.deepEqual(encodeResponse({ callId: CALL.C_GetSessionInfo, values: [session] }), expected);
  assert.deepEqual(encodeResponse({ callId: CALL.C_GetSessionInfo, values: [1, 3, 6, 0] }), expected);
  const mech = { ulMinKeySize: 2048, ulMaxKeySize: 4096, flags: 0x2800 };
  assert.deepEqual(encodeResponse({ callId: CALL.C_GetMechanismInfo, values: [mech] }),
    body(8, 'uuu', u64(2048), u64(4096), u64(0x2800)));
  assert.deepEqual(encodeResponse({ callId: CALL.C_GetObjectSize, values: [CK_UNAVAILABLE_INFORMATION] }),
    body(23, 'u', u64(0xffffffffffffffffn)));
});

test('ulong and byte outputs: values, count only, length only (§7)', () => {
  assert.deepEqual(encodeResponse({ callId: CALL.C_FindObjects, values: [[]] }), body(27, 'au', auData([])));
  assert.deepEqual(encodeResponse({ callId: CALL.C_FindObjects, values: [[2, 3n]] }), body(27, 'au', auData([2, 3])));
  assert.deepEqual(encodeResponse({ callId: CALL.C_GetSlotList, values: [{ countOnly: 2 }] }), body(4, 'au', auCount(2)));
  assert.deepEqual(encodeResponse({ callId: CALL.C_Sign, values: [{ lengthOnly: 0 }] }), body(43, 'ay', ayLength(0)));
  assert.deepEqual(encodeResponse({ callId: CALL.C_GenerateKeyPair, values: [3, 4] }), body(59, 'uu', u64(3), u64(4)));
  assert.deepEqual(encodeErrorResponse(0x80000001), body(0, 'u', u64(0x80000001)));
});

test('decoded arguments are typed by call name (compile-time check)', () => {
  const req = decodeRequest(body(CALL.C_SignInit, 'uMu', u64(1), mechNoParam(0x40), u64(2)));
  if (req.name === 'C_SignInit') {
    const [session, mech, key]: [number, Mechanism | null, number] = req.args;
    assert.deepEqual([session, mech, key], [1, { type: 0x40, params: null }, 2]);
  } else {
    assert.fail(req.name);
  }
  // @ts-expect-error a slot list is ulongs, not text
  assert.equal(kindOf(() => encodeResponse({ callId: CALL.C_GetSlotList, values: [['x']] })), 'encode');
});

test('a response encoded straight into its frame is the framed body, byte for byte', () => {
  const cases: [number, number, unknown[]][] = [
    [0, 24, [[{ type: 0x40000600, kind: 'mechanisms', value: [0x1081, 0x1082] }], 0]],
    [0xfffffffe, CALL.C_OpenSession, [0x1234]],
    [7, CALL.C_GenerateRandom, [Buffer.alloc(300, 9)]],
  ];
  for (const [code, callId, values] of cases) {
    const framed = encodeResponseFrame(code, callId, values);
    assert.deepEqual(framed, encodeFrame(code, encodeResponseValues(callId, values)));
    const [frame] = new FrameDecoder({ handshake: false }).push(framed);
    assert.equal(frame.code, code);
    assert.deepEqual(frame.body, body(callId, callId === 24 ? 'aAu' : callId === CALL.C_OpenSession ? 'u' : 'ay',
      ...(callId === 24 ? [attrArray(attrMechs(0x40000600, [0x1081, 0x1082])), u64(0)] : callId === CALL.C_OpenSession ? [u64(0x1234)] : [ayData(Buffer.alloc(300, 9))])));
  }
  assert.throws(() => encodeResponseFrame(-1, CALL.C_OpenSession, [1]), ProtocolError);
});
