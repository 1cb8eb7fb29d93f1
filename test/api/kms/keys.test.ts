// Key management through @aws-sdk/client-kms: every key spec, describe by id/ARN/alias/alias ARN,
// paging, enable/disable, deletion, descriptions, aliases, tags and rotation.
import Database from 'better-sqlite3';
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateKeyCommand, DecryptCommand, DeleteAliasCommand, DescribeKeyCommand,
  DisableKeyCommand, DisableKeyRotationCommand, EnableKeyCommand, EnableKeyRotationCommand, EncryptCommand,
  GetKeyRotationStatusCommand, ListAliasesCommand, ListKeyRotationsCommand, ListKeysCommand, ListResourceTagsCommand,
  RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand, TagResourceCommand, UntagResourceCommand, UpdateAliasCommand,
  UpdateKeyDescriptionCommand, type KeySpec, type KeyUsageType,
} from '@aws-sdk/client-kms';
import { kmsFixture, rejectsWith, type KmsFixture } from './helpers';

let f: KmsFixture;
before(async () => { f = await kmsFixture(); });
after(async () => { await f.close(); });

const create = async (spec?: KeySpec, usage?: KeyUsageType, extra: Record<string, unknown> = {}) =>
  (await f.kms.send(new CreateKeyCommand({ KeySpec: spec, KeyUsage: usage, ...extra }))).KeyMetadata!;

test('CreateKey makes every key spec with the metadata AWS gives', async () => {
  const cases: [KeySpec, KeyUsageType, string][] = [
    ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT', 'EncryptionAlgorithms'], ['RSA_2048', 'ENCRYPT_DECRYPT', 'EncryptionAlgorithms'],
    ['RSA_3072', 'SIGN_VERIFY', 'SigningAlgorithms'], ['RSA_4096', 'SIGN_VERIFY', 'SigningAlgorithms'],
    ['ECC_NIST_P256', 'SIGN_VERIFY', 'SigningAlgorithms'], ['ECC_NIST_P384', 'KEY_AGREEMENT', 'KeyAgreementAlgorithms'],
    ['ECC_NIST_P521', 'SIGN_VERIFY', 'SigningAlgorithms'], ['ECC_SECG_P256K1', 'SIGN_VERIFY', 'SigningAlgorithms'],
    ['ECC_NIST_EDWARDS25519', 'SIGN_VERIFY', 'SigningAlgorithms'], ['HMAC_224', 'GENERATE_VERIFY_MAC', 'MacAlgorithms'],
    ['HMAC_256', 'GENERATE_VERIFY_MAC', 'MacAlgorithms'], ['HMAC_384', 'GENERATE_VERIFY_MAC', 'MacAlgorithms'],
    ['HMAC_512', 'GENERATE_VERIFY_MAC', 'MacAlgorithms'],
  ];
  for (const [spec, usage, algs] of cases) {
    const m = await create(spec, usage, { Description: `a ${spec} key` });
    assert.equal(m.KeySpec, spec);
    assert.equal(m.KeyUsage, usage);
    assert.equal(m.KeyState, 'Enabled');
    assert.equal(m.Enabled, true);
    assert.equal(m.Origin, 'AWS_KMS');
    assert.equal(m.Description, `a ${spec} key`);
    assert.ok(m.CreationDate instanceof Date);
    assert.ok(((m as unknown as Record<string, unknown>)[algs] as string[]).length > 0, `${spec} ${algs}`);
  }
  await rejectsWith(create('ECC_NIST_P256', 'ENCRYPT_DECRYPT'), 'ValidationException');
  await rejectsWith(create('SM2', 'SIGN_VERIFY'), 'UnsupportedOperationException');
});

test('DescribeKey accepts key id, key ARN, alias name and alias ARN', async () => {
  const m = await create();
  await f.kms.send(new CreateAliasCommand({ AliasName: 'alias/describe-me', TargetKeyId: m.KeyId }));
  const aliasArn = m.Arn!.replace(/key\/.*$/, 'alias/describe-me');
  for (const ref of [m.KeyId!, m.Arn!, 'alias/describe-me', aliasArn]) {
    assert.equal((await f.kms.send(new DescribeKeyCommand({ KeyId: ref }))).KeyMetadata!.KeyId, m.KeyId, ref);
  }
  // Encrypt by alias, decrypt without naming the key.
  const enc = await f.kms.send(new EncryptCommand({ KeyId: 'alias/describe-me', Plaintext: Buffer.from('x') }));
  assert.equal(Buffer.from((await f.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }))).Plaintext!).toString(), 'x');
  await rejectsWith(f.kms.send(new DescribeKeyCommand({ KeyId: 'alias/nope' })), 'NotFoundException', 404);
});

