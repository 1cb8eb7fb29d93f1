// GetParametersForImport + ImportKeyMaterial with key material made and wrapped locally
// (node:crypto), then used through KMS and checked outside it: RSA encryption decrypted with the
// local private key, HMACs recomputed locally, a symmetric ciphertext blob opened locally.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import {
  CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GenerateMacCommand, GetParametersForImportCommand,
  GetPublicKeyCommand, ImportKeyMaterialCommand, type AlgorithmSpec, type KeySpec, type KeyUsageType,
} from '@aws-sdk/client-kms';
import { kmsFixture, rejectsWith, type KmsFixture } from './helpers';

let f: KmsFixture;
before(async () => { f = await kmsFixture(); });
after(async () => { await f.close(); });

/** Wraps like the AWS docs' openssl recipes: OAEP of the material, or OAEP of an AES key then RFC 5649 (KWP). */
function wrap(spki: Uint8Array, algorithm: AlgorithmSpec, material: Buffer): Buffer {
  const pub = nc.createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  const hash = algorithm.endsWith('SHA_256') ? 'sha256' : 'sha1';
  const oaep = (data: Buffer) => nc.publicEncrypt({ key: pub, padding: nc.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, data);
  if (algorithm.startsWith('RSAES_OAEP')) return oaep(material);
  const aes = nc.randomBytes(32);
  const kwp = nc.createCipheriv('id-aes256-wrap-pad', aes, Buffer.from('a65959a6', 'hex'));
  return Buffer.concat([oaep(aes), kwp.update(material), kwp.final()]);
}

async function importInto(spec: KeySpec, usage: KeyUsageType, algorithm: AlgorithmSpec, material: Buffer): Promise<string> {
  const keyId = (await f.kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage, Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
  const params = await f.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: algorithm, WrappingKeySpec: 'RSA_2048' }));
  assert.ok(params.ParametersValidTo! > new Date());
  await f.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: params.ImportToken,
    EncryptedKeyMaterial: wrap(params.PublicKey!, algorithm, material), ExpirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' }));
  return keyId;
}

test('symmetric import (RSAES_OAEP_SHA_256): the KMS ciphertext opens locally with the imported key', async () => {
  const material = nc.randomBytes(32);
  const keyId = await importInto('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'RSAES_OAEP_SHA_256', material);
  const m = (await f.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
  assert.equal(m.Origin, 'EXTERNAL');
  assert.equal(m.KeyState, 'Enabled');
  const blob = Buffer.from((await f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('imported'), EncryptionContext: { k: 'v' } }))).CiphertextBlob!);
  // Inkan's documented blob: "IK" 01 ‖ key id (16) ‖ version (2) ‖ IV (12) ‖ ciphertext ‖ tag (16); AAD = header ‖ sorted context JSON.
  const header = blob.subarray(0, 21);
  assert.equal(header.subarray(3, 19).toString('hex'), keyId.replace(/-/g, ''));
  const d = nc.createDecipheriv('aes-256-gcm', material, blob.subarray(21, 33));
  d.setAAD(Buffer.concat([header, Buffer.from(JSON.stringify([['k', 'v']]))]));
  d.setAuthTag(blob.subarray(blob.length - 16));
  assert.equal(Buffer.concat([d.update(blob.subarray(33, blob.length - 16)), d.final()]).toString(), 'imported');
  await rejectsWith(f.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' })), 'KMSInvalidStateException');
});

test('HMAC import (RSA_AES_KEY_WRAP_SHA_1): GenerateMac equals the HMAC computed locally', async () => {
  const material = nc.randomBytes(32);
  const keyId = await importInto('HMAC_256', 'GENERATE_VERIFY_MAC', 'RSA_AES_KEY_WRAP_SHA_1', material);
  const mac = await f.kms.send(new GenerateMacCommand({ KeyId: keyId, Message: Buffer.from('hello'), MacAlgorithm: 'HMAC_SHA_256' }));
  assert.deepEqual(Buffer.from(mac.Mac!), nc.createHmac('sha256', material).update('hello').digest());
});

test('RSA import (RSA_AES_KEY_WRAP_SHA_256): KMS RSAES-OAEP ciphertexts decrypt outside with the local private key', async () => {
  const local = nc.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const keyId = await importInto('RSA_2048', 'ENCRYPT_DECRYPT', 'RSA_AES_KEY_WRAP_SHA_256', local.privateKey.export({ format: 'der', type: 'pkcs8' }));
  const spki = Buffer.from((await f.kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey!);
  assert.deepEqual(spki, local.publicKey.export({ format: 'der', type: 'spki' }));
  for (const [alg, hash] of [['RSAES_OAEP_SHA_256', 'sha256'], ['RSAES_OAEP_SHA_1', 'sha1']] as const) {
    const enc = await f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('for outside'), EncryptionAlgorithm: alg }));
    const out = nc.privateDecrypt({ key: local.privateKey, padding: nc.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, Buffer.from(enc.CiphertextBlob!));
    assert.equal(out.toString(), 'for outside');
    // And the reverse: encrypted outside, decrypted by KMS.
    const outside = nc.publicEncrypt({ key: local.publicKey, padding: nc.constants.RSA_PKCS1_OAEP_PADDING, oaepHash: hash }, Buffer.from('from outside'));
    const dec = await f.kms.send(new DecryptCommand({ KeyId: keyId, CiphertextBlob: outside, EncryptionAlgorithm: alg }));
    assert.equal(Buffer.from(dec.Plaintext!).toString(), 'from outside');
  }
});

test('import errors: pending import refuses use; wrong token, wrong material, garbage, AWS_KMS keys', async () => {
  const keyId = (await f.kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
  assert.equal((await f.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState, 'PendingImport');
  await rejectsWith(f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })), 'KMSInvalidStateException', 409);
  const params = await f.kms.send(new GetParametersForImportCommand({ KeyId: keyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' }));
  const good = wrap(params.PublicKey!, 'RSAES_OAEP_SHA_1', nc.randomBytes(32));
  await rejectsWith(f.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: nc.randomBytes(32), EncryptedKeyMaterial: good })), 'InvalidImportTokenException');
  await rejectsWith(f.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: params.ImportToken,
    EncryptedKeyMaterial: wrap(params.PublicKey!, 'RSAES_OAEP_SHA_1', nc.randomBytes(16)) })), 'IncorrectKeyMaterialException');
  await rejectsWith(f.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: nc.randomBytes(256) })), 'InvalidCiphertextException');
  await f.kms.send(new ImportKeyMaterialCommand({ KeyId: keyId, ImportToken: params.ImportToken, EncryptedKeyMaterial: good }));
  await f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
  const normal = (await f.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await rejectsWith(f.kms.send(new GetParametersForImportCommand({ KeyId: normal, WrappingAlgorithm: 'RSAES_OAEP_SHA_1', WrappingKeySpec: 'RSA_2048' })), 'UnsupportedOperationException');
});
