// Helpers a PKCS#11 server uses around the codec: the §5.5 class table, building and
// reading attributes, §7's output rules and the blank-padded text of §5.7.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BYTE_ARRAY_CLASS_TYPES, BYTE_CLASS_TYPES, DATE_CLASS_TYPES, MECHANISM_ARRAY_CLASS_TYPES, TEMPLATE_CLASS_TYPES,
  ULONG_CLASS_TYPES, attrBool, attrBytes, attrUlong, attributeClass, makeAttribute, nativeSize, nativeUlong, unavailableAttribute,
  type Attribute,
} from '../../../src/protocol/p11rpc/attributes';
import { paramsOfKind } from '../../../src/protocol/p11rpc/mechanisms';
import { fitBytes, fitUlongs, isLengthOnly } from '../../../src/protocol/p11rpc/outputs';
import { ProtocolError } from '../../../src/protocol/p11rpc/protocol-error';
import { blankPad, padText } from '../../../src/protocol/p11rpc/structs';
import { P11KIT_0_24_1_ATTRIBUTE_CLASSES as SPEC } from '../../fixtures/p11kit-rpc/attribute-classes';

test('value classes follow the §5.5 table; unlisted types are byte strings', () => {
  assert.equal(attributeClass(0x1), 'byte');           // CKA_TOKEN
  assert.equal(attributeClass(0x405), 'byte');         // CKA_COLOR
  assert.equal(attributeClass(0x0), 'ulong');          // CKA_CLASS
  assert.equal(attributeClass(0x500), 'ulong');        // CKA_MECHANISM_TYPE
  assert.equal(attributeClass(0x110), 'date');
  assert.equal(attributeClass(0x40000600), 'mechanisms');
  assert.equal(attributeClass(0x40000212), 'template');
  assert.equal(attributeClass(0x40000213), 'bytes');   // DERIVE_TEMPLATE: raw bytes, §5.5
  assert.equal(attributeClass(0x172), 'bytes');        // CKA_DESTROYABLE is not in the table
  assert.equal(attributeClass(0x8c), 'bytes');         // CKA_NAME_HASH_ALGORITHM neither
  assert.equal(attributeClass(0xcf534301), 'bytes');   // vendor
});

test('the class table matches p11-kit 0.24.1\'s map_attribute_to_value_type (§5.5), row by row', () => {
  assert.deepEqual(BYTE_CLASS_TYPES, SPEC.byte);
  assert.deepEqual(ULONG_CLASS_TYPES, SPEC.ulong);
  assert.deepEqual(DATE_CLASS_TYPES, SPEC.date);
  assert.deepEqual(MECHANISM_ARRAY_CLASS_TYPES, SPEC.mechanisms);
  assert.deepEqual(TEMPLATE_CLASS_TYPES, SPEC.template);
  assert.deepEqual(BYTE_ARRAY_CLASS_TYPES, SPEC.bytes);
});

test('makeAttribute picks the wire form from the type', () => {
  assert.deepEqual(makeAttribute(0x1, true), { type: 1, kind: 'byte', value: 1 });
  assert.deepEqual(makeAttribute(0x0, 4), { type: 0, kind: 'ulong', value: 4 });
  assert.deepEqual(makeAttribute(0x40000600, [0x1081]), { type: 0x40000600, kind: 'mechanisms', value: [0x1081] });
  assert.deepEqual(makeAttribute(0x110, null), { type: 0x110, kind: 'date', value: null });
  assert.deepEqual(makeAttribute(0x3, Buffer.from('l')), { type: 3, kind: 'bytes', value: Buffer.from('l') });
  // Unlisted CK_BBOOL / CK_ULONG types: the client's raw native bytes (§5.5).
  assert.deepEqual(makeAttribute(0x172, true), { type: 0x172, kind: 'bytes', value: Buffer.from([1]) });
  assert.deepEqual(makeAttribute(0x8c, 0x250), { type: 0x8c, kind: 'bytes', value: Buffer.from('5002000000000000', 'hex') });
  assert.throws(() => makeAttribute(0x0, Buffer.alloc(8)), ProtocolError);
  assert.throws(() => makeAttribute(0x40000211, []), ProtocolError);
  assert.throws(() => nativeUlong(-1), ProtocolError);
  assert.deepEqual(unavailableAttribute(0x11), { type: 0x11, kind: 'unavailable' });
});

