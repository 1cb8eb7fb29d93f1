// The XKS proxy face on the real server (startServer, dev mode): the dev key store from
// dev-credentials.json (its URI prefix, SigV4 credentials and its four keys: an AES-256 key, an
// encrypt-only, a decrypt-only and an impotent one), driven by a spec-derived client that signs
// with @smithy/signature-v4. Results are checked independently: GCM ciphertexts are decrypted
// with node:crypto from a key the test imported through Key Vault, the CDIV is recomputed from
// the spec's Appendix C formula; the request metadata reaches the audit record. A second server
// runs XKS on its own mutual-TLS listener (--xks-tls-cert/key, --xks-client-ca, --xks-client-cn).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as nc from 'node:crypto';
import type { KeyClient } from '@azure/keyvault-keys';
import { makeTestPki, type TestPki } from '../../helpers/test-ca';
import { devServer } from '../../helpers/harness';
import { XksClient, metadata } from '../../protocol/xks/xks-client';
import { startAkvCore, type AkvCoreFixture } from '../akv/fixture';

interface DevXks { endpoint: string; uriPrefix: string; region: string; accessKeyId: string; secretAccessKey: string; caFile: string;
  keyId: string; encryptOnlyKeyId: string; decryptOnlyKeyId: string; impotentKeyId: string }

const KEY = nc.randomBytes(32);
let f: AkvCoreFixture;
let kc: KeyClient;
let dev: DevXks;
let client: XksClient;
let PREFIX = '';
let AKID = '';
let SECRET = '';

before(async () => {
  f = await startAkvCore();
  kc = f.keyClient();
  dev = f.server.credentials!.xks as DevXks;
  PREFIX = dev.uriPrefix;
  AKID = dev.accessKeyId;
  SECRET = dev.secretAccessKey;
  await kc.importKey('foo', { kty: 'oct-HSM', k: KEY, keyOps: ['encrypt', 'decrypt'] });
  await kc.createOctKey('aes128', { keySize: 128, keyOps: ['encrypt', 'decrypt'] });
  client = new XksClient({ host: 'localhost', port: Number(new URL(dev.endpoint).port), prefix: PREFIX, accessKeyId: AKID, secretAccessKey: SECRET,
    ca: fs.readFileSync(dev.caFile, 'utf8'), region: dev.region });
});
after(async () => { await f.close(); });

const withOpts = (over: Partial<ConstructorParameters<typeof XksClient>[0]>) => new XksClient({ ...client.opts, ...over });
const plaintext = Buffer.from('Hello World!');
const aad = Buffer.from('project=nile,department=marketing');

test('GetHealthStatus reports the fleet; requestMetadata is required', async () => {
  const r = await client.health();
  assert.equal(r.status, 200);
  assert.equal(r.body.xksProxyFleetSize, 1);
  assert.equal(r.body.ekmFleetDetails[0].healthStatus, 'ACTIVE');
  for (const body of [{}, { requestMetadata: {} }]) {
    const bad = await client.post('health', body);
    assert.deepEqual([bad.status, bad.body.errorName], [400, 'ValidationException']);
  }
});

test('GetKeyMetadata: AES_256, usages and status; unknown key; metadata fields required', async () => {
  const r = await client.metadata('foo');
  assert.deepEqual(r.body, { keySpec: 'AES_256', keyUsage: ['ENCRYPT', 'DECRYPT'], keyStatus: 'ENABLED' });
  assert.deepEqual((await client.metadata('non_existing_key')).body.errorName, 'KeyNotFoundException');
  assert.equal((await client.metadata('non_existing_key')).status, 404);
  assert.equal((await client.post('keys/foo/metadata', { requestMetadata: { kmsOperation: 'CreateKey' } })).body.errorName, 'ValidationException');
});

test('every call is one audited core operation of the xks face with the request metadata in its detail', async () => {
  const md = metadata('Encrypt');
  const r = await client.post('keys/foo/encrypt', { requestMetadata: md, plaintext: plaintext.toString('base64'), encryptionAlgorithm: 'AES_GCM' });
  assert.equal(r.status, 200);
  const line = f.server.logs.find((l) => l.includes('"op":"key.encrypt"') && l.includes(md.kmsRequestId));
  assert.ok(line, 'an audit record names the KMS request id');
  const rec = JSON.parse(line!);
  assert.equal(rec.face, 'xks');
  assert.equal(rec.outcome, 'success');
  assert.match(rec.detail, /kmsOperation=Encrypt/);
  assert.match(rec.detail, /awsPrincipalArn=arn:aws:iam::123456789012:user\/Alice/);
  assert.ok(!line!.includes(plaintext.toString('base64')));
});

