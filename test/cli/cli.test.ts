// The real `inkan` CLI (bin/inkan.js, no terminal) against a dev server: help, --json output,
// sign/verify/encrypt/decrypt/random, roles, user management, sharing and error reporting.
// Signatures are checked with the openssl CLI, a second implementation.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { devServer, opensslOk, tempDir, TestServer, writeTemp } from '../helpers/harness';
import { CliResult, inkan, jsonError } from './cli-helpers';

// The tests are independent (own labels, users and files) and mostly wait on child processes,
// so they run a few at a time.
describe('inkan CLI against a dev server', { concurrency: 3 }, () => {
let srv: TestServer;
let work: string;
let asUser: Record<string, string>;
let asOfficer: Record<string, string>;

before(async () => {
  srv = await devServer();
  work = tempDir('inkan-cli-');
  const c = srv.credentials!;
  asUser = { INKAN_SERVER: srv.url, INKAN_USER: c.user.username, INKAN_PASSWORD: c.user.password };
  asOfficer = { INKAN_SERVER: srv.url, INKAN_USER: c.officer.username, INKAN_PASSWORD: c.officer.password };
});
after(async () => {
  await srv.close();
  fs.rmSync(work, { recursive: true, force: true });
});

const as = (user: string, password: string) => ({ INKAN_SERVER: srv.url, INKAN_USER: user, INKAN_PASSWORD: password });
const ok = (r: CliResult) => { assert.equal(r.code, 0, `exit ${r.code}: ${r.err}${r.out}`); return r; };
const json = <T = any>(r: CliResult): T => JSON.parse(ok(r).out) as T;

/** Runs a command that must fail; checks exit 1 and the error code in --json form (and with
 *  `human`, also the one-line message on stderr of the plain form). */
async function fails(args: string[], env: Record<string, string>, code: string, input?: Buffer, human = false): Promise<string> {
  const j = await inkan(['--json', ...args], env, input);
  assert.equal(j.code, 1, `--json ${args.join(' ')}: ${j.out}${j.err}`);
  const e = jsonError(j);
  assert.equal(e.code, code, e.message);
  if (!human) return e.message;
  const h = await inkan(args, env, input);
  assert.equal(h.code, 1);
  assert.equal(h.stdout.length, 0, 'nothing on stdout when a command fails');
  assert.match(h.err, new RegExp(`^inkan: .+ \\[${code}\\]\\n(  next: .+\\n)?$`));
  return e.message;
}

/** Test setup through the API (user management itself is tested through the CLI below). */
async function createUser(username: string, password: string): Promise<void> {
  const c = srv.credentials!.officer;
  const { token } = await (await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify(c) })).json() as { token: string };
  const res = await fetch(`${srv.url}/v1/users`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: JSON.stringify({ username, password, role: 'user' }) });
  assert.equal(res.status, 201, await res.text());
}

/** Command names of a help page's "Commands:" section. */
function commandsOf(help: string): string[] {
  const section = help.split('Commands:')[1] ?? '';
  return [...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]);
}

test('--help lists every command, and key --help every key subcommand', async () => {
  const top = commandsOf(ok(await inkan(['--help'], {})).out);
  for (const c of ['serve', 'status', 'init', 'unseal', 'seal', 'user', 'key', 'sign', 'verify', 'encrypt', 'decrypt', 'wrap', 'unwrap', 'random']) {
    assert.ok(top.includes(c), `--help lists ${c}: ${top.join(' ')}`);
  }
  const key = commandsOf(ok(await inkan(['key', '--help'], {})).out);
  for (const c of ['generate', 'list', 'show', 'delete', 'share', 'unshare', 'export-public', 'import']) {
    assert.ok(key.includes(c), `key --help lists ${c}: ${key.join(' ')}`);
  }
});

