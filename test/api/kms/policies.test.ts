// What real KMS clients still missed, through @aws-sdk/client-kms: key policies (stored and
// returned; Allow/Deny over this account's principals and per-key kms: actions enforced by the
// core on every face; anything unenforceable refused; the lockout check), GetKeyLastUsage from the
// audit trail, DeleteImportedKeyMaterial and re-import, and ED25519_PH_SHA_512 (checked with
// @noble/curves' ed25519ph, RAW and DIGEST agreeing).
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { ed25519ph } from '@noble/curves/ed25519';
import {
  CreateKeyCommand, DecryptCommand, DeleteImportedKeyMaterialCommand, DescribeKeyCommand, EncryptCommand, GenerateMacCommand,
  GetKeyLastUsageCommand, GetKeyPolicyCommand, GetParametersForImportCommand, GetPublicKeyCommand, ImportKeyMaterialCommand,
  ListKeyPoliciesCommand, PutKeyPolicyCommand, SignCommand, VerifyCommand,
} from '@aws-sdk/client-kms';
import { kmsFixture, rejectsWith, type KmsFixture } from './helpers';

let f: KmsFixture;
let account = '';
let admin: (method: string, p: string, body?: unknown) => Promise<{ status: number; body: any }>;
before(async () => {
  f = await kmsFixture();
  admin = await f.server.login(f.server.credentials!.user.username, f.server.credentials!.user.password);
});
after(async () => { await f.close(); });

const me = () => `arn:aws:iam::${account}:user/${f.server.credentials!.user.username}`;
const policy = (...statements: object[]) => JSON.stringify({ Version: '2012-10-17', Statement: statements });
const allowAll = (principal = me()) => ({ Effect: 'Allow', Principal: { AWS: principal }, Action: 'kms:*', Resource: '*' });

async function newKey(spec: 'SYMMETRIC_DEFAULT' | 'RSA_2048' = 'SYMMETRIC_DEFAULT', usage: 'ENCRYPT_DECRYPT' | 'SIGN_VERIFY' = 'ENCRYPT_DECRYPT'): Promise<string> {
  const m = (await f.kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage }))).KeyMetadata!;
  account = m.AWSAccountId!;
  return m.KeyId!;
}

test('a key without a policy reports the default policy (the account root, kms:*) and one policy name', async () => {
  const keyId = await newKey();
  const got = await f.kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }));
  const doc = JSON.parse(got.Policy!);
  assert.equal(doc.Statement[0].Principal.AWS, `arn:aws:iam::${account}:root`);
  assert.equal(doc.Statement[0].Action, 'kms:*');
  assert.deepEqual((await f.kms.send(new ListKeyPoliciesCommand({ KeyId: keyId }))).PolicyNames, ['default']);
  await rejectsWith(f.kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'other' })), 'NotFoundException');
});

test('a Deny is enforced by the core on every face: KMS Encrypt and the admin face refuse, Decrypt still works', async () => {
  const keyId = await newKey();
  const blob = (await f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('before') }))).CiphertextBlob!;
  const text = policy(allowAll(), { Sid: 'no-new-ciphertexts', Effect: 'Deny', Principal: { AWS: me() }, Action: ['kms:Encrypt', 'kms:GenerateDataKey*'], Resource: '*' });
  await f.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: text }));
  assert.equal((await f.kms.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy, text);
  await rejectsWith(f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('after') })), 'AccessDeniedException');
  const viaAdmin = await admin('POST', `/v1/keys/${keyId}/encrypt`, { data: Buffer.from('x').toString('base64') });
  assert.deepEqual([viaAdmin.status, viaAdmin.body.error.code], [403, 'KEY_ACCESS_DENIED']);
  assert.equal(Buffer.from((await f.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'before');
});