test('Encrypt then Decrypt with and without AAD; node:crypto decrypts with the spec AAD construction', async () => {
  for (const a of [undefined, aad]) {
    const enc = await client.encrypt('foo', plaintext, { aad: a });
    assert.equal(enc.status, 200, JSON.stringify(enc.body));
    const iv = Buffer.from(enc.body.initializationVector, 'base64');
    const md = Buffer.from(enc.body.ciphertextMetadata, 'base64');
    assert.equal(iv.length, 12);
    assert.ok(md.length <= 20);
    const ct = Buffer.from(enc.body.ciphertext, 'base64');
    assert.equal(ct.length, plaintext.length);
    // Spec "Encrypt": AAD' = 2-byte len ‖ aad ‖ 1-byte len ‖ ciphertextMetadata.
    const a0 = a ?? Buffer.alloc(0);
    const fullAad = Buffer.concat([Buffer.from([a0.length >> 8, a0.length & 0xff]), a0, Buffer.from([md.length]), md]);
    const d = nc.createDecipheriv('aes-256-gcm', KEY, iv);
    d.setAAD(fullAad);
    d.setAuthTag(Buffer.from(enc.body.authenticationTag, 'base64'));
    assert.deepEqual(Buffer.concat([d.update(ct), d.final()]), plaintext);
    const dec = await client.decrypt('foo', enc.body, a);
    assert.deepEqual(Buffer.from(dec.body.plaintext, 'base64'), plaintext);
  }
});

test('the CDIV is SHA-256 over aad ‖ metadata ‖ iv ‖ ciphertext ‖ tag (Appendix C)', async () => {
  for (const a of [aad, undefined]) {
    const enc = await client.encrypt('foo', plaintext, { aad: a, cdiv: true });
    const parts = ['ciphertextMetadata', 'initializationVector', 'ciphertext', 'authenticationTag'].map((k) => Buffer.from(enc.body[k], 'base64'));
    const expected = nc.createHash('sha256').update(Buffer.concat([a ?? Buffer.alloc(0), ...parts])).digest('base64');
    assert.equal(enc.body.ciphertextDataIntegrityValue, expected);
  }
});

test('tampered ciphertext, IV, tag, metadata or AAD is InvalidCiphertextException; missing AAD too', async () => {
  const enc = (await client.encrypt('foo', plaintext, { aad })).body;
  const flip = (b64: string) => { const b = Buffer.from(b64, 'base64'); b[0] ^= 1; return b.toString('base64'); };
  const cases = [
    { ...enc, ciphertext: flip(enc.ciphertext) }, { ...enc, authenticationTag: flip(enc.authenticationTag) },
    { ...enc, initializationVector: flip(enc.initializationVector) }, { ...enc, ciphertextMetadata: flip(enc.ciphertextMetadata) },
    { ...enc, ciphertextMetadata: undefined },
  ];
  for (const body of cases) {
    const r = await client.decrypt('foo', body as Record<string, string>, aad);
    assert.deepEqual([r.status, r.body.errorName], [400, 'InvalidCiphertextException']);
  }
  assert.equal((await client.decrypt('foo', enc)).body.errorName, 'InvalidCiphertextException');
  assert.equal((await client.decrypt('foo', enc, Buffer.from('project=blue'))).body.errorName, 'InvalidCiphertextException');
});

test('encrypt-only, decrypt-only and impotent keys; a non-AES-256 key; a disabled key', async () => {
  const eo = await client.encrypt(dev.encryptOnlyKeyId, plaintext);
  assert.equal(eo.status, 200);
  assert.equal((await client.decrypt(dev.encryptOnlyKeyId, eo.body)).body.errorName, 'InvalidKeyUsageException');
  assert.equal((await client.encrypt(dev.encryptOnlyKeyId, plaintext, { cdiv: true })).body.errorName, 'InvalidKeyUsageException');
  for (const key of [dev.decryptOnlyKeyId, dev.impotentKeyId, 'aes128']) {
    for (const opts of [{}, { aad }, { aad, cdiv: true }, { cdiv: true }]) {
      assert.equal((await client.encrypt(key, plaintext, opts)).body.errorName, 'InvalidKeyUsageException', key);
    }
  }
  assert.deepEqual((await client.metadata(dev.impotentKeyId)).body.keyUsage, []);
  const version = (await kc.getKey('foo')).properties.version!;
  await kc.updateKeyProperties('foo', version, { enabled: false });
  try {
    assert.equal((await client.metadata('foo')).body.keyStatus, 'DISABLED');
    const r = await client.encrypt('foo', plaintext);
    assert.deepEqual([r.status, r.body.errorName], [400, 'InvalidStateException']);
  } finally {
    await kc.updateKeyProperties('foo', version, { enabled: true });
  }
  // The dev key store's own keys: the AES-256 one encrypts and decrypts.
  const enc = await client.encrypt(dev.keyId, plaintext, { cdiv: true });
  assert.equal(enc.status, 200);
  assert.deepEqual(Buffer.from((await client.decrypt(dev.keyId, enc.body)).body.plaintext, 'base64'), plaintext);
  // A decrypt-only key decrypts what the same material encrypted: it cannot here, as its material is its own.
  assert.equal((await client.decrypt(dev.decryptOnlyKeyId, enc.body)).body.errorName, 'InvalidCiphertextException');
});

