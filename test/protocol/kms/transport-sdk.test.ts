// The transport driven by the real @aws-sdk/client-kms v3: what the SDK signs we verify, what we
// answer the SDK parses, and our error envelope surfaces as the SDK's named exceptions.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DescribeKeyCommand, EncryptCommand, GenerateRandomCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { KmsError, optionalStringMap, requireBlob, requireString, writeBlob, type KmsRequest } from '../../../src/protocol/kms';
import { ACCESS_KEY_ID, SECRET_ACCESS_KEY, makeClient, startServer, type TestPrincipal } from './helpers';

test('GenerateRandom: the server sees the operation, input and principal; the SDK parses the answer', async () => {
  const server = await startServer();
  const client = makeClient(server.endpoint);
  try {
    const out = await client.send(new GenerateRandomCommand({ NumberOfBytes: 32 }));
    assert.equal(server.seen.length, 1);
    const seen = server.seen[0];
    assert.equal(seen.operation, 'GenerateRandom');
    assert.deepEqual(seen.input, { NumberOfBytes: 32 });
    assert.deepEqual(seen.principal, { user: 'alice' });
    assert.equal(seen.accessKeyId, ACCESS_KEY_ID);
    assert.equal(seen.region, 'us-east-1');
    assert.deepEqual(Buffer.from(out.Plaintext!), Buffer.from(Array.from({ length: 32 }, (_, i) => i)));
    assert.equal(out.$metadata.httpStatusCode, 200);
    assert.equal(out.$metadata.requestId, seen.requestId);
  } finally {
    client.destroy();
    await server.close();
  }
});

test('blobs and maps: the SDK base64-encodes, shapes.ts decodes, and our base64 answer decodes in the SDK', async () => {
  const server = await startServer({
    dispatch: async (req: KmsRequest<TestPrincipal>) => {
      const keyId = requireString(req.input, 'KeyId', { min: 1, max: 2048 });
      const plaintext = requireBlob(req.input, 'Plaintext', { min: 1, max: 4096 });
      const context = optionalStringMap(req.input, 'EncryptionContext');
      return { KeyId: keyId, CiphertextBlob: writeBlob(Buffer.concat([Buffer.from(JSON.stringify(context)), plaintext.reverse()])) };
    },
  });
  const client = makeClient(server.endpoint);
  try {
    const out = await client.send(new EncryptCommand({
      KeyId: 'alias/test', Plaintext: Buffer.from([1, 2, 3, 250]), EncryptionContext: { purpose: 'test' },
    }));
    assert.equal(out.KeyId, 'alias/test');
    assert.deepEqual(Buffer.from(out.CiphertextBlob!), Buffer.concat([Buffer.from('{"purpose":"test"}'), Buffer.from([250, 3, 2, 1])]));
    assert.equal(typeof server.seen[0].input.Plaintext, 'string'); // base64 on the wire
  } finally {
    client.destroy();
    await server.close();
  }
});

test('an operation without input still arrives as an object', async () => {
  const server = await startServer();
  const client = makeClient(server.endpoint);
  try {
    await client.send(new ListKeysCommand({}));
    assert.equal(server.seen[0].operation, 'ListKeys');
    assert.deepEqual(server.seen[0].input, {});
  } finally {
    client.destroy();
    await server.close();
  }
});

test('wrong secret: the SDK throws InvalidSignatureException and dispatch never runs', async () => {
  const server = await startServer();
  const client = makeClient(server.endpoint, { credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: 'not-the-secret' } });
  try {
    await assert.rejects(client.send(new GenerateRandomCommand({ NumberOfBytes: 8 })), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, 'InvalidSignatureException');
      assert.match(err.message, /^The request signature we calculated does not match the signature you provided/);
      assert.equal(err.$metadata?.httpStatusCode, 400);
      assert.ok(!err.message.includes(SECRET_ACCESS_KEY) && !err.message.includes('not-the-secret'));
      return true;
    });
    assert.equal(server.seen.length, 0);
  } finally {
    client.destroy();
    await server.close();
  }
});