test('what Inkan cannot enforce is refused, and the stored policy stays as it was', async () => {
  const keyId = await newKey();
  const before = (await f.kms.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy;
  const bad: [string, RegExp][] = [
    [policy({ ...allowAll(), Condition: { StringEquals: { 'kms:ViaService': 'ec2.us-east-1.amazonaws.com' } } }), /Condition is not supported/],
    [policy({ ...allowAll(), NotAction: 'kms:Decrypt' }), /NotAction is not supported/],
    [policy(allowAll('arn:aws:iam::111122223333:root')), /not a principal of this account/],
    [policy(allowAll(`arn:aws:iam::${account}:user/nobody-here`)), /no such user/],
    [policy(allowAll(`arn:aws:iam::${account}:role/Admin`)), /principals are this account/],
    [policy({ Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'kms:*', Resource: '*' }), /service/],
    [policy({ ...allowAll(), Action: 'kms:CreateGrant' }), /not enforced on one key/],
    [policy({ ...allowAll(), Action: 's3:GetObject' }), /only kms: actions/],
    [policy({ ...allowAll(), Resource: 'arn:aws:kms:us-east-1:111122223333:key/other' }), /not this key/],
    ['{not json', /not valid JSON/],
  ];
  for (const [text, message] of bad) {
    const e = await rejectsWith(f.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: text })), 'MalformedPolicyDocumentException');
    assert.match(e.message, message);
  }
  assert.equal((await f.kms.send(new GetKeyPolicyCommand({ KeyId: keyId }))).Policy, before);
});

test('the lockout check: a policy that stops the caller managing the key needs BypassPolicyLockoutSafetyCheck', async () => {
  const keyId = await newKey();
  const lockout = policy({ Effect: 'Allow', Principal: { AWS: me() }, Action: ['kms:Encrypt', 'kms:Decrypt', 'kms:DescribeKey', 'kms:GetKeyPolicy'], Resource: '*' });
  const e = await rejectsWith(f.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: lockout })), 'MalformedPolicyDocumentException');
  assert.match(e.message, /will not allow you to update the key policy/);
  await f.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: lockout, BypassPolicyLockoutSafetyCheck: true }));
  await f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('still usable') }));
  await rejectsWith(f.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: policy(allowAll()) })), 'AccessDeniedException');
  await rejectsWith(f.kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('x'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })), 'InvalidKeyUsageException');
});

test('CreateKey with a Policy: enforced from the start; describe denied hides nothing else', async () => {
  const text = policy(allowAll(), { Effect: 'Deny', Principal: { AWS: `arn:aws:iam::${(await newKey(), account)}:root` }, Action: 'kms:Sign', Resource: '*' });
  const keyId = (await f.kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY', Policy: text }))).KeyMetadata!.KeyId!;
  await rejectsWith(f.kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })), 'AccessDeniedException');
  const viaAdmin = await admin('POST', `/v1/keys/${keyId}/sign`, { data: Buffer.from('m').toString('base64') });
  assert.equal(viaAdmin.status, 403);
  await rejectsWith(f.kms.send(new CreateKeyCommand({ Policy: policy({ ...allowAll(), Condition: {} }) })), 'MalformedPolicyDocumentException');
});