test('--json output parses for status, key generate and key list', async () => {
  const status = json(await inkan(['--json', 'status'], { INKAN_SERVER: srv.url }));
  assert.equal(status.state, 'unsealed');
  assert.equal(status.sealed, false);
  assert.equal(status.selfTests.passed, true);
  const gen = json(await inkan(['--json', 'key', 'generate', '-t', 'aes', '-l', 'json-aes'], asUser));
  assert.equal(gen.key.label, 'json-aes');
  assert.equal(gen.key.class, 'secret-key');
  assert.equal(gen.key.size, 256);
  const list = json(await inkan(['--json', 'key', 'list'], asUser));
  assert.ok(list.keys.some((k: any) => k.id === gen.key.id));
});

for (const [type, extra] of [['rsa', []], ['ec', ['-c', 'P-256']]] as const) {
  test(`${type}: generate by label, sign (default encoding), export-public, openssl verifies`, async () => {
    const label = `cli-${type}`;
    const gen = json(await inkan(['--json', 'key', 'generate', '-t', type, ...extra, '-l', label], asUser));
    assert.equal(gen.key.class, 'private-key');
    assert.equal(gen.publicKey.label, label);
    const data = writeTemp(work, `${type}.txt`, `data signed by the ${type} key\n`);
    const sig = path.join(work, `${type}.sig`);
    ok(await inkan(['sign', label, '-i', data, '-o', sig], asUser));
    const pem = ok(await inkan(['key', 'export-public', label], asUser)).out;
    assert.match(pem, /^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=\n]+-----END PUBLIC KEY-----\n$/);
    const pemFile = writeTemp(work, `${type}.pem`, pem);
    // openssl dgst takes ECDSA signatures only in DER, so this also proves the default encoding.
    assert.ok(opensslOk(['dgst', '-sha256', '-verify', pemFile, '-signature', sig, data]));
    if (type === 'rsa') return;
    // The signature also comes through stdin → stdout.
    const viaStdout = ok(await inkan(['sign', label], asUser, fs.readFileSync(data))).stdout;
    assert.ok(opensslOk(['dgst', '-sha256', '-verify', pemFile, '-signature', writeTemp(work, `${type}-2.sig`, viaStdout), data]));
  });
}

test('sign --sig-format p11 gives r‖s (64 bytes for P-256); verify exits 0 on good, 1 on a flipped byte', async () => {
  ok(await inkan(['key', 'generate', '-t', 'ec', '-l', 'raw-ec'], asUser));
  const data = writeTemp(work, 'raw.txt', 'raw-encoded signature');
  const raw = ok(await inkan(['sign', 'raw-ec', '--sig-format', 'p11', '-i', data], asUser)).stdout;
  assert.equal(raw.length, 64);
  const rawFile = writeTemp(work, 'raw.sig', raw);
  const good = ok(await inkan(['verify', 'raw-ec', '-i', data, '--signature', rawFile, '--sig-format', 'p11'], asUser));
  assert.match(good.out, /Signature OK/);

  const derFile = path.join(work, 'raw.der');
  ok(await inkan(['sign', 'raw-ec', '-i', data, '-o', derFile], asUser));
  assert.equal((await inkan(['verify', 'raw-ec', '-i', data, '--signature', derFile], asUser)).code, 0);
  for (const [name, file] of [['der', derFile], ['p11', rawFile]]) {
    const flipped = Buffer.from(fs.readFileSync(file));
    flipped[flipped.length - 1] ^= 0x01;
    const bad = await inkan(['verify', 'raw-ec', '-i', data, '--signature', writeTemp(work, `bad.${name}`, flipped), '--sig-format', name], asUser);
    assert.equal(bad.code, 1, `flipped ${name} signature`);
    assert.match(bad.out, /Signature INVALID/);
  }
});

