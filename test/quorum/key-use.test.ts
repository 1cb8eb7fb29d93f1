// Key-use quorum (CloudHSM key-usage, the DNSSEC KSK pattern): a key that needs 3 approvals of
// its owner and sharees refuses every use — through pkcs11-tool (PKCS#11 via p11-kit-client.so),
// the KMS face (AWS SDK) and the admin API — until a token approved by two sharees (the owner
// counts once) opens its use window; then pkcs11-tool signs and openssl verifies the signature.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { P11_KIT_CLIENT, p11Server, type P11Server } from '../interop/p11-helpers';
import { approve, type Approver, type Call, isError, keyPair, session } from './helpers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const PW = 'crypto-user-pw-7';

describe('key-use quorum on every face', { timeout: 120_000 }, () => {
  let srv: P11Server;
  let owner: Approver;
  let carol: Approver;
  let dave: Approver;
  let officer: Call;
  let keyId: string;
  let kms: KMSClient;
  const data = Buffer.from('. IN DNSKEY signed under a 3-of-3 activation\n');
  let dataFile: string;
  let digestFile: string;
  const tool = (...args: string[]) => srv.run('pkcs11-tool', ['--module', P11_KIT_CLIENT, '--login', '--pin', srv.pin, ...args]);

  before(async () => {
    srv = await p11Server();
    const c = srv.credentials!;
    officer = await session(srv, c.officer.username, c.officer.password);
    const ko = keyPair('ed25519');
    owner = { name: c.user.username, call: await session(srv, c.user.username, c.user.password), ...ko };
    assert.equal((await owner.call('POST', `/v1/users/${c.user.username}/signing-key`, { publicKey: ko.publicPem })).status, 200);
    const mk = async (name: string, kind: 'ed25519' | 'p256'): Promise<Approver> => {
      const k = keyPair(kind);
      assert.equal((await officer('POST', '/v1/users', { username: name, role: 'user', password: PW, publicKey: k.publicPem })).status, 201);
      return { name, call: await session(srv, name, PW), ...k };
    };
    carol = await mk('carol', 'ed25519');
    dave = await mk('dave', 'p256');
    const gen = await owner.call('POST', '/v1/keys', { type: 'ec', curve: 'P-256', label: 'ksk', ckaId: '5a' });
    assert.equal(gen.status, 201, JSON.stringify(gen.body));
    keyId = gen.body.key.id;
    for (const u of ['carol', 'dave']) assert.equal((await owner.call('POST', '/v1/keys/ksk/share', { user: u })).status, 200);
    dataFile = srv.file('data.txt', data);
    digestFile = srv.file('data.sha256', crypto.createHash('sha256').update(data).digest());
    const k = c.kms as { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
    kms = new KMSClient({ endpoint: k.endpoint, region: k.region, credentials: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey }, maxAttempts: 1 });
  });
  after(async () => { kms?.destroy(); await srv.close(); });

  test('the value is at most the owner and its sharees; only the owner sets it', async () => {
    isError(await owner.call('POST', '/v1/keys/ksk/quorum', { value: 4, windowSeconds: 900 }), 'QUORUM_VALUE_TOO_HIGH');
    isError(await carol.call('POST', `/v1/keys/${keyId}/quorum`, { value: 2, windowSeconds: 900 }), 'NOT_OWNER');
    const set = await owner.call('POST', '/v1/keys/ksk/quorum', { value: 3, windowSeconds: 900 });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    // Unsharing would leave fewer users than the value.
    isError(await owner.call('POST', '/v1/keys/ksk/unshare', { user: 'dave' }), 'QUORUM_VALUE_TOO_HIGH');
    // Lowering it again needs the approvals it protects.
    isError(await owner.call('POST', '/v1/keys/ksk/quorum', { value: 1, windowSeconds: 900 }), 'QUORUM_TOKEN_REQUIRED');
  });

  test('before activation every face refuses the key: PKCS#11, KMS, admin', async () => {
    const sig = srv.file('refused.sig');
    const r = await tool('--sign', '--id', '5a', '-m', 'ECDSA', '-i', digestFile, '-o', sig);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /CKR_KEY_FUNCTION_NOT_PERMITTED/);
    await assert.rejects(kms.send(new SignCommand({ KeyId: keyId, Message: data, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' })),
      (e: Error) => e.name === 'AccessDeniedException' && /approvals/.test(e.message));
    isError(await owner.call('POST', '/v1/keys/ksk/sign', { data: data.toString('base64') }), 'KEY_QUORUM_REQUIRED');
    // The public half needs no quorum.
    assert.equal((await owner.call('GET', '/v1/keys/ksk/public')).status, 200);
  });

  test('3 of 3: the owner asks, two sharees approve, then the key is usable for its window on every face', async () => {
    const req = await owner.call('POST', '/v1/quorum/tokens', { operation: 'key.activate', args: { key: 'ksk' } });
    assert.equal(req.status, 201, JSON.stringify(req.body));
    const id = req.body.body.id as string;
    assert.deepEqual(req.body.body.args, { key: keyId, window: 900 }, 'the label was bound as the key id, with the key\'s window');
    assert.equal(req.body.required, 3);
    isError(await approve(owner, id), 'QUORUM_SELF_APPROVAL');
    // An officer is no approver of a key's use (and cannot even see the key).
    const ko = keyPair('ed25519');
    await officer('POST', `/v1/users/${srv.credentials!.officer.username}/signing-key`, { publicKey: ko.publicPem });
    isError(await approve({ name: 'officer', call: officer, ...ko }, id), 'QUORUM_NOT_APPROVER');
    assert.equal((await approve(carol, id)).status, 200);
    isError(await owner.call('POST', '/v1/keys/ksk/activate', {}, id), 'QUORUM_UNDER_SIGNED');
    assert.equal((await approve(dave, id)).status, 200);
    const act = await owner.call('POST', '/v1/keys/ksk/activate', {}, id);
    assert.equal(act.status, 200, JSON.stringify(act.body));
    assert.ok(Date.parse(act.body.activeUntil) > Date.now() + 800_000);
    isError(await owner.call('POST', '/v1/keys/ksk/activate', {}, id), 'QUORUM_TOKEN_USED');

    const sig = srv.file('ok.sig');
    const r = await tool('--sign', '--id', '5a', '-m', 'ECDSA', '--signature-format', 'openssl', '-i', digestFile, '-o', sig);
    assert.equal(r.status, 0, r.stderr);
    const pub = (await owner.call('GET', '/v1/keys/ksk/public')).body.pem as string;
    assert.ok(crypto.verify('sha256', data, pub, (await import('node:fs')).readFileSync(sig)), 'node:crypto verifies the PKCS#11 signature');
    const pem = srv.file('pub.pem', pub);
    await srv.ok('openssl', ['dgst', '-sha256', '-verify', pem, '-signature', sig, dataFile]);
    const k = await kms.send(new SignCommand({ KeyId: keyId, Message: data, MessageType: 'RAW', SigningAlgorithm: 'ECDSA_SHA_256' }));
    assert.ok(crypto.verify('sha256', data, pub, Buffer.from(k.Signature!)), 'the KMS signature verifies');
  });
});
