// One key, two faces: keys made through KMS are core objects the admin API sees and uses, and
// asymmetric keys made through the admin API are KMS keys; state set through KMS (disabled,
// pending deletion) binds every face; ownership and sharing are the core's. Also the access-key
// CLI commands and the dev server's KMS credentials.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand, EncryptCommand,
  GenerateRandomCommand, GetPublicKeyCommand, ListKeysCommand, ScheduleKeyDeletionCommand, SignCommand, VerifyCommand,
} from '@aws-sdk/client-kms';
import { CKA } from '../../../src/pkcs11/constants';
import { HsmError } from '../../../src/errors/hsm-error';
import { client, kmsFixture, rejectsWith, type KmsFixture } from './helpers';
import { inkan } from '../../cli/cli-helpers';

let f: KmsFixture;
let admin: (method: string, p: string, body?: unknown) => Promise<{ status: number; body: any }>;
before(async () => {
  f = await kmsFixture();
  admin = await f.server.login(f.server.credentials!.user.username, f.server.credentials!.user.password);
});
after(async () => { await f.close(); });

test('a KMS-made key is a core object: the admin API lists it and signs with it; KMS verifies', async () => {
  const keyId = (await f.kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
  const shown = await admin('GET', `/v1/keys/${keyId}`);
  assert.equal(shown.status, 200);
  assert.equal(shown.body.key.class, 'private-key');
  assert.equal(shown.body.key.owner, 'user');
  assert.deepEqual(shown.body.key.usage, ['sign']);
  assert.equal(shown.body.key.extractable, false);
  const data = Buffer.from('signed by the admin face');
  const sig = await admin('POST', `/v1/keys/${keyId}/sign`, { data: data.toString('base64') });
  assert.equal(sig.status, 200);
  const v = await f.kms.send(new VerifyCommand({ KeyId: keyId, Message: data, SigningAlgorithm: 'ECDSA_SHA_256', Signature: Buffer.from(sig.body.signature, 'base64') }));
  assert.equal(v.SignatureValid, true);
});

test('an admin-made key pair is a KMS key: described, listed, signing, public key identical', async () => {
  const made = await admin('POST', '/v1/keys', { type: 'ec', curve: 'P-384', label: 'from-admin' });
  assert.equal(made.status, 201);
  const id = made.body.key.id as string;
  const m = (await f.kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!;
  assert.equal(m.KeySpec, 'ECC_NIST_P384');
  assert.equal(m.KeyUsage, 'SIGN_VERIFY');
  assert.equal(m.KeyState, 'Enabled');
  assert.ok((await f.kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys!.some((k) => k.KeyId === id));
  const pub = await admin('GET', `/v1/keys/${id}/public`);
  assert.deepEqual(Buffer.from((await f.kms.send(new GetPublicKeyCommand({ KeyId: id }))).PublicKey!), Buffer.from(pub.body.der, 'base64'));
  const s = await f.kms.send(new SignCommand({ KeyId: id, Message: Buffer.from('kms'), SigningAlgorithm: 'ECDSA_SHA_384' }));
  const ok = await admin('POST', `/v1/keys/${id}/verify`, { data: Buffer.from('kms').toString('base64'), signature: Buffer.from(s.Signature!).toString('base64'), mechanism: 'ECDSA_SHA384' });
  assert.equal(ok.body.valid, true);
});

test('disabled and pending-deletion keys refuse use on the admin face too', async () => {
  const made = await admin('POST', '/v1/keys', { type: 'rsa', size: 2048, label: 'to-disable' });
  const id = made.body.key.id as string;
  const data = Buffer.from('x').toString('base64');
  assert.equal((await admin('POST', `/v1/keys/${id}/sign`, { data })).status, 200);
  await f.kms.send(new DisableKeyCommand({ KeyId: id }));
  const refused = await admin('POST', `/v1/keys/${id}/sign`, { data });
  assert.equal(refused.status, 403);
  assert.equal(refused.body.error.code, 'KEY_DISABLED');
  await rejectsWith(f.kms.send(new SignCommand({ KeyId: id, Message: Buffer.from('x'), SigningAlgorithm: 'RSASSA_PSS_SHA_256' })), 'DisabledException', 409);
  await f.kms.send(new EnableKeyCommand({ KeyId: id }));
  assert.equal((await admin('POST', `/v1/keys/${id}/sign`, { data })).status, 200);

  const aes = (await f.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await f.kms.send(new ScheduleKeyDeletionCommand({ KeyId: aes, PendingWindowInDays: 7 }));
  const enc = await admin('POST', `/v1/keys/${aes}/encrypt`, { data });
  assert.equal(enc.body.error.code, 'KEY_PENDING_DELETION');
});

test('the key-state attribute is the module\'s: templates and attribute changes cannot set it', async () => {
  const hsm = f.server.hsm;
  const caller = hsm.callerOf(await hsm.login(f.server.credentials!.user.username, f.server.credentials!.user.password), 'internal');
  await assert.rejects(hsm.keys.generateKey(caller, 0x1080, new Map<number, number | boolean>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.INKAN_KEY_STATE, 0]])),
    (e: HsmError) => e.code === 'ATTRIBUTE_READ_ONLY');
  const keyId = (await f.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  await f.kms.send(new DisableKeyCommand({ KeyId: keyId }));
  const obj = await hsm.lookup.resolve(caller, keyId);
  await assert.rejects(hsm.keys.setAttributes(caller, obj, new Map([[CKA.INKAN_KEY_STATE, 0]])), (e: HsmError) => e.code === 'ATTRIBUTE_READ_ONLY');
});

test('ownership and sharing: another user sees nothing unshared, may use but not manage a shared key', async () => {
  const other = await f.otherUser('bob');
  const keyId = (await f.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const enc = await f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('shared') }));
  await rejectsWith(other.send(new DescribeKeyCommand({ KeyId: keyId })), 'NotFoundException', 404);
  await rejectsWith(other.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })), 'InvalidCiphertextException');
  assert.equal((await admin('POST', `/v1/keys/${keyId}/share`, { user: 'bob' })).status, 200);
  assert.equal(Buffer.from((await other.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext!).toString(), 'shared');
  await other.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('by bob') }));
  await rejectsWith(other.send(new DisableKeyCommand({ KeyId: keyId })), 'AccessDeniedException', 400);
  // Officers hold no keys and no access keys of their own.
  const officer = await f.server.login(f.server.credentials!.officer.username, f.server.credentials!.officer.password);
  assert.equal((await officer('POST', '/v1/access-keys', {})).status, 400);
});

