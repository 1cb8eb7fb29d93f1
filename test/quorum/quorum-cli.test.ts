// The quorum flow with the real `inkan` command: keys made on the officer's machine (`user keygen`),
// registered at creation or later, `quorum set | request | show | approve`, the operation run with
// --quorum-token once; and `officer recover` with the custodians' shares after failed logins.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEV_KEY_FILE } from '../../src/runtime/dev-mode';
import { devServer, type TestServer } from '../helpers/harness';
import { inkan, jsonError } from '../cli/cli-helpers';

let srv: TestServer;
let dir: string;
let asO1: Record<string, string>;
const PW2 = 'second-officer-pw-1';
const asO2 = () => ({ INKAN_SERVER: srv.url, INKAN_USER: 'o2', INKAN_PASSWORD: PW2 });

async function ok(args: string[], env: Record<string, string>): Promise<any> {
  const r = await inkan(['--json', ...args], env);
  assert.equal(r.code, 0, `inkan ${args.join(' ')}: ${r.out} ${r.err}`);
  return JSON.parse(r.out);
}
async function fails(args: string[], env: Record<string, string>, code: string): Promise<void> {
  const r = await inkan(['--json', ...args], env);
  assert.notEqual(r.code, 0);
  assert.equal(jsonError(r).code, code, r.out);
}

before(async () => {
  srv = await devServer();
  dir = fs.mkdtempSync(path.join(srv.dir, 'officers-'));
  const c = srv.credentials!.officer;
  asO1 = { INKAN_SERVER: srv.url, INKAN_USER: c.username, INKAN_PASSWORD: c.password };
});
after(async () => { await srv.close(); });

test('keygen writes the private key 0600 on this machine and its public key beside it', async () => {
  const r = await ok(['user', 'keygen', '--out', path.join(dir, 'o1.key')], asO1);
  const priv = fs.readFileSync(path.join(dir, 'o1.key'), 'utf8');
  assert.equal(fs.statSync(path.join(dir, 'o1.key')).mode & 0o777, 0o600);
  const pub = crypto.createPublicKey(fs.readFileSync(path.join(dir, 'o1.key.pub')));
  assert.equal(crypto.createPublicKey(priv).export({ format: 'pem', type: 'spki' }), pub.export({ format: 'pem', type: 'spki' }));
  assert.equal(r.fingerprint, crypto.createHash('sha256').update(pub.export({ format: 'der', type: 'spki' })).digest('hex'));
  await ok(['user', 'keygen', '--type', 'p256', '--out', path.join(dir, 'o2.key')], asO1);
  assert.equal(crypto.createPublicKey(fs.readFileSync(path.join(dir, 'o2.key.pub'))).asymmetricKeyDetails?.namedCurve, 'prime256v1');
  await fails(['user', 'register-key', '--public-key', path.join(dir, 'o1.key')], asO1, 'BAD_ARGUMENT');
});

test('2 of 2 through the CLI: request, show, approve with a local key, run once with --quorum-token', async () => {
  await ok(['user', 'register-key', '--public-key', path.join(dir, 'o1.key.pub')], asO1);
  await ok(['user', 'create', 'o2', '--role', 'officer', '--password', PW2, '--public-key', path.join(dir, 'o2.key.pub')], asO1);
  await ok(['quorum', 'set', 'user-management', '2'], asO1);
  assert.equal((await ok(['quorum', 'show'], asO1)).values['user-management'], 2);
  await fails(['user', 'create', 'carol', '--password', 'carol-password-1'], asO1, 'QUORUM_TOKEN_REQUIRED');

  const t = await ok(['quorum', 'request', 'user.create', 'username=carol', 'role=user'], asO1);
  const id = t.body.id as string;
  const shown = await inkan(['quorum', 'show', id], asO2());
  assert.equal(shown.code, 0, shown.err);
  assert.match(shown.out, /operation\s+user\.create/);
  assert.match(shown.out, /arguments\s+\{"role":"user","username":"carol"\}/);
  assert.match(shown.out, /0 of 2|1 of 2/);
  await fails(['quorum', 'approve', id, '--key', path.join(dir, 'o1.key'), '--yes'], asO1, 'QUORUM_SELF_APPROVAL');
  await fails(['quorum', 'approve', id, '--key', path.join(dir, 'o1.key'), '--yes'], asO2(), 'QUORUM_SIGNATURE_INVALID');
  const approved = await ok(['quorum', 'approve', id, '--key', path.join(dir, 'o2.key'), '--yes'], asO2());
  assert.equal(approved.count, 2);
  await fails(['--quorum-token', id, 'user', 'create', 'carol', '--role', 'officer', '--password', 'carol-password-1'], asO1, 'QUORUM_TOKEN_MISMATCH');
  await ok(['--quorum-token', id, 'user', 'create', 'carol', '--password', 'carol-password-1'], asO1);
  await fails(['--quorum-token', id, 'user', 'delete', 'carol'], asO1, 'QUORUM_TOKEN_USED');
  assert.ok((await ok(['user', 'list'], asO1)).users.some((u: { username: string }) => u.username === 'carol'));
});

test('failed logins lock an officer only for a while; the custodians recover it at once with `officer recover`', async () => {
  for (let i = 0; i < 5; i++) await inkan(['--json', 'whoami'], { ...asO2(), INKAN_PASSWORD: 'wrong-password-0' });
  await fails(['whoami'], asO2(), 'ACCOUNT_LOCKED');
  const share = fs.readFileSync(path.join(srv.dir, DEV_KEY_FILE), 'utf8').split('\n').find((l) => l.startsWith('inkan-share-'))!;
  await fails(['officer', 'recover', 'o2'], { INKAN_SERVER: srv.url, INKAN_SHARES: 'inkan-share-2:not-a-share' }, 'SHARE_INVALID');
  const r = await ok(['officer', 'recover', 'o2'], { INKAN_SERVER: srv.url, INKAN_SHARES: share });
  assert.equal(r.done, true);
  assert.equal((await ok(['whoami'], asO2())).username, 'o2');
});
