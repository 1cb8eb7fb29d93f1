// Inkan as the token issuer and the vault's bearer check, driven by the real @azure/identity
// (ClientSecretCredential → OpenID metadata → client-credentials token) and the real
// @azure/keyvault-keys challenge handshake. Tokens are checked independently with node:crypto
// against the JWKS the issuer publishes; forged, expired and misdirected tokens are refused.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { KeyClient } from '@azure/keyvault-keys';
import { AuthenticationError } from '@azure/identity';
import { issueJwt } from '../../../src/protocol/akv';
import { API, CLIENT_ID, CLIENT_SECRET, RESOURCE, TENANT, raw, startAkv, token, type AkvFixture } from './harness';

let f: AkvFixture;
before(async () => { f = await startAkv(); });
after(async () => { await f.close(); });

const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));

test('ClientSecretCredential obtains an EdDSA token that node:crypto verifies with the published JWKS', async () => {
  const jwt = await token(f);
  const [h, p, s] = jwt.split('.');
  const header = decode(h);
  const claims = decode(p);
  assert.equal(header.alg, 'EdDSA');
  const jwks = (await raw(f, 'GET', `/${TENANT}/discovery/v2.0/keys`, { host: 'login.inkan.test' })).json();
  const jwk = jwks.keys.find((k: { kid: string }) => k.kid === header.kid);
  assert.equal(jwk.crv, 'Ed25519');
  const pub = nc.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: jwk.x }, format: 'jwk' });
  assert.ok(nc.verify(null, Buffer.from(`${h}.${p}`), pub, Buffer.from(s, 'base64url')));
  assert.equal(claims.iss, `${f.authorityHost}/${TENANT}/v2.0`);
  assert.equal(claims.aud, RESOURCE);
  assert.equal(claims.azp, CLIENT_ID);
  assert.equal(claims.tid, TENANT);
  assert.equal(claims.exp - claims.iat, 900);
});

test('the OpenID metadata names the token endpoint MSAL uses, with an issuer on the authority host', async () => {
  const r = await raw(f, 'GET', `/${TENANT}/v2.0/.well-known/openid-configuration`, { host: 'login.inkan.test' });
  assert.equal(r.status, 200);
  const meta = r.json();
  assert.equal(meta.token_endpoint, `${f.authorityHost}/${TENANT}/oauth2/v2.0/token`);
  assert.equal(meta.issuer, `${f.authorityHost}/${TENANT}/v2.0`);
  assert.deepEqual(meta.grant_types_supported, ['client_credentials']);
});

test('a wrong or unknown client secret is invalid_client (one answer for both), counted by the port', async () => {
  const before = f.port.failedLogins;
  for (const [id, secret] of [[CLIENT_ID, 'wrong-secret'], ['nobody', 'whatever']]) {
    await assert.rejects(f.credential(id, secret).getToken(`${RESOURCE}/.default`), (err: Error) => {
      assert.ok(err instanceof AuthenticationError || /invalid_client/.test(err.message), err.message);
      assert.match(err.message, /AADSTS7000215|invalid_client/);
      assert.doesNotMatch(err.message, /wrong-secret|whatever/);
      return true;
    });
  }
  assert.equal(f.port.failedLogins, before + 2);
});

test('a token for another resource is refused at the token endpoint (invalid_scope)', async () => {
  await assert.rejects(f.credential().getToken('https://vault.azure.net/.default'), /invalid_scope/);
});