test('ListKeys pages with Limit and Marker', async () => {
  for (let i = 0; i < 3; i++) await create();
  const all = new Set<string>();
  let marker: string | undefined;
  let pages = 0;
  do {
    const page = await f.kms.send(new ListKeysCommand({ Limit: 2, Marker: marker }));
    assert.ok(page.Keys!.length <= 2);
    for (const k of page.Keys!) { assert.ok(!all.has(k.KeyId!)); all.add(k.KeyId!); assert.ok(k.KeyArn!.endsWith(k.KeyId!)); }
    marker = page.Truncated ? page.NextMarker : undefined;
    pages++;
  } while (marker);
  assert.ok(pages >= 2);
  assert.equal(all.size, (await f.kms.send(new ListKeysCommand({}))).Keys!.length);
  await rejectsWith(f.kms.send(new ListKeysCommand({ Marker: 'garbage' })), 'InvalidMarkerException');
});

test('DisableKey/EnableKey: a disabled key refuses use with DisabledException', async () => {
  const m = await create();
  const enc = await f.kms.send(new EncryptCommand({ KeyId: m.KeyId, Plaintext: Buffer.from('x') }));
  await f.kms.send(new DisableKeyCommand({ KeyId: m.KeyId }));
  assert.equal((await f.kms.send(new DescribeKeyCommand({ KeyId: m.KeyId }))).KeyMetadata!.KeyState, 'Disabled');
  await rejectsWith(f.kms.send(new EncryptCommand({ KeyId: m.KeyId, Plaintext: Buffer.from('x') })), 'DisabledException', 409);
  await rejectsWith(f.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob })), 'DisabledException', 409);
  await f.kms.send(new EnableKeyCommand({ KeyId: m.KeyId }));
  await f.kms.send(new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob }));
});

test('ScheduleKeyDeletion/CancelKeyDeletion: pending deletion refuses use; cancelling leaves it Disabled', async () => {
  const m = await create();
  const s = await f.kms.send(new ScheduleKeyDeletionCommand({ KeyId: m.KeyId, PendingWindowInDays: 7 }));
  assert.equal(s.KeyState, 'PendingDeletion');
  assert.equal(s.PendingWindowInDays, 7);
  assert.ok(Math.abs(s.DeletionDate!.getTime() - (Date.now() + 7 * 86_400_000)) < 60_000);
  const d = (await f.kms.send(new DescribeKeyCommand({ KeyId: m.KeyId }))).KeyMetadata!;
  assert.equal(d.KeyState, 'PendingDeletion');
  assert.ok(d.DeletionDate instanceof Date);
  await rejectsWith(f.kms.send(new EncryptCommand({ KeyId: m.KeyId, Plaintext: Buffer.from('x') })), 'KMSInvalidStateException', 409);
  await rejectsWith(f.kms.send(new EnableKeyCommand({ KeyId: m.KeyId })), 'KMSInvalidStateException', 409);
  await rejectsWith(f.kms.send(new ScheduleKeyDeletionCommand({ KeyId: m.KeyId, PendingWindowInDays: 3 })), 'ValidationException');
  await f.kms.send(new CancelKeyDeletionCommand({ KeyId: m.KeyId }));
  assert.equal((await f.kms.send(new DescribeKeyCommand({ KeyId: m.KeyId }))).KeyMetadata!.KeyState, 'Disabled');
  await f.kms.send(new EnableKeyCommand({ KeyId: m.KeyId }));
  await f.kms.send(new EncryptCommand({ KeyId: m.KeyId, Plaintext: Buffer.from('x') }));
});

test('UpdateKeyDescription', async () => {
  const m = await create();
  await f.kms.send(new UpdateKeyDescriptionCommand({ KeyId: m.KeyId, Description: 'new words' }));
  assert.equal((await f.kms.send(new DescribeKeyCommand({ KeyId: m.KeyId }))).KeyMetadata!.Description, 'new words');
});

