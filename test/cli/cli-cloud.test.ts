// The cloud faces from the command line: `inkan serve --dev` sets up Key Vault and XKS (banner,
// dev-credentials.json, kept across a restart), `inkan akv-credential create | list | delete` and
// `inkan xks create | list | delete` issue credentials that the real clients use (the Azure
// identity SDK for tokens, the spec-derived XKS client), and bad serve options fail at start.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as path from 'node:path';
import { ClientSecretCredential } from '@azure/identity';
import { tempDir } from '../helpers/harness';
import { XksClient } from '../protocol/xks/xks-client';
import { freePort, inkan, serve, type ServeProcess } from './cli-helpers';

let dir: string;
let srv: ServeProcess;
let creds: Record<string, any>;
let env: Record<string, string>;

before(async () => {
  dir = tempDir('inkan-cli-cloud-');
  srv = await serve(['--dev', '--data', dir, '--http', `127.0.0.1:${await freePort()}`, '--akv-retention-days', '7']);
  creds = JSON.parse(fs.readFileSync(path.join(dir, 'dev-credentials.json'), 'utf8'));
  env = { INKAN_SERVER: srv.url, INKAN_USER: creds.user.username, INKAN_PASSWORD: creds.user.password };
});
after(async () => { await srv.stop(); fs.rmSync(dir, { recursive: true, force: true }); });

const agent = () => new https.Agent({ ca: fs.readFileSync(creds.akv.caFile) });
const tokenFor = (clientId: string, secret: string) => new ClientSecretCredential(creds.akv.tenantId, clientId, secret,
  { authorityHost: creds.akv.authorityHost, disableInstanceDiscovery: true, agent: agent() }).getToken(`${new URL(creds.akv.vaultUrl).origin}/.default`);

test('serve --dev prints and writes the Key Vault and XKS entries', () => {
  assert.match(srv.stdout(), /Key Vault: https:\/\/127\.0\.0\.1:\d+/);
  assert.match(srv.stdout(), /XKS proxy: https:\/\/127\.0\.0\.1:\d+\/xks\/[0-9a-f]{24}\/kms\/xks\/v1/);
  for (const k of ['vaultUrl', 'tenantId', 'clientId', 'clientSecret', 'authorityHost', 'caFile']) assert.equal(typeof creds.akv[k], 'string', k);
  for (const k of ['endpoint', 'uriPrefix', 'region', 'accessKeyId', 'secretAccessKey', 'keyId', 'encryptOnlyKeyId', 'decryptOnlyKeyId', 'impotentKeyId']) {
    assert.equal(typeof creds.xks[k], 'string', k);
  }
  assert.equal(fs.statSync(path.join(dir, 'dev-credentials.json')).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.join(dir, 'dev-tls', 'ca.key')).mode & 0o777, 0o600);
});

test('inkan akv-credential create | list | delete: the secret gets a token until the client is deleted', async () => {
  const made = await inkan(['--json', 'akv-credential', 'create'], env);
  assert.equal(made.code, 0, made.err);
  const c = JSON.parse(made.out) as { clientId: string; clientSecret: string; tenantId: string };
  assert.equal(c.tenantId, creds.akv.tenantId);
  assert.ok((await tokenFor(c.clientId, c.clientSecret)).token.length > 100);
  const listed = await inkan(['akv-credential', 'list'], env);
  assert.ok(listed.out.includes(c.clientId) && !listed.out.includes(c.clientSecret));
  assert.equal((await inkan(['akv-credential', 'delete', c.clientId], env)).code, 0);
  await assert.rejects(tokenFor(c.clientId, c.clientSecret), /invalid_client|AADSTS7000215/);
  const again = await inkan(['--json', 'akv-credential', 'delete', c.clientId], env);
  assert.notEqual(again.code, 0);
});

test('inkan xks create --partition default | list | delete: the printed credential signs XKS requests until deleted', async () => {
  const made = await inkan(['--json', 'xks', 'create', '--partition', 'default'], env);
  assert.equal(made.code, 0, made.err);
  const x = JSON.parse(made.out) as { uriPrefix: string; accessKeyId: string; secretAccessKey: string; endpoint: string };
  assert.match(x.uriPrefix, /^\/xks\/[0-9a-f]{24}$/);
  assert.match(x.accessKeyId, /^XKS[A-Z2-7]{21}$/);
  const client = new XksClient({ host: 'localhost', port: Number(new URL(x.endpoint).port), prefix: x.uriPrefix, accessKeyId: x.accessKeyId,
    secretAccessKey: x.secretAccessKey, ca: fs.readFileSync(creds.akv.caFile, 'utf8') });
  assert.equal((await client.encrypt(creds.xks.keyId, Buffer.from('cli'))).status, 200);
  const listed = await inkan(['xks', 'list'], env);
  assert.ok(listed.out.includes(x.accessKeyId) && listed.out.includes(x.uriPrefix) && !listed.out.includes(x.secretAccessKey));
  assert.equal((await inkan(['xks', 'delete', x.accessKeyId], env)).code, 0);
  assert.equal((await client.health()).body.errorName, 'InvalidUriPathException');
});

test('serve refuses bad cloud options at start, naming them', async () => {
  for (const [args, message] of [[['--akv-retention-days', '3'], /--akv-retention-days/], [['--xks-tls-cert', '/nonexistent.pem'], /--xks-tls-cert and --xks-tls-key/]] as const) {
    const d = tempDir('inkan-cli-bad-');
    try {
      await assert.rejects(serve(['--dev', '--data', d, '--http', `127.0.0.1:${await freePort()}`, ...args]), message);
    } finally { fs.rmSync(d, { recursive: true, force: true }); }
  }
});

test('a restarted dev server keeps the Key Vault client and the XKS key store', async () => {
  await srv.stop();
  srv = await serve(['--dev', '--data', dir, '--http', `127.0.0.1:${await freePort()}`]);
  const now = JSON.parse(fs.readFileSync(path.join(dir, 'dev-credentials.json'), 'utf8'));
  assert.equal(now.akv.clientId, creds.akv.clientId);
  assert.equal(now.xks.accessKeyId, creds.xks.accessKeyId);
  assert.equal(now.xks.uriPrefix, creds.xks.uriPrefix);
  creds = now;
  assert.ok((await tokenFor(now.akv.clientId, now.akv.clientSecret)).token);
});
