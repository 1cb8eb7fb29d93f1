// JSON 1.1 member readers/writers: AWS validation wording, Smithy's SerializationException for
// undecodable members, and no echo of values that could be secrets.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  KmsError, optionalBlob, optionalBoolean, optionalEnum, optionalInteger, optionalString, optionalStringList,
  optionalStringMap, optionalTimestamp, requireBlob, requireEnum, requireInteger, requireString, writeBlob, writeTimestamp,
} from '../../../src/protocol/kms';

function throwsKms(fn: () => unknown, type: string, message?: string | RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof KmsError, String(err));
    assert.equal(err.type, type);
    assert.equal(err.status, 400);
    if (typeof message === 'string') assert.equal(err.message, message);
    else if (message) assert.match(err.message, message);
    return true;
  });
}

test('requireBlob: base64 → bytes, with AWS length wording', () => {
  assert.deepEqual(requireBlob({ Plaintext: 'AQID' }, 'Plaintext', { min: 1, max: 4096 }), Buffer.from([1, 2, 3]));
  const big = Buffer.alloc(4097, 7).toString('base64');
  throwsKms(() => requireBlob({ Plaintext: big }, 'Plaintext', { min: 1, max: 4096 }), 'ValidationException',
    "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096");
  throwsKms(() => requireBlob({ Plaintext: '' }, 'Plaintext', { min: 1 }), 'ValidationException',
    "1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length greater than or equal to 1");
  throwsKms(() => requireBlob({}, 'Plaintext'), 'ValidationException',
    "1 validation error detected: Value null at 'plaintext' failed to satisfy constraint: Member must not be null");
  throwsKms(() => requireBlob({ Plaintext: null }, 'Plaintext'), 'ValidationException', /Member must not be null/);
});

test('blobs: only strict standard base64 with padding', () => {
  for (const bad of ['AQI', 'AQ==x', 'A-_B', 'AQID\n', 'AQ=D', '====', 'YQ']) {
    throwsKms(() => requireBlob({ CiphertextBlob: bad }, 'CiphertextBlob'), 'SerializationException', /base64/);
  }
  throwsKms(() => requireBlob({ CiphertextBlob: 12 }, 'CiphertextBlob'), 'SerializationException');
  assert.deepEqual(optionalBlob({ B: 'YQ==' }, 'B'), Buffer.from('a'));
  assert.deepEqual(optionalBlob({ B: 'YWI=' }, 'B'), Buffer.from('ab'));
  assert.equal(optionalBlob({}, 'B'), undefined);
});

test('strings: length, pattern, type; values are never echoed', () => {
  assert.equal(requireString({ KeyId: 'k' }, 'KeyId', { min: 1, max: 2048 }), 'k');
  throwsKms(() => requireString({ KeyId: '' }, 'KeyId', { min: 1 }), 'ValidationException',
    "1 validation error detected: Value at 'keyId' failed to satisfy constraint: Member must have length greater than or equal to 1");
  const alias = { min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ };
  throwsKms(() => requireString({ AliasName: 'alias/top secret!' }, 'AliasName', alias), 'ValidationException',
    "1 validation error detected: Value at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$");
  throwsKms(() => requireString({ KeyId: 5 }, 'KeyId'), 'SerializationException', "Member 'KeyId' must be a string.");
  assert.equal(optionalString({ Description: null }, 'Description'), undefined);
});

test('inherited properties are not members', () => {
  throwsKms(() => requireString({}, 'constructor'), 'ValidationException', /Value null at 'constructor'/);
  assert.equal(optionalStringMap({}, 'toString'), undefined);
});

