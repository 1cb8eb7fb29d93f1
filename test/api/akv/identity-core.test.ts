// The Key Vault face's identity on the real server: tokens signed with the module's DMK-derived
// Ed25519 key (checked with node:crypto against the published JWKS), client secrets checked and
// counted by the core (wrong secrets lock the client, every attempt audited), revocation by
// deleting the client or locking its user, tokens the module signed with a past expiry or for
// another module, forged tokens, a sealed module, the plain-HTTP dev listener, and the dev
// credentials used from a separate process with only the documented options.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import * as path from 'node:path';
import { KeyClient } from '@azure/keyvault-keys';
import { issueJwt } from '../../../src/protocol/akv/jwt';
import { MAX_FAILED_LOGINS } from '../../../src/core/users';
import { API, CLIENT_ID, raw, token } from '../../protocol/akv/harness';
import { run } from '../../interop/p11-helpers';
import { REPO_ROOT, writeTemp } from '../../helpers/harness';
import { startAkvCore, type AkvCoreFixture } from './fixture';

let f: AkvCoreFixture;
before(async () => { f = await startAkvCore(); await f.keyClient().createEcKey('id-key', { curve: 'P-256' }); });
after(async () => { await f.close(); });

const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
const get = (jwt: string) => raw(f, 'GET', `/keys?${API}`, { headers: { authorization: `Bearer ${jwt}` } });

test('a token from the module: EdDSA, verified by node:crypto with the JWKS; subject is the client id; issuer on the authority', async () => {
  const jwt = await token(f);
  const [h, p, s] = jwt.split('.');
  const header = decode(h);
  assert.equal(header.alg, 'EdDSA');
  const jwks = await raw(f, 'GET', `/${f.tenantId}/discovery/v2.0/keys`);
  const jwk = jwks.json().keys.find((k: { kid: string }) => k.kid === header.kid);
  const pub = nc.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  assert.ok(nc.verify(null, Buffer.from(`${h}.${p}`), pub, Buffer.from(s, 'base64url')));
  const claims = decode(p);
  const devClient = (f.server.credentials!.akv as { clientId: string }).clientId;
  assert.equal(claims.sub, devClient);
  assert.equal(claims.tid, f.tenantId);
  assert.equal(claims.iss, `${f.authorityHost}/${f.tenantId}/v2.0`);
  assert.equal(claims.aud, f.resource);
  assert.ok(claims.exp - claims.iat <= 900);
});

test('wrong and unknown secrets are one invalid_client answer, audited; repeated wrong secrets lock the client', async () => {
  await f.addClient('app-locked', 'test-secret-lock-0123456789', 'user');
  for (let i = 0; i < MAX_FAILED_LOGINS; i++) {
    await assert.rejects(f.credential('app-locked', `wrong-${i}`).getToken(`${f.resource}/.default`), /invalid_client|AADSTS7000215/);
  }
  await assert.rejects(f.credential('00000000-0000-4000-8000-000000000000', 'whatever').getToken(`${f.resource}/.default`), /invalid_client|AADSTS7000215/);
  // Locked: the right secret no longer works either.
  await assert.rejects(f.credential('app-locked', 'test-secret-lock-0123456789').getToken(`${f.resource}/.default`), /invalid_client|AADSTS7000215/);
  const failures = f.server.logs.filter((l) => l.includes('oauth-client.authenticate') && l.includes('"outcome":"failure"'));
  assert.ok(failures.length >= MAX_FAILED_LOGINS + 2, `audited failures: ${failures.length}`);
  assert.ok(failures.some((l) => l.includes('ACCOUNT_LOCKED')));
  assert.ok(!f.server.logs.some((l) => l.includes('wrong-0') || l.includes('test-secret-lock')), 'no secret reaches the log');
});

test('deleting the client or locking its user revokes tokens already issued', async () => {
  await f.addClient('app-temp', 'temp-secret-1234567890', 'user');
  const jwt = await token(f, 'app-temp', 'temp-secret-1234567890');
  assert.equal((await get(jwt)).status, 200);
  const hsm = f.server.hsm;
  const officer = await f.officer();
  const [client] = (await hsm.credentials.clients.list(officer, 'oauth-client')).filter((c) => c.username === 'app-temp');
  await hsm.credentials.clients.delete(officer, 'oauth-client', client.id);
  const r = await get(jwt);
  assert.equal(r.status, 401);
  assert.match(r.json().error.message, /no longer/);

  await f.addClient('app-lockme', 'lockme-secret-1234567890', 'user');
  const jwt2 = await token(f, 'app-lockme', 'lockme-secret-1234567890');
  assert.equal((await get(jwt2)).status, 200);
  await hsm.users.lock(officer, 'app-lockme');
  assert.equal((await get(jwt2)).status, 401);
});