test('GetKeyLastUsage: empty for a new key; then the newest use on any face, from the audit trail', async () => {
  const keyId = await newKey('RSA_2048', 'SIGN_VERIFY');
  const fresh = await f.kms.send(new GetKeyLastUsageCommand({ KeyId: keyId }));
  assert.deepEqual(fresh.KeyLastUsage, {});
  assert.equal(fresh.KeyCreationDate!.getTime(), fresh.TrackingStartDate!.getTime());
  const started = Date.now();
  await f.kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('m'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' }));
  const signed = await f.kms.send(new GetKeyLastUsageCommand({ KeyId: keyId }));
  assert.equal(signed.KeyLastUsage!.Operation, 'Sign');
  assert.ok(signed.KeyLastUsage!.Timestamp!.getTime() >= started - 1000);
  assert.match(signed.KeyLastUsage!.CloudTrailEventId!, /^inkan-audit:node-1:\d+$/);
  // A use on another face counts too (the admin API verifies with the same key).
  const s = await f.kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('n'), SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }));
  const v = await admin('POST', `/v1/keys/${keyId}/verify`, { data: Buffer.from('n').toString('base64'), signature: Buffer.from(s.Signature!).toString('base64') });
  assert.equal(v.body.valid, true);
  assert.equal((await f.kms.send(new GetKeyLastUsageCommand({ KeyId: keyId }))).KeyLastUsage!.Operation, 'Verify');
  const mac = (await f.kms.send(new CreateKeyCommand({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' }))).KeyMetadata!.KeyId!;
  await f.kms.send(new GenerateMacCommand({ KeyId: mac, Message: Buffer.from('m'), MacAlgorithm: 'HMAC_SHA_256' }));
  assert.equal((await f.kms.send(new GetKeyLastUsageCommand({ KeyId: mac }))).KeyLastUsage!.Operation, 'GenerateMac');
  await rejectsWith(f.kms.send(new GetKeyLastUsageCommand({ KeyId: 'alias/anything' })), 'NotFoundException');
});

function wrapOaep(spki: Uint8Array, material: Buffer): Buffer {
  const pub = nc.createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  return nc.publicEncrypt({ key: pub, padding: nc.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, material);
}

async function importMaterial(keyId: string, material: Buffer): Promise<void> {
  const p = await f.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
  await f.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: p.ImportToken, EncryptedKeyMaterial: wrapOaep(p.PublicKey!, material),
    ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
}

test('DeleteImportedKeyMaterial: PendingImport, unusable, and the same material imported again decrypts old ciphertexts', async () => {
  const material = nc.randomBytes(32);
  const keyId = (await f.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
  await importMaterial(keyId, material);
  const blob = (await f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept') }))).CiphertextBlob!;
  const out = await f.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId }));
  assert.match(out.KeyMaterialId!, /^[0-9a-f]{64}$/);
  assert.equal((await f.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState, 'PendingImport');
  await rejectsWith(f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })), 'KMSInvalidStateException');
  await rejectsWith(f.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: keyId })), 'KMSInvalidStateException');
  await importMaterial(keyId, material);
  assert.equal(Buffer.from((await f.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'kept');
  await rejectsWith(f.kms.send(new DeleteImportedKeyMaterialCommand({ KeyId: await newKey() })), 'UnsupportedOperationException');
});

test('ED25519_PH_SHA_512: RAW and DIGEST give the same signature, which @noble/curves ed25519ph verifies; KMS verifies', async () => {
  const keyId = (await f.kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_EDWARDS25519', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
  assert.deepEqual(keyId.SigningAlgorithms, ['ED25519_SHA_512', 'ED25519_PH_SHA_512']);
  const message = Buffer.from('prehashed Edwards');
  const raw = await f.kms.send(new SignCommand({ KeyId: keyId.KeyId, Message: message, SigningAlgorithm: 'ED25519_PH_SHA_512' }));
  const digest = nc.createHash('sha512').update(message).digest();
  const viaDigest = await f.kms.send(new SignCommand({ KeyId: keyId.KeyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_PH_SHA_512' }));
  assert.deepEqual(Buffer.from(raw.Signature!), Buffer.from(viaDigest.Signature!));
  const spki = Buffer.from((await f.kms.send(new GetPublicKeyCommand({ KeyId: keyId.KeyId }))).PublicKey!);
  const pub = spki.subarray(spki.length - 32);
  assert.ok(ed25519ph.verify(raw.Signature!, message, pub), 'ed25519ph (RFC 8032 §5.1) verifies');
  const pure = await f.kms.send(new SignCommand({ KeyId: keyId.KeyId, Message: message, SigningAlgorithm: 'ED25519_SHA_512' }));
  assert.notDeepEqual(Buffer.from(pure.Signature!), Buffer.from(raw.Signature!));
  assert.equal((await f.kms.send(new VerifyCommand({ KeyId: keyId.KeyId, Message: digest, MessageType: 'DIGEST', Signature: raw.Signature, SigningAlgorithm: 'ED25519_PH_SHA_512' }))).SignatureValid, true);
  await rejectsWith(f.kms.send(new VerifyCommand({ KeyId: keyId.KeyId, Message: message, Signature: pure.Signature, SigningAlgorithm: 'ED25519_PH_SHA_512' })), 'KMSInvalidSignatureException');
  await rejectsWith(f.kms.send(new SignCommand({ KeyId: keyId.KeyId, Message: digest.subarray(0, 32), MessageType: 'DIGEST', SigningAlgorithm: 'ED25519_PH_SHA_512' })), 'ValidationException');
});