test('a rotated key still decrypts what its old version encrypted (version in ciphertextMetadata)', async () => {
  await kc.createOctKey('rotating', { keySize: 256, keyOps: ['encrypt', 'decrypt'] });
  const old = (await client.encrypt('rotating', plaintext)).body;
  await kc.rotateKey('rotating');
  const fresh = (await client.encrypt('rotating', plaintext)).body;
  assert.notEqual(fresh.ciphertextMetadata, old.ciphertextMetadata);
  assert.deepEqual(Buffer.from((await client.decrypt('rotating', old)).body.plaintext, 'base64'), plaintext);
});

test('large plaintext and AAD (4096 and 8192 bytes, as the test client sends) work; oversize is UnsupportedOperation', async () => {
  const big = nc.randomBytes(4096);
  const bigAad = nc.randomBytes(8192);
  const enc = await client.encrypt('foo', big, { aad: bigAad, cdiv: true });
  assert.equal(enc.status, 200);
  assert.deepEqual(Buffer.from((await client.decrypt('foo', enc.body, bigAad)).body.plaintext, 'base64'), big);
  assert.equal((await client.encrypt('foo', nc.randomBytes(9000))).body.errorName, 'UnsupportedOperationException');
});

test('authentication: bad key id, bad secret, wrong service, wrong prefix, clock skew, tampering, no signature', async () => {
  const auth = async (c: XksClient, expected = 'AuthenticationFailedException', status = 401) => {
    const r = await c.health();
    assert.deepEqual([r.status, r.body.errorName], [status, expected]);
  };
  await auth(withOpts({ accessKeyId: `Invalid${AKID}` }));
  await auth(withOpts({ secretAccessKey: `Invalid${SECRET}` }));
  await auth(withOpts({ service: 'kms' }));
  await auth(withOpts({ service: 'kms-xks' }));
  await auth(withOpts({ signingDate: new Date(Date.now() - 6 * 60 * 1000) }));
  await auth(withOpts({ prefix: `${PREFIX}/invalid` }), 'InvalidUriPathException', 404);
  const tampered = await client.post('keys/foo/encrypt', { requestMetadata: metadata('Encrypt'), plaintext: 'AAAA', encryptionAlgorithm: 'AES_GCM' },
    (r) => { r.body = r.body.replace('AAAA', 'BBBB'); });
  assert.deepEqual([tampered.status, tampered.body.errorName], [401, 'AuthenticationFailedException']);
  const unsigned = await client.post('health', { requestMetadata: metadata('KmsHealthCheck') }, (r) => { delete r.headers.authorization; });
  assert.equal(unsigned.body.errorName, 'AuthenticationFailedException');
  const otherKey = await client.post('keys/foo/decrypt', { requestMetadata: metadata('Decrypt') }, (r) => {
    r.headers.authorization = r.headers.authorization.replace(/Signature=[0-9a-f]+/, `Signature=${'0'.repeat(64)}`);
  });
  assert.equal(otherKey.body.errorName, 'AuthenticationFailedException');
});

test('paths, methods and bodies: GET is 405, unknown operations and bad key ids are InvalidUriPath, malformed JSON', async () => {
  assert.equal((await client.post('health', {}, undefined, 'GET')).status, 405);
  for (const target of ['keys/foo/sign', 'keys/foo', 'keys/b%20d/encrypt', 'nothing', `keys/${'a'.repeat(129)}/metadata`]) {
    const r = await client.post(target, { requestMetadata: metadata('Encrypt') });
    assert.deepEqual([r.status, r.body.errorName], [404, 'InvalidUriPathException'], target);
  }
  assert.equal((await client.post('keys/foo/encrypt', '{"requestMetadata":')).body.errorName, 'ValidationException');
  assert.equal((await client.post('keys/foo/encrypt', { requestMetadata: metadata('Encrypt'), plaintext: 'not base64!', encryptionAlgorithm: 'AES_GCM' })).body.errorName, 'ValidationException');
  assert.equal((await client.post('keys/foo/encrypt', { requestMetadata: metadata('Encrypt'), plaintext: 'AAAA', encryptionAlgorithm: 'AES_CBC' })).body.errorName, 'ValidationException');
  const e = await client.post('keys/foo/encrypt', { requestMetadata: metadata('Encrypt'), encryptionAlgorithm: 'AES_GCM' });
  assert.equal(e.body.errorName, 'ValidationException');
  assert.ok(/^[\x20-\x7e]{0,511}$/.test(e.body.errorMessage));
  const secret = Buffer.from('top-secret-plaintext').toString('base64');
  const leak = await client.post('keys/missing/encrypt', { requestMetadata: metadata('Encrypt'), plaintext: secret, encryptionAlgorithm: 'AES_GCM' });
  assert.ok(!JSON.stringify(leak.body).includes(secret));
});

