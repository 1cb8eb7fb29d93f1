// The transport's refusals, driven over raw HTTP with requests the real SDK signed (then altered).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { GenerateRandomCommand } from '@aws-sdk/client-kms';
import { rawRequest, replay, signWithSdk, startServer, type RawResponse } from './helpers';

const generateRandom = (n: number) => (c: { send(cmd: GenerateRandomCommand): Promise<unknown> }) => c.send(new GenerateRandomCommand({ NumberOfBytes: n }));

function assertKmsError(res: RawResponse, status: number, type: string, message?: RegExp): void {
  assert.equal(res.status, status, res.body);
  assert.equal(res.headers['content-type'], 'application/x-amz-json-1.1');
  assert.equal(res.headers['x-amzn-errortype'], type);
  assert.match(String(res.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
  assert.equal(res.json?.__type, type);
  if (message) assert.match(String(res.json?.message), message);
}

test('an SDK-signed request replayed as is succeeds, with the AWS JSON 1.1 envelope', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(3));
    const res = await replay(server.port, signed);
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'application/x-amz-json-1.1');
    assert.equal(res.headers['x-amzn-requestid'], server.seen[0].requestId);
    assert.deepEqual(res.json, { Plaintext: Buffer.from([0, 1, 2]).toString('base64') });
  } finally {
    await server.close();
  }
});

test('a stale x-amz-date is refused with "Signature expired"', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(3), { config: { systemClockOffset: -16 * 60 * 1000 } });
    const res = await replay(server.port, signed);
    assertKmsError(res, 400, 'InvalidSignatureException',
      /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 15 min\.\)$/);
    assert.equal(server.seen.length, 0);
  } finally {
    await server.close();
  }
});

test('a request dated 16 minutes ahead is refused as not yet current', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(3), { config: { systemClockOffset: 16 * 60 * 1000 } });
    assertKmsError(await replay(server.port, signed), 400, 'InvalidSignatureException', /^Signature not yet current: /);
  } finally {
    await server.close();
  }
});

test('a body altered after signing is refused', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(32));
    assert.equal(signed.body, '{"NumberOfBytes":32}');
    const tampered = '{"NumberOfBytes":64}'; // same length, so Content-Length still matches
    assertKmsError(await replay(server.port, signed, { body: tampered }), 400, 'InvalidSignatureException',
      /x-amz-content-sha256' header does not match/);
    // Without the claimed hash the body hash still enters the signature, which then fails.
    const headers = { ...signed.headers };
    delete headers['x-amz-content-sha256'];
    assertKmsError(await replay(server.port, signed, { body: tampered, headers }), 400, 'InvalidSignatureException',
      /^The request signature we calculated does not match/);
    assert.equal(server.seen.length, 0);
  } finally {
    await server.close();
  }
});

test('a signed header altered after signing (the target) is refused', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(32));
    const headers = { ...signed.headers, 'x-amz-target': 'TrentService.ListKeys' };
    assertKmsError(await replay(server.port, signed, { headers }), 400, 'InvalidSignatureException', /^The request signature we calculated/);
  } finally {
    await server.close();
  }
});

test('X-Amz-Target must be covered by the signature, so a request cannot be replayed as another operation', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(32));
    assert.match(signed.headers.authorization, /SignedHeaders=[^,]*;x-amz-target;/); // the SDK signs it
    const authorization = signed.headers.authorization.replace(';x-amz-target;', ';');
    assertKmsError(await replay(server.port, signed, { headers: { ...signed.headers, authorization } }), 400,
      'InvalidSignatureException', /^'X-Amz-Target' must be a 'SignedHeader'/);
  } finally {
    await server.close();
  }
});