test('attrBool / attrUlong / attrBytes read both listed and native forms', () => {
  const bytes = (type: number, hex: string): Attribute => ({ type, kind: 'bytes', length: hex.length / 2, value: Buffer.from(hex, 'hex') });
  assert.equal(attrBool({ type: 1, kind: 'byte', length: 1, value: 0 }), false);
  assert.equal(attrBool(bytes(0x172, '01')), true);
  assert.equal(attrBool(bytes(0x172, '0100')), undefined);
  assert.equal(attrBool({ type: 1, kind: 'unavailable' }), undefined);
  assert.equal(attrUlong({ type: 0, kind: 'ulong', length: 8, value: 3 }), 3);
  assert.equal(attrUlong(bytes(0x8c, '5002000000000000')), 0x250);
  assert.equal(attrUlong(bytes(0x8c, '50020000')), 0x250);
  assert.equal(attrUlong(bytes(0x8c, 'ffffffffffffffff')), undefined);
  assert.equal(attrUlong(bytes(0x8c, '50')), undefined);
  assert.deepEqual(attrBytes(bytes(3, '6162')), Buffer.from('ab'));
  assert.equal(attrBytes({ type: 0x110, kind: 'date', length: 0, value: null }), null);
  assert.equal(attrBytes({ type: 0, kind: 'ulong', length: 8, value: 3 }), undefined);
});

test('nativeSize is the N of §8.2', () => {
  assert.equal(nativeSize({ type: 1, kind: 'byte', value: 1 }), 1);
  assert.equal(nativeSize({ type: 0, kind: 'ulong', value: 1 }), 8);
  assert.equal(nativeSize({ type: 0x40000600, kind: 'mechanisms', value: [1, 2] }), 16);
  assert.equal(nativeSize({ type: 0x110, kind: 'date', value: Buffer.from('20240131') }), 8);
  assert.equal(nativeSize({ type: 3, kind: 'bytes', value: null }), 0);
});

test('fitBytes follows §7.1: bytes only into a real buffer that holds them', () => {
  const sig = Buffer.alloc(256);
  assert.deepEqual(fitBytes({ capacity: 0, sizeQuery: true }, sig), { lengthOnly: 256 });
  assert.deepEqual(fitBytes({ capacity: 4, sizeQuery: false }, sig), { lengthOnly: 256 });
  assert.equal(fitBytes({ capacity: 256, sizeQuery: false }, sig), sig);
  assert.deepEqual(fitBytes({ capacity: 0, sizeQuery: true }, Buffer.alloc(0)), { lengthOnly: 0 });
  assert.deepEqual(fitBytes({ capacity: 0, sizeQuery: false }, Buffer.alloc(0)), Buffer.alloc(0));
  assert.ok(isLengthOnly(fitBytes({ capacity: 1, sizeQuery: false }, sig)));
});

test('fitUlongs follows §7.2: values if they fit, including the empty list', () => {
  assert.deepEqual(fitUlongs({ capacity: 0, sizeQuery: true }, [0x11]), { countOnly: 1 });
  assert.deepEqual(fitUlongs({ capacity: 0, sizeQuery: true }, []), []);
  assert.deepEqual(fitUlongs({ capacity: 8, sizeQuery: false }, [0x11]), [0x11]);
});

test('blankPad truncates on a character boundary; padText refuses overflow', () => {
  assert.deepEqual(blankPad('ab', 4), Buffer.from('ab  '));
  assert.deepEqual(blankPad('abcdef', 4), Buffer.from('abcd'));
  assert.deepEqual(blankPad('aé', 2), Buffer.from('a '));          // é is 2 bytes: dropped whole
  assert.deepEqual(blankPad('日本', 5), Buffer.from('日  ', 'utf8')); // 3 bytes kept, 2 blanks
  assert.throws(() => padText('abcde', 4), ProtocolError);
  assert.deepEqual(padText(Buffer.from([0xe6]), 2), Buffer.from([0xe6, 0x20]));
});

test('paramsOfKind narrows mechanism parameters', () => {
  const pss = { type: 0xd, params: { kind: 'rsa-pkcs-pss', hashAlg: 0x250, mgf: 2, sLen: 32 } } as const;
  assert.equal(paramsOfKind(pss, 'rsa-pkcs-pss')?.sLen, 32);
  assert.equal(paramsOfKind(pss, 'rsa-pkcs-oaep'), undefined);
  assert.equal(paramsOfKind({ type: 1, params: null }, 'bytes'), undefined);
});