test('encrypt/decrypt round trip: AES (GCM by default) and RSA-OAEP', async () => {
  const plaintext = Buffer.from('attack at dawn — the CLI round trip ✓');
  ok(await inkan(['key', 'generate', '-t', 'aes', '-l', 'rt-aes'], asUser));
  const enc = json(await inkan(['--json', 'encrypt', 'rt-aes'], asUser, plaintext));
  assert.equal(enc.mechanism, 'CKM_AES_GCM');
  assert.equal(Buffer.from(enc.iv, 'base64').length, 12);
  assert.equal(Buffer.from(enc.ciphertext, 'base64').length, plaintext.length + 16, 'GCM appends a 16-byte tag');
  // Binary form: ciphertext on stdout, the IV on stderr.
  const bin = ok(await inkan(['encrypt', 'rt-aes'], asUser, plaintext));
  const iv = /^iv: ([0-9a-f]{24})$/m.exec(bin.err)![1];
  const ctFile = writeTemp(work, 'aes.ct', bin.stdout);
  const dec = ok(await inkan(['decrypt', 'rt-aes', '-i', ctFile, '--iv', iv], asUser));
  assert.deepEqual(dec.stdout, plaintext);
  const tampered = Buffer.from(bin.stdout);
  tampered[0] ^= 0x80;
  await fails(['decrypt', 'rt-aes', '--iv', iv], asUser, 'ENCRYPTED_DATA_INVALID', tampered);

  ok(await inkan(['key', 'generate', '-t', 'rsa', '-l', 'rt-rsa', '--usage', 'encrypt,decrypt'], asUser));
  const rsa = json(await inkan(['--json', 'encrypt', 'rt-rsa'], asUser, plaintext));
  assert.equal(rsa.mechanism, 'CKM_RSA_PKCS_OAEP');
  const back = ok(await inkan(['decrypt', 'rt-rsa'], asUser, Buffer.from(rsa.ciphertext, 'base64')));
  assert.deepEqual(back.stdout, plaintext);
});

test('random 32 gives 32 bytes', async () => {
  assert.equal(ok(await inkan(['random', '32'], asUser)).stdout.length, 32);
  assert.match(ok(await inkan(['random', '16', '--hex'], asUser)).out, /^[0-9a-f]{32}\n$/);
  await fails(['random', 'lots'], asUser, 'BAD_ARGUMENT');
});

test('roles: an officer cannot sign; a crypto user cannot create users', async () => {
  ok(await inkan(['key', 'generate', '-t', 'ec', '-l', 'not-for-officers'], asUser));
  const data = Buffer.from('officers manage users, never keys');
  await fails(['sign', 'not-for-officers'], asOfficer, 'FORBIDDEN', data, true);
  await fails(['user', 'create', 'sneaky', '--password', 'sneaky-password-1'], asUser, 'FORBIDDEN', undefined, true);
});

test('user create / list / passwd / unlock / delete as the officer', async () => {
  const created = json(await inkan(['--json', 'user', 'create', 'carol', '--password', 'carol-password-1'], asOfficer));
  assert.equal(created.username, 'carol');
  assert.equal(created.role, 'user');
  ok(await inkan(['user', 'create', 'dave', '--role', 'auditor'], { ...asOfficer, INKAN_NEW_PASSWORD: 'dave-password-1' }));
  const list = json(await inkan(['--json', 'user', 'list'], asOfficer));
  const roles = Object.fromEntries(list.users.map((u: any) => [u.username, u.role]));
  assert.equal(roles.carol, 'user');
  assert.equal(roles.dave, 'auditor');

  ok(await inkan(['user', 'passwd', 'carol', '--password', 'carol-password-2'], asOfficer));
  await fails(['key', 'list'], as('carol', 'carol-password-1'), 'LOGIN_FAILED');
  ok(await inkan(['key', 'list'], as('carol', 'carol-password-2')));

  // Lock carol with five wrong passwords, then unlock her through the CLI.
  for (let i = 0; i < 5; i++) {
    await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username: 'carol', password: `wrong-${i}-password` }) });
  }
  await fails(['key', 'list'], as('carol', 'carol-password-2'), 'ACCOUNT_LOCKED');
  assert.match(ok(await inkan(['user', 'list'], asOfficer)).out, /^carol\s+user\s+LOCKED/m);
  ok(await inkan(['user', 'unlock', 'carol'], asOfficer));
  ok(await inkan(['key', 'list'], as('carol', 'carol-password-2')));

  ok(await inkan(['user', 'delete', 'carol'], asOfficer));
  ok(await inkan(['user', 'delete', 'dave'], asOfficer));
  const after = json(await inkan(['--json', 'user', 'list'], asOfficer));
  assert.ok(!after.users.some((u: any) => u.username === 'carol' || u.username === 'dave'));
  await fails(['key', 'list'], as('carol', 'carol-password-2'), 'LOGIN_FAILED');
  await fails(['user', 'delete', 'carol'], asOfficer, 'USER_NOT_FOUND');
});