test('CreateAlias/UpdateAlias/DeleteAlias/ListAliases', async () => {
  const a = await create();
  const b = await create();
  const sign = await create('ECC_NIST_P256', 'SIGN_VERIFY');
  await f.kms.send(new CreateAliasCommand({ AliasName: 'alias/app/one', TargetKeyId: a.KeyId }));
  await rejectsWith(f.kms.send(new CreateAliasCommand({ AliasName: 'alias/app/one', TargetKeyId: b.KeyId })), 'AlreadyExistsException', 409);
  // AWS answers NotAuthorizedException for the reserved prefix (issue #13).
  await rejectsWith(f.kms.send(new CreateAliasCommand({ AliasName: 'alias/aws/mine', TargetKeyId: b.KeyId })), 'NotAuthorizedException');
  await rejectsWith(f.kms.send(new CreateAliasCommand({ AliasName: 'not-an-alias', TargetKeyId: b.KeyId })), 'ValidationException');
  let list = await f.kms.send(new ListAliasesCommand({ KeyId: a.KeyId }));
  assert.equal(list.Aliases!.length, 1);
  assert.equal(list.Aliases![0].AliasName, 'alias/app/one');
  assert.equal(list.Aliases![0].TargetKeyId, a.KeyId);
  assert.match(list.Aliases![0].AliasArn!, /^arn:aws:kms:us-east-1:\d{12}:alias\/app\/one$/);
  await f.kms.send(new UpdateAliasCommand({ AliasName: 'alias/app/one', TargetKeyId: b.KeyId }));
  assert.equal((await f.kms.send(new DescribeKeyCommand({ KeyId: 'alias/app/one' }))).KeyMetadata!.KeyId, b.KeyId);
  await rejectsWith(f.kms.send(new UpdateAliasCommand({ AliasName: 'alias/app/one', TargetKeyId: sign.KeyId })), 'ValidationException');
  for (let i = 0; i < 3; i++) await f.kms.send(new CreateAliasCommand({ AliasName: `alias/page-${i}`, TargetKeyId: a.KeyId }));
  const names: string[] = [];
  let marker: string | undefined;
  do {
    list = await f.kms.send(new ListAliasesCommand({ Limit: 2, Marker: marker }));
    names.push(...list.Aliases!.map((x) => x.AliasName!));
    marker = list.Truncated ? list.NextMarker : undefined;
  } while (marker);
  assert.ok(['alias/app/one', 'alias/page-0', 'alias/page-1', 'alias/page-2'].every((n) => names.includes(n)));
  await f.kms.send(new DeleteAliasCommand({ AliasName: 'alias/app/one' }));
  await rejectsWith(f.kms.send(new DescribeKeyCommand({ KeyId: 'alias/app/one' })), 'NotFoundException');
  await rejectsWith(f.kms.send(new DeleteAliasCommand({ AliasName: 'alias/app/one' })), 'NotFoundException');
});

test('TagResource/UntagResource/ListResourceTags', async () => {
  const m = await create(undefined, undefined, { Tags: [{ TagKey: 'team', TagValue: 'a' }] });
  await f.kms.send(new TagResourceCommand({ KeyId: m.KeyId, Tags: [{ TagKey: 'env', TagValue: 'prod' }, { TagKey: 'team', TagValue: 'b' }] }));
  let tags = await f.kms.send(new ListResourceTagsCommand({ KeyId: m.KeyId }));
  assert.deepEqual(tags.Tags, [{ TagKey: 'team', TagValue: 'b' }, { TagKey: 'env', TagValue: 'prod' }]);
  assert.equal(tags.Truncated, false);
  await f.kms.send(new UntagResourceCommand({ KeyId: m.KeyId, TagKeys: ['team'] }));
  tags = await f.kms.send(new ListResourceTagsCommand({ KeyId: m.KeyId }));
  assert.deepEqual(tags.Tags, [{ TagKey: 'env', TagValue: 'prod' }]);
  await rejectsWith(f.kms.send(new TagResourceCommand({ KeyId: m.KeyId, Tags: [{ TagKey: 'aws:x', TagValue: 'y' }] })), 'TagException');
});