test('mutual TLS on its own listener: refuses clients without a certificate, from another CA, or with another CN', async () => {
  const pki: TestPki = makeTestPki(['xks.inkan.test']);
  const server = await devServer(undefined, { cloud: {
    xksTlsCert: pki.server.certFile, xksTlsKey: pki.server.keyFile, xksClientCa: pki.caFile, xksClientCns: ['cks.kms.us-east-1.amazonaws.com'],
  } });
  try {
    const x = server.credentials!.xks as DevXks;
    assert.equal(x.caFile, undefined);
    const base = new XksClient({ host: 'xks.inkan.test', port: Number(new URL(x.endpoint).port), prefix: x.uriPrefix, accessKeyId: x.accessKeyId,
      secretAccessKey: x.secretAccessKey, ca: pki.ca });
    const as = (over: Partial<ConstructorParameters<typeof XksClient>[0]>) => new XksClient({ ...base.opts, ...over });
    const good = pki.client('cks.kms.us-east-1.amazonaws.com');
    const ok = await as({ cert: good.cert, key: good.key }).encrypt(x.keyId, plaintext);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const wrongCn = pki.client('cks.kms.eu-west-1.amazonaws.com');
    const foreign = pki.client('cks.kms.us-east-1.amazonaws.com', { foreign: true });
    for (const c of [as({}), as({ cert: wrongCn.cert, key: wrongCn.key }), as({ cert: foreign.cert, key: foreign.key })]) {
      await assert.rejects(c.health());
    }
  } finally {
    await server.close();
    pki.cleanup();
  }
});

test('key stores: a second credential of the same store works while both are live; one store\'s key opens no other store; deleted credentials stop at once', async () => {
  const hsm = f.server.hsm;
  const creds = f.server.credentials!;
  const user = hsm.callerOf(await hsm.login(creds.user.username, creds.user.password), 'internal');
  const second = await hsm.credentials.clients.createXks(user, { uriPrefix: PREFIX });
  const rotated = withOpts({ accessKeyId: second.accessKeyId, secretAccessKey: second.secretAccessKey });
  assert.equal((await rotated.encrypt('foo', plaintext)).status, 200);
  assert.equal((await client.encrypt('foo', plaintext)).status, 200);
  const other = await hsm.credentials.clients.createXks(user);
  assert.notEqual(other.uriPrefix, PREFIX);
  const cross = await withOpts({ prefix: other.uriPrefix }).health();
  assert.deepEqual([cross.status, cross.body.errorName], [401, 'AuthenticationFailedException']);
  assert.equal((await withOpts({ prefix: other.uriPrefix, accessKeyId: other.accessKeyId, secretAccessKey: other.secretAccessKey }).health()).status, 200);
  await hsm.credentials.clients.delete(user, 'sigv4-xks', second.accessKeyId);
  assert.equal((await rotated.health()).body.errorName, 'AuthenticationFailedException');
  assert.equal((await client.health()).status, 200);
  // Another crypto user's store does not reach this user's keys.
  const officer = await f.officer();
  await hsm.users.create(officer, 'xks-other', 'user', 'user-password-1');
  const theirs = await hsm.credentials.clients.createXks(officer, { username: 'xks-other' });
  const r = await withOpts({ prefix: theirs.uriPrefix, accessKeyId: theirs.accessKeyId, secretAccessKey: theirs.secretAccessKey }).metadata('foo');
  assert.deepEqual([r.status, r.body.errorName], [404, 'KeyNotFoundException']);
});

test('no key byte, plaintext or SigV4 secret reaches the server log', async () => {
  const text = f.server.logs.join('\n');
  for (const form of [KEY.toString('base64'), KEY.toString('hex'), plaintext.toString('base64'), plaintext.toString(), SECRET]) {
    assert.ok(!text.includes(form), 'a secret in the log');
  }
});