test('a body over the cap is refused with 413 and the connection is closed', async () => {
  const server = await startServer({ maxBodyBytes: 1024 });
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(3), { body: `{"Pad":"${'x'.repeat(2000)}"}` });
    const declared = await replay(server.port, signed);
    assertKmsError(declared, 413, 'ValidationException', /exceeds the limit of 1024 bytes/);
    assert.equal(declared.headers.connection, 'close');

    // Chunked: no Content-Length to refuse up front; the reader stops once past the cap.
    const headers = { ...signed.headers };
    delete headers['content-length'];
    const chunked = await rawRequest(server.port, { headers, chunks: Array.from({ length: 64 }, () => Buffer.alloc(512, 0x20)) });
    assertKmsError(chunked, 413, 'ValidationException');
    assert.equal(chunked.headers.connection, 'close');
    assert.equal(server.seen.length, 0);
  } finally {
    await server.close();
  }
});

test('the default cap is 64 KiB', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(3), { body: `{"Pad":"${'x'.repeat(64 * 1024)}"}` });
    assertKmsError(await replay(server.port, signed), 413, 'ValidationException', /65536 bytes/);
    const fits = await signWithSdk(server.endpoint, generateRandom(3), { body: `{"Pad":"${'x'.repeat(60 * 1024)}"}` });
    assert.equal((await replay(server.port, fits)).status, 200);
  } finally {
    await server.close();
  }
});

test('a wrong Content-Type is refused with 415', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(3));
    const res = await replay(server.port, signed, { headers: { ...signed.headers, 'content-type': 'application/json' } });
    assertKmsError(res, 415, 'UnsupportedMediaTypeException', /application\/x-amz-json-1\.1/);
  } finally {
    await server.close();
  }
});

test('a missing or foreign X-Amz-Target is an UnknownOperationException', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(3));
    const headers = { ...signed.headers };
    delete headers['x-amz-target'];
    assertKmsError(await replay(server.port, signed, { headers }), 400, 'UnknownOperationException', /X-Amz-Target/);
    const foreign = { ...signed.headers, 'x-amz-target': 'DynamoDB_20120810.ListTables' };
    assertKmsError(await replay(server.port, signed, { headers: foreign }), 400, 'UnknownOperationException');
  } finally {
    await server.close();
  }
});

test('malformed JSON, correctly signed, is a SerializationException; so is a non-object', async () => {
  const server = await startServer();
  try {
    const broken = await signWithSdk(server.endpoint, generateRandom(3), { body: '{"NumberOfBytes":' });
    assertKmsError(await replay(server.port, broken), 400, 'SerializationException');
    const array = await signWithSdk(server.endpoint, generateRandom(3), { body: '[1,2]' });
    assertKmsError(await replay(server.port, array), 400, 'SerializationException', /JSON object/);
    assert.equal(server.seen.length, 0);
  } finally {
    await server.close();
  }
});

test('malformed JSON without a valid signature is refused for the signature, not parsed', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(3));
    const headers = { ...signed.headers };
    delete headers['x-amz-content-sha256'];
    const body = '{"NumberOfBytes"';
    const res = await replay(server.port, signed, { body, headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } });
    assertKmsError(res, 400, 'InvalidSignatureException');
  } finally {
    await server.close();
  }
});

test('no Authorization header → MissingAuthenticationTokenException; a mangled one → IncompleteSignatureException', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(3));
    const headers = { ...signed.headers };
    delete headers.authorization;
    assertKmsError(await replay(server.port, signed, { headers }), 400, 'MissingAuthenticationTokenException');
    const mangled = { ...signed.headers, authorization: signed.headers.authorization.replace(/, Signature=[0-9a-f]+/, '') };
    assertKmsError(await replay(server.port, signed, { headers: mangled }), 400, 'IncompleteSignatureException',
      /requires 'Signature' parameter/);
  } finally {
    await server.close();
  }
});

test('only POST / is served', async () => {
  const server = await startServer();
  try {
    const signed = await signWithSdk(server.endpoint, generateRandom(3));
    assertKmsError(await replay(server.port, signed, { path: '/other' }), 404, 'UnknownOperationException');
    const get = await rawRequest(server.port, { method: 'GET', path: '/' });
    assertKmsError(get, 405, 'UnknownOperationException');
  } finally {
    await server.close();
  }
});
