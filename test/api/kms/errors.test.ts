// Bad input and refused requests through @aws-sdk/client-kms: each surfaces as the AWS error type
// and status the SDK expects, with no stack trace and no plaintext in any message or log line.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  ReplicateKeyCommand, CreateCustomKeyStoreCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateDataKeyCommand,
  GenerateRandomCommand, SignCommand, TagResourceCommand, VerifyCommand,
} from '@aws-sdk/client-kms';
import { client, kmsFixture, rejectsWith, type KmsFixture } from './helpers';
import { replay, signWithSdk } from '../../protocol/kms/helpers';

let f: KmsFixture;
let symmetric: string;
let signing: string;
const SECRET_TEXT = 'PLAINTEXT-MARKER-7f3a9c';
const errors: Error[] = [];
const expectError = async (p: Promise<unknown>, name: string, status?: number) => { errors.push(await rejectsWith(p, name, status)); };

before(async () => {
  f = await kmsFixture();
  symmetric = (await f.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  signing = (await f.kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
});
after(async () => { await f.close(); });

const creds = () => f.server.credentials!.kms as { accessKeyId: string; secretAccessKey: string };
const port = () => Number(new URL(f.server.url).port);

test('wrong member types are SerializationException; missing required members and broken constraints ValidationException', async () => {
  const cfg = { credentials: creds() };
  for (const body of [`{"KeyId":123,"Plaintext":"aGk="}`, `{"KeyId":"${symmetric}","Plaintext":"%%not base64%%"}`, `{"KeyId":"${symmetric}","Plaintext":"aGk=","EncryptionContext":{"a":1}}`]) {
    const req = await signWithSdk(f.server.url, (c) => c.send(new EncryptCommand({ KeyId: symmetric, Plaintext: Buffer.from('hi') })), { config: cfg, body });
    const res = await replay(port(), req);
    assert.equal(res.status, 400, body);
    assert.equal(res.json!.__type, 'SerializationException', body);
  }
  await expectError(f.kms.send(new EncryptCommand({ KeyId: symmetric } as never)), 'ValidationException', 400);
  await expectError(f.kms.send(new EncryptCommand({ Plaintext: Buffer.from('x') } as never)), 'ValidationException', 400);
  await expectError(f.kms.send(new SignCommand({ KeyId: signing, Message: Buffer.from('x') } as never)), 'ValidationException', 400);
  await expectError(f.kms.send(new GenerateRandomCommand({ NumberOfBytes: 0 })), 'ValidationException', 400);
  await expectError(f.kms.send(new GenerateDataKeyCommand({ KeyId: symmetric })), 'ValidationException', 400);
  await expectError(f.kms.send(new GenerateDataKeyCommand({ KeyId: symmetric, KeySpec: 'AES_256', NumberOfBytes: 32 })), 'ValidationException', 400);
  await expectError(f.kms.send(new SignCommand({ KeyId: signing, Message: Buffer.from('x'), SigningAlgorithm: 'NOPE' as never })), 'ValidationException', 400);
});

test('plaintext over 4096 bytes is ValidationException; a body over the cap is refused before it is read', async () => {
  await expectError(f.kms.send(new EncryptCommand({ KeyId: symmetric, Plaintext: Buffer.alloc(4097, 0x41) })), 'ValidationException', 400);
  const e = await rejectsWith(f.kms.send(new EncryptCommand({ KeyId: symmetric, Plaintext: Buffer.alloc(70_000, 0x41) })), 'ValidationException', 413);
  errors.push(e);
});

test('unknown keys are NotFoundException (404), by id, ARN and alias', async () => {
  await expectError(f.kms.send(new DescribeKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000' })), 'NotFoundException', 404);
  await expectError(f.kms.send(new EncryptCommand({ KeyId: 'arn:aws:kms:us-east-1:111122223333:key/00000000-0000-4000-8000-000000000000', Plaintext: Buffer.from('x') })), 'NotFoundException', 404);
  await expectError(f.kms.send(new EncryptCommand({ KeyId: 'alias/none', Plaintext: Buffer.from('x') })), 'NotFoundException', 404);
  await expectError(f.kms.send(new DescribeKeyCommand({ KeyId: 'arn:aws:kms:broken' })), 'NotFoundException', 404);
});

test('wrong key usage or algorithm is InvalidKeyUsageException', async () => {
  await expectError(f.kms.send(new SignCommand({ KeyId: symmetric, Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' })), 'InvalidKeyUsageException', 400);
  await expectError(f.kms.send(new EncryptCommand({ KeyId: signing, Plaintext: Buffer.from('x') })), 'InvalidKeyUsageException', 400);
  await expectError(f.kms.send(new SignCommand({ KeyId: signing, Message: Buffer.from('x'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })), 'InvalidKeyUsageException', 400);
  await expectError(f.kms.send(new EncryptCommand({ KeyId: symmetric, Plaintext: Buffer.from('x'), EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' })), 'InvalidKeyUsageException', 400);
});

test('tampered ciphertext, wrong or missing encryption context: InvalidCiphertextException; another key: IncorrectKeyException', async () => {
  const enc = await f.kms.send(new EncryptCommand({ KeyId: symmetric, Plaintext: Buffer.from(SECRET_TEXT), EncryptionContext: { user: 'alice' } }));
  const blob = Buffer.from(enc.CiphertextBlob!);
  for (const i of [25, blob.length - 20, blob.length - 1]) {
    const bad = Buffer.from(blob);
    bad[i] ^= 0x01;
    await expectError(f.kms.send(new DecryptCommand({ CiphertextBlob: bad, EncryptionContext: { user: 'alice' } })), 'InvalidCiphertextException', 400);
  }
  await expectError(f.kms.send(new DecryptCommand({ CiphertextBlob: blob.subarray(0, 40) })), 'InvalidCiphertextException', 400);
  await expectError(f.kms.send(new DecryptCommand({ CiphertextBlob: Buffer.from('not a ciphertext at all') })), 'InvalidCiphertextException', 400);
  await expectError(f.kms.send(new DecryptCommand({ CiphertextBlob: blob, EncryptionContext: { user: 'mallory' } })), 'InvalidCiphertextException', 400);
  await expectError(f.kms.send(new DecryptCommand({ CiphertextBlob: blob })), 'InvalidCiphertextException', 400);
  const other = (await f.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await expectError(f.kms.send(new DecryptCommand({ CiphertextBlob: blob, KeyId: other, EncryptionContext: { user: 'alice' } })), 'IncorrectKeyException', 400);
});

test('a signature that does not verify is KMSInvalidSignatureException', async () => {
  const s = await f.kms.send(new SignCommand({ KeyId: signing, Message: Buffer.from('signed'), SigningAlgorithm: 'ECDSA_SHA_256' }));
  await expectError(f.kms.send(new VerifyCommand({ KeyId: signing, Message: Buffer.from('other'), SigningAlgorithm: 'ECDSA_SHA_256', Signature: s.Signature })), 'KMSInvalidSignatureException', 400);
  await expectError(f.kms.send(new VerifyCommand({ KeyId: signing, Message: Buffer.from('signed'), SigningAlgorithm: 'ECDSA_SHA_256', Signature: Buffer.from('garbage') })), 'KMSInvalidSignatureException', 400);
  await expectError(f.kms.send(new SignCommand({ KeyId: signing, Message: Buffer.alloc(31), MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })), 'ValidationException', 400);
});

test('SigV4: wrong secret, stale signature, unknown or deleted access key', async () => {
  const { accessKeyId, secretAccessKey } = creds();
  const wrong = client(f.server.url, accessKeyId, secretAccessKey + 'x');
  const stale = new (f.kms.constructor as typeof import('@aws-sdk/client-kms').KMSClient)({ endpoint: f.server.url, region: 'us-east-1',
    credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1, systemClockOffset: -20 * 60 * 1000 });
  const unknown = client(f.server.url, 'AKIAUNKNOWNUNKNOWN00', secretAccessKey);
  try {
    await expectError(wrong.send(new GenerateRandomCommand({ NumberOfBytes: 8 })), 'InvalidSignatureException', 400);
    const e = await rejectsWith(stale.send(new GenerateRandomCommand({ NumberOfBytes: 8 })), 'InvalidSignatureException', 400);
    assert.match(e.message, /Signature expired/);
    await expectError(unknown.send(new GenerateRandomCommand({ NumberOfBytes: 8 })), 'UnrecognizedClientException', 400);
  } finally { wrong.destroy(); stale.destroy(); unknown.destroy(); }
  const other = await f.otherUser('revoked');
  await other.send(new GenerateRandomCommand({ NumberOfBytes: 8 }));
  const officer = await f.server.login(f.server.credentials!.officer.username, f.server.credentials!.officer.password);
  const keys = (await officer('GET', '/v1/access-keys')).body.accessKeys as { accessKeyId: string; username: string }[];
  for (const k of keys.filter((x) => x.username === 'revoked')) assert.equal((await officer('DELETE', `/v1/access-keys/${k.accessKeyId}`)).status, 200);
  await expectError(other.send(new GenerateRandomCommand({ NumberOfBytes: 8 })), 'UnrecognizedClientException', 400);
});

test('operations Inkan does not offer are UnsupportedOperationException', async () => {
  await expectError(f.kms.send(new ReplicateKeyCommand({ KeyId: symmetric, ReplicaRegion: 'eu-west-1' })), 'UnsupportedOperationException', 400);
  await expectError(f.kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'x' })), 'UnsupportedOperationException', 400);
  await expectError(f.kms.send(new CreateKeyCommand({ MultiRegion: true })), 'UnsupportedOperationException', 400);
  await expectError(f.kms.send(new TagResourceCommand({ KeyId: symmetric, Tags: Array.from({ length: 51 }, (_, i) => ({ TagKey: `k${i}`, TagValue: 'v' })) })), 'TagException', 400);
});

test('no error message carries a stack trace or plaintext; the log never carries plaintext', async () => {
  const b64 = Buffer.from(SECRET_TEXT).toString('base64');
  assert.ok(errors.length >= 25, `collected ${errors.length} errors`);
  for (const e of errors) {
    assert.doesNotMatch(e.message, /\n\s+at |\.ts:\d+|\.js:\d+/, e.message);
    assert.ok(!e.message.includes(SECRET_TEXT) && !e.message.includes(b64), e.message);
    assert.ok(!e.message.includes(creds().secretAccessKey), e.message);
  }
  const log = f.server.logs.join('\n');
  assert.ok(log.includes('"kms request"'));
  for (const secret of [SECRET_TEXT, b64, creds().secretAccessKey]) assert.ok(!log.includes(secret), 'secret in the log');
  assert.doesNotMatch(log, /kms internal error/);
});
