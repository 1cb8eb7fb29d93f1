// One key, every face, one policy, one audit log: a key created through Key Vault (the real
// @azure/keyvault-keys) signs through PKCS#11 (pkcs11js via p11-kit-client.so) and KMS
// (@aws-sdk/client-kms), and a key created through KMS signs, encrypts and decrypts through Key
// Vault and PKCS#11. State set on one face (KMS DisableKey, Key Vault key_ops) binds the others,
// and the auditor's export shows the uses of all faces. Signatures are checked with node:crypto
// and @noble/curves; the server runs in a child process (pkcs11js calls block their thread).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as nc from 'node:crypto';
import * as pkcs11js from 'pkcs11js';
import { p256 } from '@noble/curves/nist';
import { ClientSecretCredential } from '@azure/identity';
import { CryptographyClient, KeyClient, type KeyVaultKey } from '@azure/keyvault-keys';
import {
  CreateKeyCommand, DecryptCommand, DisableKeyCommand, EnableKeyCommand, EncryptCommand, GetPublicKeyCommand, KMSClient, ListKeysCommand, SignCommand, VerifyCommand,
} from '@aws-sdk/client-kms';
import { childServer, P11_KIT_CLIENT, type ChildServer } from './p11-helpers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

describe('one key through Key Vault, KMS and PKCS#11', { timeout: 180_000 }, () => {
  let srv: ChildServer;
  let kc: KeyClient;
  let credential: ClientSecretCredential;
  let kms: KMSClient;
  let p: pkcs11js.PKCS11;
  let session: Buffer;
  let agent: https.Agent;
  const opts = () => ({ agent, disableChallengeResourceVerification: true });

  before(async () => {
    srv = await childServer();
    const akv = srv.credentials.akv;
    agent = new https.Agent({ ca: fs.readFileSync(akv.caFile), keepAlive: true });
    credential = new ClientSecretCredential(akv.tenantId, akv.clientId, akv.clientSecret, { authorityHost: akv.authorityHost, disableInstanceDiscovery: true, agent });
    kc = new KeyClient(akv.vaultUrl, credential, opts());
    const k = srv.credentials.kms;
    kms = new KMSClient({ endpoint: k.endpoint, region: k.region, credentials: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey }, maxAttempts: 1 });
    process.env.P11_KIT_SERVER_ADDRESS = srv.p11Address;
    p = new pkcs11js.PKCS11();
    p.load(P11_KIT_CLIENT);
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    session = p.C_OpenSession(p.C_GetSlotList(true)[0], pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p.C_Login(session, pkcs11js.CKU_USER, srv.pin);
  });
  after(async () => {
    try { p.C_Finalize(); } catch { /* already */ }
    kms.destroy();
    agent.destroy();
    await srv.close();
  });

  const ecPublic = (key: KeyVaultKey) => nc.createPublicKey({ key: { kty: 'EC', crv: 'P-256',
    x: Buffer.from(key.key!.x!).toString('base64url'), y: Buffer.from(key.key!.y!).toString('base64url') }, format: 'jwk' });
  const p11Find = (cls: number, label: string): Buffer => {
    p.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: cls }, { type: pkcs11js.CKA_LABEL, value: label }]);
    const [h] = p.C_FindObjects(session, 2);
    p.C_FindObjectsFinal(session);
    assert.ok(h, `PKCS#11 finds the ${cls === pkcs11js.CKO_PRIVATE_KEY ? 'private' : 'secret'} key labelled ${label}`);
    return h;
  };
  const p11SignDigest = (key: Buffer, digest: Buffer) => { p.C_SignInit(session, { mechanism: pkcs11js.CKM_ECDSA }, key); return p.C_Sign(session, digest, Buffer.alloc(132)); };
  const ckr = (fn: () => unknown) => { try { fn(); return 'CKR_OK'; } catch (err) { return (err as Error).message; } };

  /** The KMS key id of a Key Vault key, found independently: the KMS key whose public key is the vault's. */
  async function kmsIdOf(key: KeyVaultKey): Promise<string> {
    const spki = ecPublic(key).export({ format: 'der', type: 'spki' });
    for (const k of (await kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys ?? []) {
      const pub = await kms.send(new GetPublicKeyCommand({ KeyId: k.KeyId })).catch(() => undefined);
      if (pub?.PublicKey && Buffer.from(pub.PublicKey).equals(spki)) return k.KeyId!;
    }
    throw new Error('KMS lists no key with the vault key\'s public key');
  }

  test('a Key Vault EC key signs through KMS and PKCS#11; node:crypto, @noble/curves and the vault verify', async () => {
    const key = await kc.createEcKey('every-face', { curve: 'P-256' });
    const keyId = await kmsIdOf(key);
    const message = Buffer.from('signed on three faces');
    const digest = nc.createHash('sha256').update(message).digest();

    const kmsSig = Buffer.from((await kms.send(new SignCommand({ KeyId: keyId, Message: message, SigningAlgorithm: 'ECDSA_SHA_256' }))).Signature!);
    assert.ok(nc.verify('sha256', message, ecPublic(key), kmsSig), 'node:crypto verifies the KMS (DER) signature');

    const raw = p11SignDigest(p11Find(pkcs11js.CKO_PRIVATE_KEY, keyId), digest);
    const point = Buffer.concat([Buffer.from([4]), Buffer.from(key.key!.x!), Buffer.from(key.key!.y!)]);
    assert.ok(p256.verify(raw, digest, point, { prehash: false }), '@noble/curves verifies the PKCS#11 (r‖s) signature');

    const cc = new CryptographyClient(key, credential, opts());
    assert.equal((await cc.verify('ES256', digest, raw)).result, true, 'the vault verifies the PKCS#11 signature');
    const akvSig = (await cc.sign('ES256', digest)).result;
    assert.ok(p256.verify(akvSig, digest, point, { prehash: false }));
    const kmsVerify = await kms.send(new VerifyCommand({ KeyId: keyId, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256',
      Signature: Buffer.from(p256.Signature.fromCompact(akvSig).toDERRawBytes()) }));
    assert.equal(kmsVerify.SignatureValid, true, 'KMS verifies the vault signature');
  });

  test('one policy: KMS DisableKey stops Key Vault and PKCS#11; Key Vault key_ops stop KMS and PKCS#11 signing', async () => {
    const key = await kc.createEcKey('policed', { curve: 'P-256' });
    const keyId = await kmsIdOf(key);
    const cc = new CryptographyClient(key, credential, opts());
    const digest = Buffer.alloc(32, 7);
    const priv = p11Find(pkcs11js.CKO_PRIVATE_KEY, keyId);
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    await assert.rejects(cc.sign('ES256', digest), (e: { statusCode?: number }) => e.statusCode === 403);
    assert.match(ckr(() => p11SignDigest(priv, digest)), /CKR_KEY_FUNCTION_NOT_PERMITTED/);
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    assert.equal(ckr(() => p11SignDigest(priv, digest)), 'CKR_OK');

    await kc.updateKeyProperties('policed', key.properties.version!, { keyOps: ['verify'] });
    await assert.rejects(kms.send(new SignCommand({ KeyId: keyId, Message: Buffer.from('x'), SigningAlgorithm: 'ECDSA_SHA_256' })), /InvalidKeyUsage|not permit/);
    assert.match(ckr(() => p11SignDigest(priv, digest)), /CKR_KEY_FUNCTION_NOT_PERMITTED/);
    assert.equal((await cc.verify('ES256', digest, p256.sign(digest, p256.utils.randomPrivateKey()).toCompactRawBytes())).result, false);
  });

  test('a KMS key is a Key Vault key under its key id: RSA-OAEP both ways, signatures both ways', async () => {
    const enc = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' }))).KeyMetadata!.KeyId!;
    const vaultKey = await kc.getKey(enc);
    assert.equal(vaultKey.keyType, 'RSA-HSM');
    const cc = new CryptographyClient(vaultKey, credential, opts());
    const secret = Buffer.from('sealed by the vault SDK, opened by KMS');
    const local = await cc.encrypt({ algorithm: 'RSA-OAEP-256', plaintext: secret }); // the SDK encrypts locally with n/e
    const opened = await kms.send(new DecryptCommand({ KeyId: enc, CiphertextBlob: local.result, EncryptionAlgorithm: 'RSAES_OAEP_SHA_256' }));
    assert.deepEqual(Buffer.from(opened.Plaintext!), secret);
    const byKms = await kms.send(new EncryptCommand({ KeyId: enc, Plaintext: secret, EncryptionAlgorithm: 'RSAES_OAEP_SHA_1' }));
    assert.deepEqual(Buffer.from((await cc.decrypt({ algorithm: 'RSA-OAEP', ciphertext: byKms.CiphertextBlob! })).result), secret);

    const signing = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const sk = await kc.getKey(signing);
    const digest = nc.createHash('sha256').update('from the vault').digest();
    const sig = (await new CryptographyClient(sk, credential, opts()).sign('ES256', digest)).result;
    const kmsPub = nc.createPublicKey({ key: Buffer.from((await kms.send(new GetPublicKeyCommand({ KeyId: signing }))).PublicKey!), format: 'der', type: 'spki' });
    assert.deepEqual(kmsPub.export({ format: 'der', type: 'spki' }), ecPublic(sk).export({ format: 'der', type: 'spki' }), 'the same public key on both faces');
    assert.ok(p256.verify(sig, digest, ecPoint(sk), { prehash: false }), '@noble/curves verifies the vault signature');
    const der = Buffer.from(p256.Signature.fromCompact(sig).toDERRawBytes());
    assert.ok(nc.verify('sha256', Buffer.from('from the vault'), kmsPub, der), 'node:crypto verifies it with the KMS public key');
    const p11sig = p11SignDigest(p11Find(pkcs11js.CKO_PRIVATE_KEY, signing), digest);
    assert.equal((await new CryptographyClient(sk, credential, opts()).verify('ES256', digest, p11sig)).result, true);
  });

  test('an AES key from Key Vault is the same key on PKCS#11: AES-ECB of a block equals the vault\'s A256CBC with a zero IV', async () => {
    // p11-kit-client 0.24 refuses AES modes with an IV locally, so PKCS#11 compares through ECB.
    const key = await kc.createOctKey('every-face-aes', { keySize: 256 });
    const block = nc.randomBytes(16);
    const byVault = await new CryptographyClient(key, credential, opts()).encrypt({ algorithm: 'A256CBC', plaintext: block, iv: Buffer.alloc(16) });
    const ids = (await kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys!.map((k) => k.KeyId!);
    const matches: string[] = [];
    for (const id of ids) {
      p.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }, { type: pkcs11js.CKA_LABEL, value: id }]);
      const [h] = p.C_FindObjects(session, 1);
      p.C_FindObjectsFinal(session);
      if (!h) continue;
      try {
        p.C_EncryptInit(session, { mechanism: pkcs11js.CKM_AES_ECB }, h);
      } catch { continue; } // the dev XKS keys that may not encrypt
      if (p.C_Encrypt(session, block, Buffer.alloc(16)).equals(Buffer.from(byVault.result))) matches.push(id);
    }
    assert.equal(matches.length, 1, 'exactly one PKCS#11 secret key is the vault key');
    // And KMS uses it too, as a SYMMETRIC_DEFAULT key.
    const sealed = await kms.send(new EncryptCommand({ KeyId: matches[0], Plaintext: block }));
    assert.deepEqual(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob! }))).Plaintext!), block);
  });

  test('one audit log: the auditor\'s export shows the uses of the vault key on the akv, kms and p11 faces', async () => {
    const login = await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username: 'auditor', password: srv.credentials.auditor.password }) });
    const { token } = await login.json() as { token: string };
    const text = await (await fetch(`${srv.url}/v1/audit/export`, { headers: { authorization: `Bearer ${token}` } })).text();
    const faces = new Set(text.split('\n').filter((l) => l.includes('"op":"key.sign"') && l.includes('"outcome":"success"'))
      .map((l) => (JSON.parse(l) as { face?: string }).face));
    for (const face of ['akv', 'kms', 'p11']) assert.ok(faces.has(face), `a key.sign record of the ${face} face`);
  });
});

function ecPoint(key: KeyVaultKey): Buffer {
  return Buffer.concat([Buffer.from([4]), Buffer.from(key.key!.x!), Buffer.from(key.key!.y!)]);
}
