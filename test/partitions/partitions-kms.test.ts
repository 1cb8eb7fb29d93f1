// Partitions over the KMS face with the real @aws-sdk/client-kms: each partition is its own
// account (its own 12-digit id in every ARN, its own alias namespace), and a partition's user
// reaches nothing of another partition, whether named by key id, key ARN, alias or alias ARN.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, KMSClient, ListAliasesCommand, ListKeysCommand,
} from '@aws-sdk/client-kms';
import { devServer, type TestServer } from '../helpers/harness';
import { client, rejectsWith } from '../api/kms/helpers';
import { adminLogin, makePartition, type Admin, type P1 } from './helpers';

describe('partitions over KMS (AWS SDK)', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let hsmOfficer: Admin;
  let p1: P1;
  let dev: KMSClient;
  let alice: KMSClient;
  let devAccount: string;
  const keys: Record<'dev' | 'alice', { id: string; arn: string }> = {} as never;

  before(async () => {
    srv = await devServer();
    const c = srv.credentials!;
    hsmOfficer = await adminLogin(srv.url, c.officer.username, c.officer.password);
    p1 = await makePartition(srv.url, hsmOfficer, 'p1');
    const issued = await p1.pso('POST', '/v1/access-keys', { user: 'alice' });
    assert.equal(issued.status, 201, JSON.stringify(issued.body));
    const devKey = c.kms as { accessKeyId: string; secretAccessKey: string };
    dev = client(srv.url, devKey.accessKeyId, devKey.secretAccessKey);
    alice = client(srv.url, issued.body.accessKeyId, issued.body.secretAccessKey);
    devAccount = (await hsmOfficer('GET', '/v1/partitions/default')).body.accountId;
  });
  after(async () => { dev.destroy(); alice.destroy(); await srv.close(); });

  test('each partition is its own account: ARNs carry its id, aliases are its own', async () => {
    for (const [who, kms] of [['dev', dev], ['alice', alice]] as const) {
      const made = await kms.send(new CreateKeyCommand({ Description: who }));
      keys[who] = { id: made.KeyMetadata!.KeyId!, arn: made.KeyMetadata!.Arn! };
      // The same alias name in both accounts, each pointing at its own key.
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/app', TargetKeyId: keys[who].id }));
    }
    assert.match(keys.alice.arn, new RegExp(`^arn:aws:kms:us-east-1:${p1.accountId}:key/`));
    assert.match(keys.dev.arn, new RegExp(`^arn:aws:kms:us-east-1:${devAccount}:key/`));
    assert.notEqual(p1.accountId, devAccount);
    const aliases = await alice.send(new ListAliasesCommand({}));
    assert.deepEqual(aliases.Aliases!.map((a) => [a.AliasName, a.TargetKeyId, a.AliasArn]), [['alias/app', keys.alice.id, `arn:aws:kms:us-east-1:${p1.accountId}:alias/app`]]);
    assert.deepEqual((await alice.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId), [keys.alice.id]);
    const viaAlias = await alice.send(new DescribeKeyCommand({ KeyId: 'alias/app' }));
    assert.equal(viaAlias.KeyMetadata!.KeyId, keys.alice.id);
    assert.equal(viaAlias.KeyMetadata!.AWSAccountId, p1.accountId);
    const ct = await alice.send(new EncryptCommand({ KeyId: 'alias/app', Plaintext: Buffer.from('p1 data') }));
    assert.equal(Buffer.from((await alice.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob }))).Plaintext!).toString(), 'p1 data');
  });

  test('a partition user reaches no other partition\'s key: by id, ARN, alias ARN, or ciphertext', async () => {
    const refs = [keys.dev.id, keys.dev.arn, `arn:aws:kms:us-east-1:${devAccount}:alias/app`,
      // Its own key's id under the other account's ARN is refused too.
      `arn:aws:kms:us-east-1:${devAccount}:key/${keys.alice.id}`];
    for (const ref of refs) {
      await rejectsWith(alice.send(new DescribeKeyCommand({ KeyId: ref })), 'NotFoundException');
      await rejectsWith(alice.send(new EncryptCommand({ KeyId: ref, Plaintext: Buffer.from('x') })), 'NotFoundException');
    }
    for (const ref of [keys.alice.id, keys.alice.arn, `arn:aws:kms:us-east-1:${p1.accountId}:alias/app`]) {
      await rejectsWith(dev.send(new DescribeKeyCommand({ KeyId: ref })), 'NotFoundException');
    }
    // A ciphertext made in one partition does not decrypt in another (nor says whose it is).
    const ct = await dev.send(new EncryptCommand({ KeyId: 'alias/app', Plaintext: Buffer.from('default data') }));
    await rejectsWith(alice.send(new DecryptCommand({ CiphertextBlob: ct.CiphertextBlob })), 'InvalidCiphertextException');
  });

  test('a deleted partition\'s access keys stop working', async () => {
    const devKeys = (await dev.send(new ListKeysCommand({}))).Keys!.length;
    assert.equal((await hsmOfficer('DELETE', '/v1/partitions/p1')).status, 200);
    const e = await alice.send(new ListKeysCommand({})).then(() => undefined, (x: Error) => x);
    assert.ok(e, 'refused');
    assert.match(e!.name, /UnrecognizedClientException|InvalidSignatureException|AccessDenied/);
    assert.equal((await dev.send(new ListKeysCommand({}))).Keys!.length, devKeys, 'the default partition is untouched');
  });
});
