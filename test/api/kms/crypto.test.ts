// Cryptographic KMS operations through @aws-sdk/client-kms, each result checked independently:
// signatures with node:crypto and @noble/curves from the public key GetPublicKey returned, data keys
// by using them locally, ECDH against a locally computed secret.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist';
import { secp256k1 } from '@noble/curves/secp256k1';
import {
  CreateKeyCommand, DecryptCommand, DeriveSharedSecretCommand, EncryptCommand, GenerateDataKeyCommand,
  GenerateDataKeyPairCommand, GenerateDataKeyPairWithoutPlaintextCommand, GenerateDataKeyWithoutPlaintextCommand,
  GenerateMacCommand, GenerateRandomCommand, GetPublicKeyCommand, ReEncryptCommand, SignCommand, VerifyCommand,
  VerifyMacCommand, type KeySpec, type KeyUsageType, type SigningAlgorithmSpec,
} from '@aws-sdk/client-kms';
import { kmsFixture, rejectsWith, type KmsFixture } from './helpers';

let f: KmsFixture;
before(async () => { f = await kmsFixture(); });
after(async () => { await f.close(); });

const keys = new Map<string, string>();
async function key(spec: KeySpec, usage: KeyUsageType): Promise<string> {
  const name = `${spec}/${usage}`;
  if (!keys.has(name)) keys.set(name, (await f.kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage }))).KeyMetadata!.KeyId!);
  return keys.get(name)!;
}
const spkiOf = async (keyId: string) => nc.createPublicKey({
  key: Buffer.from((await f.kms.send(new GetPublicKeyCommand({ KeyId: keyId }))).PublicKey!), format: 'der', type: 'spki' });

test('Encrypt/Decrypt round trip; EncryptionContext is bound; ReEncrypt moves to another key', async () => {
  const a = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
  const b = (await f.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const plaintext = nc.randomBytes(4096);
  const enc = await f.kms.send(new EncryptCommand({ KeyId: a, Plaintext: plaintext, EncryptionContext: { tenant: 't1', purpose: 'test' } }));
  assert.equal(enc.EncryptionAlgorithm, 'SYMMETRIC_DEFAULT');
  assert.match(enc.KeyId!, new RegExp(`^arn:aws:kms:us-east-1:\\d{12}:key/${a}$`));
  // Context order does not matter; its content does.
  const dec = await f.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { purpose: 'test', tenant: 't1' } }));
  assert.deepEqual(Buffer.from(dec.Plaintext!), plaintext);
  assert.equal(dec.KeyId, enc.KeyId);
  const re = await f.kms.send(new ReEncryptCommand({ CiphertextBlob: enc.CiphertextBlob, SourceEncryptionContext: { tenant: 't1', purpose: 'test' },
    DestinationKeyId: b, DestinationEncryptionContext: { x: 'y' } }));
  assert.ok(re.SourceKeyId!.endsWith(a) && re.KeyId!.endsWith(b));
  const back = await f.kms.send(new DecryptCommand({ CiphertextBlob: re.CiphertextBlob, EncryptionContext: { x: 'y' }, KeyId: b }));
  assert.deepEqual(Buffer.from(back.Plaintext!), plaintext);
});

test('GenerateDataKey: the plaintext key decrypts locally what it encrypted; the blob gives the same key back', async () => {
  const k = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
  const dk = await f.kms.send(new GenerateDataKeyCommand({ KeyId: k, KeySpec: 'AES_256', EncryptionContext: { file: 'a.txt' } }));
  const dataKey = Buffer.from(dk.Plaintext!);
  assert.equal(dataKey.length, 32);
  const iv = nc.randomBytes(12);
  const c = nc.createCipheriv('aes-256-gcm', dataKey, iv);
  const ct = Buffer.concat([c.update('payload'), c.final()]);
  const tag = c.getAuthTag();
  const again = Buffer.from((await f.kms.send(new DecryptCommand({ CiphertextBlob: dk.CiphertextBlob, EncryptionContext: { file: 'a.txt' } }))).Plaintext!);
  const d = nc.createDecipheriv('aes-256-gcm', again, iv);
  d.setAuthTag(tag);
  assert.equal(Buffer.concat([d.update(ct), d.final()]).toString(), 'payload');
  const n = await f.kms.send(new GenerateDataKeyCommand({ KeyId: k, NumberOfBytes: 7 }));
  assert.equal(n.Plaintext!.length, 7);
  const w = await f.kms.send(new GenerateDataKeyWithoutPlaintextCommand({ KeyId: k, KeySpec: 'AES_128' }));
  assert.equal((w as unknown as Record<string, unknown>).Plaintext, undefined);
  assert.equal((await f.kms.send(new DecryptCommand({ CiphertextBlob: w.CiphertextBlob }))).Plaintext!.length, 16);
});