test('token endpoint bad input: wrong method, media type, grant, duplicate parameters, oversize body', async () => {
  const path = `/${TENANT}/oauth2/v2.0/token`;
  const form = (body: string) => ({ host: 'login.inkan.test', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  assert.equal((await raw(f, 'GET', path, { host: 'login.inkan.test' })).status, 405);
  assert.equal((await raw(f, 'POST', path, { host: 'login.inkan.test', body: '{}' })).json().error, 'invalid_request');
  assert.equal((await raw(f, 'POST', path, form('grant_type=password&username=a&password=b'))).json().error, 'unsupported_grant_type');
  const dup = await raw(f, 'POST', path, form(`grant_type=client_credentials&client_id=${CLIENT_ID}&client_id=x&client_secret=s&scope=${RESOURCE}/.default`));
  assert.equal(dup.status, 400);
  assert.equal(dup.json().error, 'invalid_request');
  const big = await raw(f, 'POST', path, form(`grant_type=client_credentials&x=${'a'.repeat(20000)}`));
  assert.equal(big.status, 413);
  const other = await raw(f, 'GET', `/other-tenant/v2.0/.well-known/openid-configuration`, { host: 'login.inkan.test' });
  assert.equal(other.status, 404); // not this face's path at all
});

test('client_secret_basic works as well; malformed Basic credentials are invalid_client', async () => {
  const path = `/${TENANT}/oauth2/v2.0/token`;
  const basic = (v: string) => ({ host: 'login.inkan.test', body: `grant_type=client_credentials&scope=${encodeURIComponent(`${RESOURCE}/.default`)}`,
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(v).toString('base64')}` } });
  const ok = await raw(f, 'POST', path, basic(`${CLIENT_ID}:${CLIENT_SECRET}`));
  assert.equal(ok.status, 200);
  assert.equal(ok.json().token_type, 'Bearer');
  const r = await raw(f, 'GET', `/keys?${API}`, { headers: { authorization: `Bearer ${ok.json().access_token}` } });
  assert.equal(r.status, 200);
  for (const bad of [`${CLIENT_ID}:%zz`, 'no-colon', `${CLIENT_ID}:wrong`]) {
    const res = await raw(f, 'POST', path, basic(bad));
    assert.deepEqual([res.status, res.json().error], [401, 'invalid_client'], bad);
  }
});

test('no token: 401 with the challenge the SDK answers, and the body is never read', async () => {
  const r = await raw(f, 'POST', `/keys/k1/create?${API}`, { body: JSON.stringify({ kty: 'EC' }) });
  assert.equal(r.status, 401);
  assert.equal(r.headers['www-authenticate'], `Bearer authorization="${f.authorityHost}/${TENANT}", resource="${RESOURCE}"`);
  assert.equal(r.json().error.code, 'Unauthorized');
  assert.equal(f.port.keys.size, 0);
});

test('an expired token is refused with 401 invalid_token once the clock passes exp', async () => {
  const jwt = await token(f);
  const auth = { authorization: `Bearer ${jwt}` };
  assert.equal((await raw(f, 'GET', `/keys?${API}`, { headers: auth })).status, 200);
  f.clock.now = Date.now() + 16 * 60 * 1000;
  try {
    const r = await raw(f, 'GET', `/keys?${API}`, { headers: auth });
    assert.equal(r.status, 401);
    assert.match(r.json().error.message, /expired/);
    assert.match(String(r.headers['www-authenticate']), /error="invalid_token"/);
  } finally {
    f.clock.now = undefined;
  }
});

test('forged tokens are refused: edited claims, alg none, another key under our kid, garbage', async () => {
  const jwt = await token(f);
  const [h, p, s] = jwt.split('.');
  const claims = decode(p);
  const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const other = nc.generateKeyPairSync('ed25519');
  const resigned = `${h}.${enc({ ...claims, sub: 'sub-mallory' })}`;
  const forged = [
    `${h}.${enc({ ...claims, sub: 'sub-mallory' })}.${s}`,
    `${enc({ alg: 'none', typ: 'JWT' })}.${p}.`,
    `${enc({ alg: 'HS256', typ: 'JWT', kid: decode(h).kid })}.${p}.${s}`,
    `${resigned}.${nc.sign(null, Buffer.from(resigned), other.privateKey).toString('base64url')}`,
    'not-a-jwt',
    `${h}.${p}.${s}${'A'.repeat(5000)}`,
  ];
  for (const t of forged) {
    const r = await raw(f, 'GET', `/keys?${API}`, { headers: { authorization: `Bearer ${t}` } });
    assert.equal(r.status, 401, t.slice(0, 40));
    assert.equal(r.json().error.code, 'Unauthorized');
  }
  assert.equal((await raw(f, 'GET', `/keys?${API}`, { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } })).status, 401);
});

test('a token of a client removed since is refused', async () => {
  f.addClient('app-temp', 'temp-secret-1234567890', 'user');
  const jwt = await token(f, 'app-temp', 'temp-secret-1234567890');
  f.port.removeClient('app-temp');
  const r = await raw(f, 'GET', `/keys?${API}`, { headers: { authorization: `Bearer ${jwt}` } });
  assert.equal(r.status, 401);
  assert.match(r.json().error.message, /no longer/);
});

test('tokens the module signed but for another audience, issuer or tenant are refused; the control passes', async () => {
  const [key] = await f.port.tokenKeys();
  const mint = (over: Partial<Parameters<typeof issueJwt>[0]>) => issueJwt({
    keyId: key.keyId, issuer: `${f.authorityHost}/${TENANT}/v2.0`, audience: RESOURCE, subject: `sub-${CLIENT_ID}`,
    tenant: TENANT, clientId: CLIENT_ID, lifetimeSeconds: 60, nowMs: Date.now(), ...over,
  }, (k, i) => f.port.signToken(k, i));
  const call = async (over: Partial<Parameters<typeof issueJwt>[0]>) =>
    raw(f, 'GET', `/keys?${API}`, { headers: { authorization: `Bearer ${(await mint(over)).token}` } });
  assert.equal((await call({})).status, 200);
  assert.match((await call({ audience: 'https://vault.azure.net' })).json().error.message, /audience/);
  assert.match((await call({ issuer: 'https://login.microsoftonline.com/x/v2.0' })).json().error.message, /not issued/);
  assert.equal((await call({ tenant: 'other-tenant' })).status, 401);
  assert.match((await call({ nowMs: Date.now() + 10 * 60 * 1000 })).json().error.message, /not yet valid/);
});

test("the brief's configuration works too: plain HTTP vault with allowInsecureConnection and no resource check", async () => {
  const url = `http://127.0.0.1:${f.httpPort}`;
  const lenient = new KeyClient(url, f.credential(), { allowInsecureConnection: true, disableChallengeResourceVerification: true });
  const key = await lenient.createEcKey('plain-http', { curve: 'P-256' });
  assert.ok(key.id!.startsWith(`${url}/keys/plain-http/`));
  // Without disabling it, the SDK's own resource check rejects a challenge for inkan.test at 127.0.0.1.
  const strict = new KeyClient(url, f.credential(), { allowInsecureConnection: true });
  await assert.rejects(strict.getKey('plain-http'), /does not match the requested domain/);
});