test('share / unshare between two crypto users', async () => {
  await createUser('alice', 'alice-password-1');
  await createUser('bob', 'bob-password-1');
  const alice = as('alice', 'alice-password-1');
  const bob = as('bob', 'bob-password-1');
  const gen = json(await inkan(['--json', 'key', 'generate', '-t', 'ec', '-l', 'team-key'], alice));
  const privateId: string = gen.key.id;
  const bobSees = async () => (json(await inkan(['--json', 'key', 'list'], bob)).keys as any[]).some((k) => k.id === privateId);
  assert.equal(await bobSees(), false, 'not visible before sharing');
  const bobKeys = async () => (json(await inkan(['--json', 'key', 'list'], bob)).keys as any[]).length;
  assert.equal(await bobKeys(), 0, 'a crypto user sees only keys it owns or that are shared with it (neither half)');
  await fails(['sign', 'team-key'], bob, 'KEY_NOT_FOUND', Buffer.from('x'));

  const shared = json(await inkan(['--json', 'key', 'share', 'team-key', 'bob'], alice));
  assert.deepEqual(shared.key.sharedWith, ['bob']);
  assert.equal(await bobSees(), true, 'bob sees the shared key');
  assert.equal(await bobKeys(), 2, 'sharing a key pair shares both halves');
  const data = writeTemp(work, 'team.txt', 'signed by bob with alice\'s key');
  const sig = path.join(work, 'team.sig');
  ok(await inkan(['sign', 'team-key', '-i', data, '-o', sig], bob));
  const pem = writeTemp(work, 'team.pem', ok(await inkan(['key', 'export-public', 'team-key'], alice)).out);
  assert.ok(opensslOk(['dgst', '-sha256', '-verify', pem, '-signature', sig, data]));
  await fails(['key', 'delete', 'team-key'], bob, 'NOT_OWNER');

  ok(await inkan(['key', 'unshare', 'team-key', 'bob'], alice));
  assert.equal(await bobSees(), false, 'no longer visible after unshare');
  assert.equal(await bobKeys(), 0, 'unsharing removes both halves');
  await fails(['sign', 'team-key', '-i', data], bob, 'KEY_NOT_FOUND');
  ok(await inkan(['sign', 'team-key', '-i', data], alice));
});

test('a wrong password gives a clear error and exit 1', async () => {
  await createUser('erin', 'erin-password-1');
  const message = await fails(['key', 'list'], as('erin', 'not-erins-password'), 'LOGIN_FAILED', undefined, true);
  assert.match(message, /wrong username or password/);
  await fails(['key', 'list'], as('nobody-here', 'whatever-password'), 'LOGIN_FAILED');
  ok(await inkan(['key', 'list'], as('erin', 'erin-password-1')));
});

test('an unknown key gives KEY_NOT_FOUND', async () => {
  const data = Buffer.from('data');
  await fails(['sign', 'no-such-key'], asUser, 'KEY_NOT_FOUND', data, true);
  await fails(['key', 'show', 'no-such-key'], asUser, 'KEY_NOT_FOUND');
  await fails(['key', 'export-public', '00000000-0000-0000-0000-000000000000'], asUser, 'KEY_NOT_FOUND');
});

test('an unreachable server is reported as such', async () => {
  await fails(['status'], { INKAN_SERVER: 'http://127.0.0.1:1' }, 'UNREACHABLE', undefined, true);
});
});