test('GenerateDataKeyPair: the decrypted private key matches the public key', async () => {
  const k = await key('SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT');
  for (const spec of ['ECC_NIST_P256', 'RSA_2048'] as const) {
    const pair = await f.kms.send(new GenerateDataKeyPairCommand({ KeyId: k, KeyPairSpec: spec }));
    const pub = nc.createPublicKey({ key: Buffer.from(pair.PublicKey!), format: 'der', type: 'spki' });
    const priv = nc.createPrivateKey({ key: Buffer.from(pair.PrivateKeyPlaintext!), format: 'der', type: 'pkcs8' });
    assert.ok(nc.verify('sha256', Buffer.from('x'), pub, nc.sign('sha256', Buffer.from('x'), priv)));
    const unwrapped = await f.kms.send(new DecryptCommand({ CiphertextBlob: pair.PrivateKeyCiphertextBlob }));
    assert.deepEqual(Buffer.from(unwrapped.Plaintext!), Buffer.from(pair.PrivateKeyPlaintext!));
  }
  const np = await f.kms.send(new GenerateDataKeyPairWithoutPlaintextCommand({ KeyId: k, KeyPairSpec: 'ECC_SECG_P256K1' }));
  assert.equal((np as unknown as Record<string, unknown>).PrivateKeyPlaintext, undefined);
  const priv = nc.createPrivateKey({ key: Buffer.from((await f.kms.send(new DecryptCommand({ CiphertextBlob: np.PrivateKeyCiphertextBlob }))).Plaintext!), format: 'der', type: 'pkcs8' });
  assert.equal(priv.asymmetricKeyDetails?.namedCurve, 'secp256k1');
});

const RSA_ALGS: [SigningAlgorithmSpec, string, number | undefined][] = [
  ['RSASSA_PKCS1_V1_5_SHA_256', 'sha256', undefined], ['RSASSA_PKCS1_V1_5_SHA_384', 'sha384', undefined], ['RSASSA_PKCS1_V1_5_SHA_512', 'sha512', undefined],
  ['RSASSA_PSS_SHA_256', 'sha256', 32], ['RSASSA_PSS_SHA_384', 'sha384', 48], ['RSASSA_PSS_SHA_512', 'sha512', 64],
];

test('Sign RSA (RAW and DIGEST, PKCS#1 v1.5 and PSS): node:crypto verifies with the GetPublicKey SPKI; Verify agrees', async () => {
  const k = await key('RSA_2048', 'SIGN_VERIFY');
  const pub = await spkiOf(k);
  const message = Buffer.from('the message to sign');
  for (const [alg, hash, salt] of RSA_ALGS) {
    const padding = salt ? nc.constants.RSA_PKCS1_PSS_PADDING : nc.constants.RSA_PKCS1_PADDING;
    for (const type of ['RAW', 'DIGEST'] as const) {
      const msg = type === 'RAW' ? message : nc.createHash(hash).update(message).digest();
      const s = await f.kms.send(new SignCommand({ KeyId: k, Message: msg, MessageType: type, SigningAlgorithm: alg }));
      assert.equal(s.SigningAlgorithm, alg);
      assert.ok(nc.verify(hash, message, { key: pub, padding, saltLength: salt }, Buffer.from(s.Signature!)), `${alg} ${type}`);
      const v = await f.kms.send(new VerifyCommand({ KeyId: k, Message: msg, MessageType: type, SigningAlgorithm: alg, Signature: s.Signature }));
      assert.equal(v.SignatureValid, true);
    }
  }
});

