// The XKS proxy face over the in-memory test port, on its own TLS listener (test CA from the
// openssl CLI), driven by a spec-derived client that signs with @smithy/signature-v4. Results
// are checked independently: GCM ciphertexts are decrypted with node:crypto from the key the
// test imported, and the CDIV is recomputed from the spec's Appendix C formula.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type * as https from 'node:https';
import { createXksApi } from '../../../src/api/xks';
import { createXksServer } from '../../../src/protocol/xks';
import { InMemoryKeyPort } from '../../helpers/memory-port';
import { makeTestPki, type TestPki } from '../../helpers/test-ca';
import { XksClient, metadata } from './xks-client';

const PREFIX = '/example/uri/path/prefix';
const AKID = 'BETWEEN2TENAND3TENCHARACTERS';
const SECRET = 'PleaseReplaceThisWithSomeSecretOfLength43To64';
const KEY = nc.randomBytes(32);
const HOST = 'xks.inkan.test';

let pki: TestPki;
let port: InMemoryKeyPort;
let server: https.Server;
let client: XksClient;
let listenPort = 0;
const user = { caller: { subject: 'setup', role: 'user' as const }, face: 'xks' as const, requestId: 'setup' };

before(async () => {
  pki = makeTestPki([HOST]);
  port = new InMemoryKeyPort();
  port.addXksCredential(PREFIX, AKID, SECRET);
  await port.importKey(user, 'foo', { type: 'aes', key: Buffer.from(KEY) }, { uses: ['encrypt', 'decrypt'] });
  await port.createKey(user, 'encrypt_only_key', { type: 'aes', bits: 256 }, { uses: ['encrypt'] });
  await port.createKey(user, 'decrypt_only_key', { type: 'aes', bits: 256 }, { uses: ['decrypt'] });
  await port.createKey(user, 'impotent_key', { type: 'aes', bits: 256 }, { uses: [] });
  await port.createKey(user, 'aes128', { type: 'aes', bits: 128 }, { uses: ['encrypt', 'decrypt'] });
  const api = createXksApi(port, { storePaths: [PREFIX] });
  server = createXksServer({ cert: pki.server.cert, key: pki.server.key }, (req, res) => { void api.handler(req, res); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  listenPort = (server.address() as AddressInfo).port;
  client = new XksClient({ host: HOST, port: listenPort, prefix: PREFIX, accessKeyId: AKID, secretAccessKey: SECRET, ca: pki.ca });
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  pki.cleanup();
});

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
  const last = port.calls.filter((c) => c.method === 'getKey').at(-1)!;
  assert.equal(last.ctx.audit!.awsPrincipalArn, 'arn:aws:iam::123456789012:user/Alice');
  assert.equal(last.ctx.face, 'xks');
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
  const eo = await client.encrypt('encrypt_only_key', plaintext);
  assert.equal(eo.status, 200);
  assert.equal((await client.decrypt('encrypt_only_key', eo.body)).body.errorName, 'InvalidKeyUsageException');
  assert.equal((await client.encrypt('encrypt_only_key', plaintext, { cdiv: true })).body.errorName, 'InvalidKeyUsageException');
  for (const key of ['decrypt_only_key', 'impotent_key', 'aes128']) {
    for (const opts of [{}, { aad }, { aad, cdiv: true }, { cdiv: true }]) {
      assert.equal((await client.encrypt(key, plaintext, opts)).body.errorName, 'InvalidKeyUsageException', key);
    }
  }
  assert.deepEqual((await client.metadata('impotent_key')).body.keyUsage, []);
  const v = port.keys.get('foo')!.versions[0].info;
  v.enabled = false;
  try {
    assert.equal((await client.metadata('foo')).body.keyStatus, 'DISABLED');
    const r = await client.encrypt('foo', plaintext);
    assert.deepEqual([r.status, r.body.errorName], [400, 'InvalidStateException']);
  } finally {
    v.enabled = true;
  }
});

test('a rotated key still decrypts what its old version encrypted (version in ciphertextMetadata)', async () => {
  await port.createKey(user, 'rotating', { type: 'aes', bits: 256 }, { uses: ['encrypt', 'decrypt'] });
  const old = (await client.encrypt('rotating', plaintext)).body;
  await port.rotateKey(user, 'rotating');
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

test('mutual TLS: the listener refuses clients without a certificate, from another CA, or with another CN', async () => {
  const api = createXksApi(port, { storePaths: [PREFIX] });
  const mtls = createXksServer({ cert: pki.server.cert, key: pki.server.key, clientCa: pki.ca, clientCommonNames: ['cks.kms.us-east-1.amazonaws.com'] },
    (req, res) => { void api.handler(req, res); });
  await new Promise<void>((resolve) => mtls.listen(0, '127.0.0.1', resolve));
  const p = (mtls.address() as AddressInfo).port;
  try {
    const good = pki.client('cks.kms.us-east-1.amazonaws.com');
    const ok = await withOpts({ port: p, cert: good.cert, key: good.key }).health();
    assert.equal(ok.status, 200);
    const wrongCn = pki.client('cks.kms.eu-west-1.amazonaws.com');
    const foreign = pki.client('cks.kms.us-east-1.amazonaws.com', { foreign: true });
    for (const c of [withOpts({ port: p }), withOpts({ port: p, cert: wrongCn.cert, key: wrongCn.key }), withOpts({ port: p, cert: foreign.cert, key: foreign.key })]) {
      await assert.rejects(c.health());
    }
  } finally {
    mtls.closeAllConnections();
    await new Promise<void>((resolve) => mtls.close(() => resolve()));
  }
});