test('integers: range wording with the value shown, as AWS does', () => {
  assert.equal(optionalInteger({ NumberOfBytes: 1024 }, 'NumberOfBytes', { min: 1, max: 1024 }), 1024);
  assert.equal(optionalInteger({}, 'NumberOfBytes', { min: 1 }), undefined);
  throwsKms(() => optionalInteger({ NumberOfBytes: 2000 }, 'NumberOfBytes', { min: 1, max: 1024 }), 'ValidationException',
    "1 validation error detected: Value '2000' at 'numberOfBytes' failed to satisfy constraint: Member must have value less than or equal to 1024");
  throwsKms(() => requireInteger({ NumberOfBytes: 0 }, 'NumberOfBytes', { min: 1 }), 'ValidationException',
    /Value '0' at 'numberOfBytes' failed to satisfy constraint: Member must have value greater than or equal to 1$/);
  throwsKms(() => optionalInteger({ Limit: 1.5 }, 'Limit'), 'SerializationException');
  throwsKms(() => optionalInteger({ Limit: '5' }, 'Limit'), 'SerializationException');
});

test('enums', () => {
  const specs = ['AES_256', 'AES_128'] as const;
  assert.equal(optionalEnum({ KeySpec: 'AES_128' }, 'KeySpec', specs), 'AES_128');
  throwsKms(() => optionalEnum({ KeySpec: 'AES_512' }, 'KeySpec', specs), 'ValidationException',
    "1 validation error detected: Value 'AES_512' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]");
  throwsKms(() => requireEnum({ KeySpec: 'x y\nz' }, 'KeySpec', specs), 'ValidationException', /^1 validation error detected: Value at 'keySpec'/);
  throwsKms(() => requireEnum({}, 'KeySpec', specs), 'ValidationException', /must not be null/);
});

test('string maps (EncryptionContext): strings only, prototype-safe', () => {
  const ctx = optionalStringMap(JSON.parse('{"Input":{"b":"2","a":"1","__proto__":"x"}}') as Record<string, unknown>, 'Input');
  assert.deepEqual(Object.keys(ctx!), ['b', 'a', '__proto__']);
  assert.equal(Object.getPrototypeOf(ctx), Object.prototype);
  assert.equal(Object.getOwnPropertyDescriptor(ctx, '__proto__')?.value, 'x');
  throwsKms(() => optionalStringMap({ EncryptionContext: { a: 1 } }, 'EncryptionContext'), 'SerializationException');
  throwsKms(() => optionalStringMap({ EncryptionContext: ['a'] }, 'EncryptionContext'), 'SerializationException');
  throwsKms(() => optionalStringMap({ EncryptionContext: { a: 'secret-value' } }, 'EncryptionContext', { value: { max: 3 } }),
    'ValidationException', /^((?!secret-value).)*$/);
});

test('booleans, string lists, timestamps', () => {
  assert.equal(optionalBoolean({ DryRun: false }, 'DryRun'), false);
  throwsKms(() => optionalBoolean({ DryRun: 'true' }, 'DryRun'), 'SerializationException');
  assert.deepEqual(optionalStringList({ GrantTokens: ['a', 'b'] }, 'GrantTokens', { max: 10 }), ['a', 'b']);
  throwsKms(() => optionalStringList({ GrantTokens: Array(11).fill('t') }, 'GrantTokens', { max: 10 }), 'ValidationException',
    "1 validation error detected: Value at 'grantTokens' failed to satisfy constraint: Member must have length less than or equal to 10");
  throwsKms(() => optionalStringList({ GrantTokens: [1] }, 'GrantTokens'), 'SerializationException');
  assert.equal(optionalTimestamp({ ValidTo: 1700000000.123 }, 'ValidTo')?.getTime(), 1700000000123);
  throwsKms(() => optionalTimestamp({ ValidTo: '2024-01-01' }, 'ValidTo'), 'SerializationException');
});

test('writers: base64 blobs (views respected) and epoch-second timestamps', () => {
  const backing = Buffer.from([9, 1, 2, 3, 9]);
  assert.equal(writeBlob(backing.subarray(1, 4)), 'AQID');
  assert.equal(writeBlob(new Uint8Array([255])), '/w==');
  assert.equal(writeTimestamp(new Date(1700000000123)), 1700000000.123);
  assert.equal(writeTimestamp(1700000000000), 1700000000);
});