test('inkan access-key create | list | delete, and the dev credentials file', async () => {
  const env = { INKAN_SERVER: f.server.url, INKAN_USER: f.server.credentials!.user.username, INKAN_PASSWORD: f.server.credentials!.user.password };
  const made = await inkan(['--json', 'access-key', 'create'], env);
  assert.equal(made.code, 0, made.err);
  const key = JSON.parse(made.out) as { accessKeyId: string; secretAccessKey: string };
  assert.match(key.accessKeyId, /^AKIA[A-Z2-7]{16}$/);
  const c = client(f.server.url, key.accessKeyId, key.secretAccessKey);
  try {
    assert.equal((await c.send(new GenerateRandomCommand({ NumberOfBytes: 4 }))).Plaintext!.length, 4);
    const listed = await inkan(['access-key', 'list'], env);
    assert.ok(listed.out.includes(key.accessKeyId) && !listed.out.includes(key.secretAccessKey));
    assert.equal((await inkan(['access-key', 'delete', key.accessKeyId], env)).code, 0);
    await rejectsWith(c.send(new GenerateRandomCommand({ NumberOfBytes: 4 })), 'UnrecognizedClientException');
  } finally { c.destroy(); }
  const file = JSON.parse(fs.readFileSync(path.join(f.server.dir, 'dev-credentials.json'), 'utf8'));
  assert.equal(file.kms.endpoint, f.server.url);
  assert.equal(file.kms.region, 'us-east-1');
  assert.match(file.kms.accessKeyId, /^AKIA/);
  assert.equal(typeof file.kms.secretAccessKey, 'string');
});