test('Sign ECDSA on every curve: DER signatures that @noble/curves and node:crypto verify', async () => {
  const cases = [['ECC_NIST_P256', 'ECDSA_SHA_256', 'sha256', p256], ['ECC_NIST_P384', 'ECDSA_SHA_384', 'sha384', p384],
    ['ECC_NIST_P521', 'ECDSA_SHA_512', 'sha512', p521], ['ECC_SECG_P256K1', 'ECDSA_SHA_256', 'sha256', secp256k1]] as const;
  const message = Buffer.from('ecdsa message');
  for (const [spec, alg, hash, curve] of cases) {
    const k = await key(spec, 'SIGN_VERIFY');
    const pub = await spkiOf(k);
    const jwk = pub.export({ format: 'jwk' });
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]);
    for (const type of ['RAW', 'DIGEST'] as const) {
      const digest = nc.createHash(hash).update(message).digest();
      const s = await f.kms.send(new SignCommand({ KeyId: k, Message: type === 'RAW' ? message : digest, MessageType: type, SigningAlgorithm: alg }));
      const der = Buffer.from(s.Signature!);
      assert.equal(der[0], 0x30, 'DER SEQUENCE');
      const sig = (curve as typeof p256).Signature.fromDER(der);
      assert.ok((curve as typeof p256).verify(sig.toCompactRawBytes(), digest, point, { prehash: false, lowS: false }), `${spec} ${type} noble`);
      assert.ok(nc.verify(hash, message, pub, der), `${spec} ${type} node`);
      await f.kms.send(new VerifyCommand({ KeyId: k, Message: type === 'RAW' ? message : digest, MessageType: type, SigningAlgorithm: alg, Signature: der }));
    }
  }
});

test('Sign Ed25519: node:crypto verifies', async () => {
  const k = await key('ECC_NIST_EDWARDS25519', 'SIGN_VERIFY');
  const s = await f.kms.send(new SignCommand({ KeyId: k, Message: Buffer.from('ed'), SigningAlgorithm: 'ED25519_SHA_512' }));
  assert.ok(nc.verify(null, Buffer.from('ed'), await spkiOf(k), Buffer.from(s.Signature!)));
});

test('GenerateMac/VerifyMac for every HMAC key spec; a wrong MAC is KMSInvalidMacException', async () => {
  for (const [spec, alg, len] of [['HMAC_224', 'HMAC_SHA_224', 28], ['HMAC_256', 'HMAC_SHA_256', 32], ['HMAC_384', 'HMAC_SHA_384', 48], ['HMAC_512', 'HMAC_SHA_512', 64]] as const) {
    const k = await key(spec, 'GENERATE_VERIFY_MAC');
    const m = await f.kms.send(new GenerateMacCommand({ KeyId: k, Message: Buffer.from('mac me'), MacAlgorithm: alg }));
    assert.equal(m.Mac!.length, len);
    const v = await f.kms.send(new VerifyMacCommand({ KeyId: k, Message: Buffer.from('mac me'), MacAlgorithm: alg, Mac: m.Mac }));
    assert.equal(v.MacValid, true);
    const bad = Buffer.from(m.Mac!);
    bad[0] ^= 1;
    await rejectsWith(f.kms.send(new VerifyMacCommand({ KeyId: k, Message: Buffer.from('mac me'), MacAlgorithm: alg, Mac: bad })), 'KMSInvalidMacException');
  }
});

test('GenerateRandom returns the bytes asked for', async () => {
  const r = await f.kms.send(new GenerateRandomCommand({ NumberOfBytes: 1024 }));
  assert.equal(r.Plaintext!.length, 1024);
  await rejectsWith(f.kms.send(new GenerateRandomCommand({ NumberOfBytes: 1025 })), 'ValidationException', 400);
});

test('DeriveSharedSecret equals the ECDH secret computed locally from the key\'s public key', async () => {
  const k = await key('ECC_NIST_P384', 'KEY_AGREEMENT');
  const mine = nc.generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  const out = await f.kms.send(new DeriveSharedSecretCommand({ KeyId: k, KeyAgreementAlgorithm: 'ECDH',
    PublicKey: mine.publicKey.export({ format: 'der', type: 'spki' }) }));
  const expected = nc.diffieHellman({ privateKey: mine.privateKey, publicKey: await spkiOf(k) });
  assert.deepEqual(Buffer.from(out.SharedSecret!), expected);
  const other = nc.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  await rejectsWith(f.kms.send(new DeriveSharedSecretCommand({ KeyId: k, KeyAgreementAlgorithm: 'ECDH',
    PublicKey: other.publicKey.export({ format: 'der', type: 'spki' }) })), 'ValidationException');
});