test('unknown access key: the SDK throws UnrecognizedClientException', async () => {
  const server = await startServer();
  const client = makeClient(server.endpoint, { credentials: { accessKeyId: 'AKIDNOBODY', secretAccessKey: SECRET_ACCESS_KEY } });
  try {
    await assert.rejects(client.send(new GenerateRandomCommand({ NumberOfBytes: 8 })), (err: Error) => {
      assert.equal(err.name, 'UnrecognizedClientException');
      assert.equal(err.message, 'The security token included in the request is invalid.');
      return true;
    });
    assert.equal(server.seen.length, 0);
  } finally {
    client.destroy();
    await server.close();
  }
});

test('an operation error with __type NotFoundException surfaces as NotFoundException (404)', async () => {
  const server = await startServer();
  const client = makeClient(server.endpoint);
  try {
    await assert.rejects(client.send(new DescribeKeyCommand({ KeyId: 'alias/missing' })),
      (err: Error & { $fault?: string; $metadata?: { httpStatusCode?: number; requestId?: string } }) => {
        assert.equal(err.name, 'NotFoundException');
        assert.equal(err.message, "Key 'alias/missing' does not exist");
        assert.equal(err.$fault, 'client');
        assert.equal(err.$metadata?.httpStatusCode, 404);
        assert.equal(err.$metadata?.requestId, server.seen[0].requestId);
        return true;
      });
  } finally {
    client.destroy();
    await server.close();
  }
});

test('KMSInvalidStateException (409) and internal errors (500, detail kept server-side)', async () => {
  const logged: unknown[] = [];
  const server = await startServer({
    dispatch: async (req) => {
      if (req.operation === 'DescribeKey') throw new KmsError('KMSInvalidStateException', 'Key is pending deletion');
      throw new Error('disk on fire: secret detail');
    },
    onInternalError: (err) => { logged.push(err); },
  });
  const client = makeClient(server.endpoint);
  try {
    await assert.rejects(client.send(new DescribeKeyCommand({ KeyId: 'k' })), (err: Error & { $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, 'KMSInvalidStateException');
      assert.equal(err.$metadata?.httpStatusCode, 409);
      return true;
    });
    await assert.rejects(client.send(new GenerateRandomCommand({ NumberOfBytes: 1 })), (err: Error & { $fault?: string; $metadata?: { httpStatusCode?: number } }) => {
      assert.equal(err.name, 'KMSInternalException');
      assert.equal(err.$fault, 'server');
      assert.equal(err.$metadata?.httpStatusCode, 500);
      assert.ok(!err.message.includes('disk on fire'));
      return true;
    });
    assert.equal(logged.length, 1);
  } finally {
    client.destroy();
    await server.close();
  }
});

test('mapError turns the API layer\'s own errors into KMS errors', async () => {
  class NoSuchKey extends Error {}
  const server = await startServer({
    dispatch: async () => { throw new NoSuchKey('x'); },
    mapError: (err) => (err instanceof NoSuchKey ? new KmsError('NotFoundException', 'Key not found') : undefined),
  });
  const client = makeClient(server.endpoint);
  try {
    await assert.rejects(client.send(new DescribeKeyCommand({ KeyId: 'k' })), { name: 'NotFoundException', message: 'Key not found' });
  } finally {
    client.destroy();
    await server.close();
  }
});

test('a client clock 20 minutes slow is refused, then the SDK corrects from our Date header and retries', async () => {
  const server = await startServer();
  const client = makeClient(server.endpoint, { maxAttempts: 3, systemClockOffset: -20 * 60 * 1000 });
  try {
    const out = await client.send(new GenerateRandomCommand({ NumberOfBytes: 4 }));
    assert.equal(out.Plaintext?.length, 4);
    assert.equal(out.$metadata.attempts, 2);
  } finally {
    client.destroy();
    await server.close();
  }
});

test('a region outside the configured list is refused', async () => {
  const server = await startServer({ regions: ['eu-west-2'] });
  const client = makeClient(server.endpoint);
  try {
    await assert.rejects(client.send(new GenerateRandomCommand({ NumberOfBytes: 4 })),
      { name: 'InvalidSignatureException', message: 'Credential should be scoped to a valid region.' });
  } finally {
    client.destroy();
    await server.close();
  }
});