test('tokens the module signed but expired, for another tenant, or from another module are refused; forgeries too', async () => {
  const jwt = await token(f);
  const [h, p, s] = jwt.split('.');
  const claims = decode(p);
  const hsm = f.server.hsm;
  const [key] = hsm.tokens.list();
  const mint = (over: Partial<Parameters<typeof issueJwt>[0]>) => issueJwt({
    keyId: key.keyId, issuer: claims.iss, audience: claims.aud, subject: claims.sub, tenant: claims.tid, clientId: CLIENT_ID,
    lifetimeSeconds: 60, nowMs: Date.now(), ...over,
  }, (k, i) => hsm.tokens.sign(k, i)).then((t) => t.token);
  assert.equal((await get(await mint({}))).status, 200);
  const expired = await get(await mint({ nowMs: Date.now() - 10 * 60 * 1000 }));
  assert.equal(expired.status, 401);
  assert.match(expired.json().error.message, /expired/);
  assert.match(String(expired.headers['www-authenticate']), /error="invalid_token"/);
  assert.equal((await get(await mint({ tenant: 'other-tenant' }))).status, 401);
  assert.equal((await get(await mint({ subject: 'not-a-client' }))).status, 401);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const other = nc.generateKeyPairSync('ed25519');
  const resigned = `${h}.${enc({ ...claims, sub: 'someone-else' })}`;
  for (const t of [`${h}.${enc({ ...claims, exp: claims.exp + 3600 })}.${s}`, `${resigned}.${nc.sign(null, Buffer.from(resigned), other.privateKey).toString('base64url')}`]) {
    assert.equal((await get(t)).status, 401);
  }
  // Another module (another domain) derives another token key: its tokens do not verify here.
  const second = await startAkvCore();
  try {
    const foreign = await token(second);
    assert.equal((await get(foreign)).status, 401);
  } finally { await second.close(); }
});

test('the plain-HTTP dev listener serves the vault too (allowInsecureConnection), tokens still from the https authority', async () => {
  const lenient = new KeyClient(f.server.url, f.credential(), { allowInsecureConnection: true, disableChallengeResourceVerification: true });
  const key = await lenient.getKey('id-key');
  assert.ok(key.id!.startsWith(`${f.server.url}/keys/id-key/`));
});

test('dev-credentials.json works from another process with NODE_EXTRA_CA_CERTS and the documented options only', async () => {
  const script = writeTemp(f.server.dir, 'akv-client.js', `
    const { ClientSecretCredential } = require(${JSON.stringify(path.join(REPO_ROOT, 'node_modules/@azure/identity'))});
    const { KeyClient, CryptographyClient } = require(${JSON.stringify(path.join(REPO_ROOT, 'node_modules/@azure/keyvault-keys'))});
    const c = JSON.parse(require('fs').readFileSync(process.argv[2], 'utf8')).akv;
    (async () => {
      const credential = new ClientSecretCredential(c.tenantId, c.clientId, c.clientSecret, { authorityHost: c.authorityHost, disableInstanceDiscovery: true });
      const keys = new KeyClient(c.vaultUrl, credential, { disableChallengeResourceVerification: true });
      const key = await keys.createRsaKey('from-a-shell', { keySize: 2048 });
      const crypto = new CryptographyClient(key, credential, { disableChallengeResourceVerification: true });
      const sig = await crypto.signData('RS256', Buffer.from('hello'));
      console.log(JSON.stringify({ id: key.id, valid: (await crypto.verifyData('RS256', Buffer.from('hello'), sig.result)).result }));
    })().catch((e) => { console.error(e.message); process.exit(1); });`);
  const r = await run(process.execPath, [script, path.join(f.server.dir, 'dev-credentials.json')], { ...process.env, NODE_EXTRA_CA_CERTS: f.caFile });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout.toString());
  assert.equal(out.valid, true);
  assert.ok(out.id.startsWith(`${f.vaultUrl}/keys/from-a-shell/`));
});

test('a sealed module answers 503 ServiceUnavailable and issues no tokens', async () => {
  const jwt = await token(f);
  await f.server.hsm.lifecycle.seal();
  const r = await get(jwt);
  assert.deepEqual([r.status, r.json().error.code], [503, 'ServiceUnavailable']);
  await assert.rejects(f.credential().getToken(`${f.resource}/.default`));
});
