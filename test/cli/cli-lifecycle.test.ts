// The module's life through the real CLI and real `inkan serve` processes: init with 2-of-3
// shares, unseal (progress, duplicate, malformed), restart (sealed again, other shares work,
// keys survive), seal; and `npm start`-style dev restarts on one data directory.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { opensslOk, tempDir, writeTemp } from '../helpers/harness';
import { CliResult, freePort, inkan, jsonError, serve, ServeProcess } from './cli-helpers';

const ok = (r: CliResult) => { assert.equal(r.code, 0, `exit ${r.code}: ${r.err}${r.out}`); return r; };
const json = <T = any>(r: CliResult): T => JSON.parse(ok(r).out) as T;
async function failsWith(args: string[], env: Record<string, string>, code: string, input?: Buffer): Promise<void> {
  const r = await inkan(['--json', ...args], env, input);
  assert.equal(r.code, 1, `${args.join(' ')}: ${r.out}${r.err}`);
  assert.equal(jsonError(r).code, code);
}

// Two independent server processes on their own data directories: run side by side.
describe('inkan serve processes', { concurrency: 2 }, () => {
test('init 2-of-3, unseal, restart, unseal with other shares, keys survive, seal', async () => {
  const dir = tempDir('inkan-life-');
  const port = await freePort();
  const started: ServeProcess[] = [];
  const start = async () => { const p = await serve(['--data', dir, '--http', `127.0.0.1:${port}`]); started.push(p); return p; };
  try {
    const first = await start();
    assert.equal(first.url, `http://127.0.0.1:${port}`);
    assert.match(first.stdout(), /Inkan uninitialized/);
    const server = { INKAN_SERVER: first.url };
    const admin = { ...server, INKAN_USER: 'admin', INKAN_PASSWORD: 'admin-password-1' };
    const signer = { ...server, INKAN_USER: 'signer', INKAN_PASSWORD: 'signer-password-1' };

    const init = ok(await inkan(['init', '--shares', '3', '--threshold', '2', '--officer', 'admin'], admin));
    const shares = [...init.out.matchAll(/^ {2}share (\d): (inkan-share-\S+)$/gm)].map((m) => m[2]);
    assert.equal(shares.length, 3, init.out);
    assert.equal(new Set(shares).size, 3);
    assert.match(init.out, /2 of these 3 shares/);
    await failsWith(['init', '--shares', '3', '--threshold', '2'], admin, 'ALREADY_INITIALIZED');

    const st = json(await inkan(['--json', 'status'], server));
    assert.equal(st.state, 'sealed');
    assert.equal(st.sealed, true);
    assert.equal(st.threshold, 2);
    assert.equal(st.shares, 3);
    assert.match(ok(await inkan(['status'], server)).out, /^sealed:\s+true$/m);
    await failsWith(['key', 'list'], admin, 'SEALED');

    const one = json(await inkan(['--json', 'unseal', shares[0]], server));
    assert.deepEqual(one, { sealed: true, progress: 1, threshold: 2 });
    await failsWith(['unseal', shares[0]], server, 'SHARE_DUPLICATE');
    await failsWith(['unseal', 'inkan-share-1:not-a-share'], server, 'SHARE_INVALID');
    await failsWith(['unseal', shares[1].slice(0, -4)], server, 'SHARE_INVALID');
    assert.match(ok(await inkan(['unseal', shares[1]], server)).out, /^Unsealed\.$/m);
    assert.equal(json(await inkan(['--json', 'status'], server)).state, 'unsealed');
    await failsWith(['unseal', shares[2]], server, 'ALREADY_UNSEALED');

    // A crypto user makes a key before the restart.
    ok(await inkan(['user', 'create', 'signer', '--password', signer.INKAN_PASSWORD], admin));
    const gen = json(await inkan(['--json', 'key', 'generate', '-t', 'ec', '-l', 'durable'], signer));
    const pem = writeTemp(dir, 'durable.pem', ok(await inkan(['key', 'export-public', 'durable'], signer)).out);
    const data = writeTemp(dir, 'data.txt', 'signed before and after a restart');
    const before = path.join(dir, 'before.sig');
    ok(await inkan(['sign', 'durable', '-i', data, '-o', before], signer));
    assert.ok(opensslOk(['dgst', '-sha256', '-verify', pem, '-signature', before, data]));

    assert.equal(await first.stop(), 0);
    await start();
    assert.equal(json(await inkan(['--json', 'status'], server)).state, 'sealed', 'a restarted server is sealed');
    await failsWith(['sign', 'durable', '-i', data], signer, 'SEALED');
    assert.match(ok(await inkan(['unseal', shares[1]], server)).out, /1 of 2\. Still sealed/);
    ok(await inkan(['unseal', shares[2]], server));
    assert.equal(json(await inkan(['--json', 'status'], server)).sealed, false);

    const list = json(await inkan(['--json', 'key', 'list'], signer));
    assert.ok(list.keys.some((k: any) => k.id === gen.key.id), 'the key survived the restart');
    const after = path.join(dir, 'after.sig');
    ok(await inkan(['sign', 'durable', '-i', data, '-o', after], signer));
    assert.ok(opensslOk(['dgst', '-sha256', '-verify', pem, '-signature', after, data]));
    assert.equal(ok(await inkan(['key', 'export-public', 'durable'], signer)).out, fs.readFileSync(pem, 'utf8'));

    // Only an officer seals; afterwards every key operation answers SEALED.
    await failsWith(['seal'], signer, 'FORBIDDEN');
    assert.match(ok(await inkan(['seal'], admin)).out, /^Sealed\.$/m);
    assert.equal(json(await inkan(['--json', 'status'], server)).state, 'sealed');
    await failsWith(['sign', 'durable', '-i', data], signer, 'SEALED');
    await failsWith(['key', 'list'], signer, 'SEALED');
    await failsWith(['random', '8'], signer, 'SEALED');
    await failsWith(['seal'], admin, 'SEALED');
  } finally {
    for (const p of started) await p.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** Officer and user credentials from a dev server's banner. */
function bannerCredentials(stdout: string): { officer: string[]; user: string[] } {
  const officer = /crypto officer: (\S+) \/ (\S+)/.exec(stdout);
  const user = /crypto user: +(\S+) \/ (\S+)/.exec(stdout);
  assert.ok(officer && user, stdout);
  return { officer: [officer[1], officer[2]], user: [user[1], user[2]] };
}

test('dev mode restarts on one data directory keep keys and credentials; the credentials file is 0600', async () => {
  const dir = path.join(tempDir('inkan-devrestart-'), 'data');
  const started: ServeProcess[] = [];
  try {
    const first = await serve(['--dev', '--data', dir, '--http', '127.0.0.1:0']);
    started.push(first);
    assert.match(first.stdout(), /Inkan unsealed — admin API at/);
    assert.match(first.stdout(), /DEVELOPMENT/);
    const creds1 = bannerCredentials(first.stdout());
    const credFile = path.join(dir, 'dev-credentials.json');
    assert.equal(fs.statSync(credFile).mode & 0o777, 0o600);
    const file1 = JSON.parse(fs.readFileSync(credFile, 'utf8'));
    assert.equal(file1.server, first.url);
    assert.deepEqual(file1.officer, { username: creds1.officer[0], password: creds1.officer[1] });
    assert.deepEqual(file1.user, { username: creds1.user[0], password: creds1.user[1] });
    assert.match(file1.warning, /DEVELOPMENT ONLY/);
    assert.equal(fs.statSync(path.join(dir, 'dev-master-key.DEVELOPMENT-ONLY')).mode & 0o777, 0o600);

    const user1 = { INKAN_SERVER: first.url, INKAN_USER: file1.user.username, INKAN_PASSWORD: file1.user.password };
    const gen = json(await inkan(['--json', 'key', 'generate', '-t', 'ec', '-l', 'kept'], user1));
    assert.equal(await first.stop(), 0);

    const second = await serve(['--dev', '--data', dir, '--http', '127.0.0.1:0']);
    started.push(second);
    assert.match(second.stdout(), /Inkan unsealed/);
    assert.deepEqual(bannerCredentials(second.stdout()), creds1, 'the same credentials after a restart');
    assert.equal(fs.statSync(credFile).mode & 0o777, 0o600);
    const file2 = JSON.parse(fs.readFileSync(credFile, 'utf8'));
    for (const field of ['warning', 'officer', 'user']) assert.deepEqual(file2[field], file1[field], field);
    assert.equal(file2.server, second.url);

    const user2 = { ...user1, INKAN_SERVER: second.url };
    const list = json(await inkan(['--json', 'key', 'list'], user2));
    assert.ok(list.keys.some((k: any) => k.id === gen.key.id), 'the key survived the restart');
    assert.equal(ok(await inkan(['sign', 'kept'], user2, Buffer.from('still here'))).stdout[0], 0x30, 'a DER signature');
    const officer = { INKAN_SERVER: second.url, INKAN_USER: file2.officer.username, INKAN_PASSWORD: file2.officer.password };
    const users = json(await inkan(['--json', 'user', 'list'], officer)).users as any[];
    assert.deepEqual(users.map((u) => u.username).sort(), ['auditor', 'officer', 'user'], 'no duplicate users made on restart (dev mode makes an auditor too)');
  } finally {
    for (const p of started) await p.stop();
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  }
});
});