test('rotation: on demand and scheduled settings; every version keeps decrypting, the newest encrypts', async () => {
  const m = await create();
  const blobs = [(await f.kms.send(new EncryptCommand({ KeyId: m.KeyId, Plaintext: Buffer.from('v1') }))).CiphertextBlob!];
  let st = await f.kms.send(new GetKeyRotationStatusCommand({ KeyId: m.KeyId }));
  assert.equal(st.KeyRotationEnabled, false);
  await f.kms.send(new EnableKeyRotationCommand({ KeyId: m.KeyId, RotationPeriodInDays: 90 }));
  st = await f.kms.send(new GetKeyRotationStatusCommand({ KeyId: m.KeyId }));
  assert.equal(st.KeyRotationEnabled, true);
  assert.equal(st.RotationPeriodInDays, 90);
  assert.ok(Math.abs(st.NextRotationDate!.getTime() - (Date.now() + 90 * 86_400_000)) < 60_000);
  const before = (await f.kms.send(new DescribeKeyCommand({ KeyId: m.KeyId }))).KeyMetadata!.CurrentKeyMaterialId;
  for (const v of ['v2', 'v3']) {
    await f.kms.send(new RotateKeyOnDemandCommand({ KeyId: m.KeyId }));
    blobs.push((await f.kms.send(new EncryptCommand({ KeyId: m.KeyId, Plaintext: Buffer.from(v) }))).CiphertextBlob!);
  }
  const afterId = (await f.kms.send(new DescribeKeyCommand({ KeyId: m.KeyId }))).KeyMetadata!.CurrentKeyMaterialId;
  assert.notEqual(before, afterId);
  const out = await Promise.all(blobs.map(async (b) => Buffer.from((await f.kms.send(new DecryptCommand({ CiphertextBlob: b }))).Plaintext!).toString()));
  assert.deepEqual(out, ['v1', 'v2', 'v3']);
  const rotations = await f.kms.send(new ListKeyRotationsCommand({ KeyId: m.KeyId }));
  assert.equal(rotations.Rotations!.length, 2);
  assert.ok(rotations.Rotations!.every((r) => r.RotationType === 'ON_DEMAND' && r.RotationDate instanceof Date));
  assert.ok((await f.kms.send(new GetKeyRotationStatusCommand({ KeyId: m.KeyId }))).OnDemandRotationStartDate instanceof Date);
  await f.kms.send(new DisableKeyRotationCommand({ KeyId: m.KeyId }));
  assert.equal((await f.kms.send(new GetKeyRotationStatusCommand({ KeyId: m.KeyId }))).KeyRotationEnabled, false);
  const rsa = await create('ECC_NIST_P256', 'SIGN_VERIFY');
  await rejectsWith(f.kms.send(new EnableKeyRotationCommand({ KeyId: rsa.KeyId })), 'UnsupportedOperationException');
  await rejectsWith(f.kms.send(new RotateKeyOnDemandCommand({ KeyId: rsa.KeyId })), 'UnsupportedOperationException');
});

test('KMS key records and aliases are MACed: an edited row is refused, never used', async () => {
  const m = await create();
  await f.kms.send(new CreateAliasCommand({ AliasName: 'alias/tamper', TargetKeyId: m.KeyId }));
  // The attacker writes the database from another connection (another process), behind the module's back.
  const db = new Database((f.server.hsm.store as unknown as { file: string }).file);
  db.prepare("UPDATE managed_keys SET data = replace(data, '\"enabled\"', '\"disabled\"') WHERE id = ?").run(m.KeyId);
  await rejectsWith(f.kms.send(new DescribeKeyCommand({ KeyId: m.KeyId })), 'KMSInternalException', 500);
  const other = await create();
  db.prepare('UPDATE names SET target = ? WHERE name = ?').run(other.KeyId, 'alias/tamper');
  await rejectsWith(f.kms.send(new EncryptCommand({ KeyId: 'alias/tamper', Plaintext: Buffer.from('x') })), 'KMSInternalException', 500);
  db.close();
});

test('once the waiting period has passed, a key pending deletion is gone: record, objects and aliases', async (t) => {
  const m = await create('ECC_NIST_P256', 'SIGN_VERIFY');
  await f.kms.send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: m.KeyId }));
  await f.kms.send(new ScheduleKeyDeletionCommand({ KeyId: m.KeyId, PendingWindowInDays: 7 }));
  const admin = await f.server.login(f.server.credentials!.user.username, f.server.credentials!.user.password);
  assert.equal((await admin('GET', `/v1/keys/${m.KeyId}`)).status, 200);
  // The module's clock jumps 8 days (the core is asked directly: an SDK client would sign with the mocked clock too).
  const hsm = f.server.hsm;
  const caller = hsm.callerOf(await hsm.login(f.server.credentials!.user.username, f.server.credentials!.user.password), 'kms');
  const objects = (await hsm.managed.get(caller, m.KeyId!)).data.versions.flatMap((v) => [v.objectId, v.publicObjectId]).filter(Boolean) as string[];
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() + 8 * 86_400_000 });
  try {
    // Past the window the key reads as gone at once (no write on a read) ...
    await assert.rejects(hsm.managed.get(caller, m.KeyId!), (e: Error & { code?: string }) => e.code === 'KEY_NOT_FOUND');
    // ... and the scheduler's lifecycle task removes the record, its objects and its aliases.
    assert.deepEqual(await hsm.managed.runDue(hsm.systemCaller()), { deleted: 1, rotated: 0 });
    assert.ok(!(await hsm.names.list(caller, 'kms-alias')).some((a) => a.name === 'alias/doomed'));
    assert.equal(await hsm.store.get('managed_keys', m.KeyId!), undefined);
    for (const id of objects) assert.equal(await hsm.store.get('objects', id), undefined);
  } finally { t.mock.timers.reset(); }
  await rejectsWith(f.kms.send(new DescribeKeyCommand({ KeyId: m.KeyId })), 'NotFoundException', 404);
  assert.equal((await admin('GET', `/v1/keys/${m.KeyId}`)).status, 404);
});
