// KMS grants through @aws-sdk/client-kms, over the core's scoped sharing (this branch's own rule,
// core/managed-key-grants.ts): a grant lets another user of the account use the key for the
// granted operations only — on the KMS face and on the admin face alike; listing, retiring by
// token (the retiring principal), revoking (the owner); a key policy Deny beats a grant; what
// cannot be enforced (Constraints, delegated CreateGrant, other accounts) is refused.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  CreateGrantCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, KMSClient, ListGrantsCommand,
  ListRetirableGrantsCommand, PutKeyPolicyCommand, RetireGrantCommand, RevokeGrantCommand,
} from '@aws-sdk/client-kms';
import { USER_PASSWORD } from '../../helpers/harness';
import { kmsFixture, rejectsWith, type KmsFixture } from './helpers';

let f: KmsFixture;
let bob: KMSClient;
let carol: KMSClient;
let account = '';
let keyId = '';
const arn = (name: string) => `arn:aws:iam::${account}:user/${name}`;
before(async () => {
  f = await kmsFixture();
  bob = await f.otherUser('bob');
  carol = await f.otherUser('carol');
  const m = (await f.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  account = m.AWSAccountId!;
  keyId = m.KeyId!;
});
after(async () => { await f.close(); });

test('a grant lets the grantee do the granted operations only, on every face; the owner lists it', async () => {
  await rejectsWith(bob.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })), 'NotFoundException');
  const g = await f.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: arn('bob'), Operations: ['Encrypt', 'DescribeKey'], Name: 'bob-encrypts' }));
  assert.match(g.GrantId!, /^[0-9a-f]{64}$/);
  const blob = (await bob.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('by bob') }))).CiphertextBlob!;
  assert.equal((await bob.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyId, keyId);
  await rejectsWith(bob.send(new DecryptCommand({ CiphertextBlob: blob })), 'AccessDeniedException');
  assert.equal(Buffer.from((await f.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'by bob');
  const admin = await f.server.login('bob', USER_PASSWORD);
  const viaAdmin = await admin('POST', `/v1/keys/${keyId}/decrypt`, { data: Buffer.from(blob).toString('base64') });
  assert.equal(viaAdmin.status, 403);
  const again = await f.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: arn('bob'), Operations: ['Encrypt', 'DescribeKey'], Name: 'bob-encrypts' }));
  assert.equal(again.GrantId, g.GrantId, 'the same named grant is returned again');
  const listed = (await f.kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants!;
  assert.equal(listed.length, 1);
  assert.deepEqual([listed[0].GranteePrincipal, listed[0].Operations, listed[0].Name], [arn('bob'), ['Encrypt', 'DescribeKey'], 'bob-encrypts']);
  await rejectsWith(bob.send(new ListGrantsCommand({ KeyId: keyId })), 'AccessDeniedException');
});

test('the retiring principal lists and retires by grant token; the share goes with the last grant', async () => {
  const g = await f.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: arn('carol'), RetiringPrincipal: arn('bob'), Operations: ['Decrypt'] }));
  const blob = (await f.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('for carol') }))).CiphertextBlob!;
  assert.equal(Buffer.from((await carol.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'for carol');
  const retirable = (await bob.send(new ListRetirableGrantsCommand({ RetiringPrincipal: arn('bob') }))).Grants!;
  assert.deepEqual(retirable.map((x) => x.GrantId), [g.GrantId]);
  await rejectsWith(carol.send(new RetireGrantCommand({ GrantToken: 'not-a-token' })), 'InvalidGrantTokenException');
  await bob.send(new RetireGrantCommand({ GrantToken: g.GrantToken }));
  // The key is no longer visible to carol: its ciphertexts are as good as foreign to her (no existence oracle).
  await rejectsWith(carol.send(new DecryptCommand({ CiphertextBlob: blob })), 'InvalidCiphertextException');
  await rejectsWith(carol.send(new DescribeKeyCommand({ KeyId: keyId })), 'NotFoundException');
});

test('RevokeGrant (the owner) ends the grantee\'s access; a key policy Deny beats a grant', async () => {
  const [grant] = (await f.kms.send(new ListGrantsCommand({ KeyId: keyId, GranteePrincipal: arn('bob') }))).Grants!;
  await f.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, Policy: JSON.stringify({ Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' },
    { Effect: 'Deny', Principal: { AWS: arn('bob') }, Action: 'kms:Encrypt', Resource: '*' },
  ] }) }));
  await rejectsWith(bob.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })), 'AccessDeniedException');
  await f.kms.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: grant.GrantId }));
  await rejectsWith(bob.send(new DescribeKeyCommand({ KeyId: keyId })), 'NotFoundException');
  await rejectsWith(f.kms.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: grant.GrantId })), 'NotFoundException');
});

test('what cannot be enforced is refused: Constraints, delegated CreateGrant, other accounts, the owner itself', async () => {
  await rejectsWith(f.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: arn('bob'), Operations: ['Decrypt'],
    Constraints: { EncryptionContextEquals: { app: 'x' } } })), 'UnsupportedOperationException');
  await rejectsWith(f.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: arn('bob'), Operations: ['CreateGrant'] })), 'ValidationException');
  await rejectsWith(f.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: 'arn:aws:iam::111122223333:user/bob', Operations: ['Decrypt'] })), 'ValidationException');
  await rejectsWith(f.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: arn(f.server.credentials!.user.username), Operations: ['Decrypt'] })), 'ValidationException');
  await rejectsWith(bob.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: arn('carol'), Operations: ['Decrypt'] })), 'NotFoundException');
  assert.equal((await f.kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants!.length, 0);
});
