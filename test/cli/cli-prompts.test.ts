// The prompts and what a newcomer meets on a module that is not ready, driven on a real
// pseudo-terminal (util-linux `script`) against a real non-dev server: init asks the first
// officer's password twice and checks it first; a mistyped unseal share is refused at once with
// SHARE_INVALID and costs nobody's progress; `user create` asks the new password (twice, checked)
// before the officer's own, each prompt naming whose; passwords and shares are never echoed;
// server errors end with the next step (inkan init, inkan unseal).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { startServer } from '../../src/server';
import { tempDir } from '../helpers/harness';
import { CliResult, inkan } from './cli-helpers';
import { HAVE_SCRIPT, pty } from './pty';

const ok = (r: CliResult) => { assert.equal(r.code, 0, `exit ${r.code}: ${r.err}${r.out}`); return r; };
const OFFICER_PW = 'officer-pass-1234';
const ALICE_PW = 'alice-pass-5678';

describe('prompts on a terminal, and next steps', { skip: !HAVE_SCRIPT && 'util-linux script is not installed' }, () => {
  let dir: string;
  let srv: Awaited<ReturnType<typeof startServer>>;
  let env: Record<string, string>;
  before(async () => {
    dir = tempDir('inkan-prompts-');
    srv = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, loginDelayMs: 0, log: { info() {}, warn() {}, error() {}, debug() {} } as never });
    env = { INKAN_SERVER: srv.url };
  });
  after(async () => { await srv?.close(); fs.rmSync(dir, { recursive: true, force: true }); });

  let shares: string[] = [];

  test('an uninitialised module: errors say to run inkan init', async () => {
    const r = await inkan(['--json', 'key', 'list'], { ...env, INKAN_USER: 'x', INKAN_PASSWORD: 'whatever-123' });
    assert.equal(r.code, 1);
    const e = JSON.parse(r.out).error;
    assert.equal(e.code, 'NOT_INITIALIZED');
    assert.match(e.next, /inkan init/);
    const h = await inkan(['key', 'list'], { ...env, INKAN_USER: 'x', INKAN_PASSWORD: 'whatever-123' });
    assert.match(h.err, /^inkan: .* \[NOT_INITIALIZED\]\n {2}next: .*`inkan init /);
  });

  test('init asks the officer password twice, refuses a short one and a mismatch first', async () => {
    const t = pty(['init', '--shares', '3', '--threshold', '2', '--officer', 'admin'], env);
    await t.expect(/New password for the first crypto officer, admin: /);
    t.type('short');
    await t.expect(/too short: passwords are 8 to 256 characters\. Try again\.\n/);
    await t.expect(/New password for the first crypto officer, admin: /);
    t.type(OFFICER_PW);
    await t.expect(/New password for the first crypto officer, admin again: /);
    t.type(`${OFFICER_PW}x`);
    await t.expect(/The two passwords differ\. Try again\./);
    await t.expect(/admin: /);
    t.type(OFFICER_PW);
    await t.expect(/again: /);
    t.type(OFFICER_PW);
    await t.expect(/The module is sealed/);
    assert.equal(await t.exit(), 0, t.screen());
    assert.ok(!t.screen().includes(OFFICER_PW), 'the password is never echoed');
    shares = [...t.screen().matchAll(/share \d: (inkan-share-\S+)/g)].map((m) => m[1]);
    assert.equal(shares.length, 3);
  });

  test('a sealed module: errors say to run inkan unseal', async () => {
    const r = await inkan(['user', 'list'], { ...env, INKAN_USER: 'admin', INKAN_PASSWORD: OFFICER_PW });
    assert.equal(r.code, 1);
    assert.match(r.err, /\[SEALED\]\n {2}next: unseal it: `inkan unseal`/);
  });

  test('a mistyped share is refused at once with SHARE_INVALID; the custodian retypes it, progress kept', async () => {
    const good = shares[0];
    const i = good.length - 3;
    const typo = good.slice(0, i) + (good[i] === 'A' ? 'B' : 'A') + good.slice(i + 1);
    const t = pty(['unseal'], env);
    await t.expect(/Your unseal share \(custodian\): /);
    t.type(typo);
    await t.expect(/\[SHARE_INVALID\]; nothing was lost\. Type it again\./);
    await t.expect(/Your unseal share \(custodian\): /);
    t.type(good);
    await t.expect(/Share accepted: 1 of 2\. Still sealed: 1 more needed/);
    assert.equal(await t.exit(), 0);
    assert.ok(!t.screen().includes(good) && !t.screen().includes(typo), 'shares are never echoed');

    // Another custodian mistypes theirs (as an argument): refused alone, the first share still counts.
    const other = shares[1];
    const j = other.length - 2;
    const typo2 = other.slice(0, j) + (other[j] === 'z' ? 'y' : 'z') + other.slice(j + 1);
    const bad = await inkan(['--json', 'unseal', typo2], env);
    assert.equal(JSON.parse(bad.out).error.code, 'SHARE_INVALID');
    const st = JSON.parse(ok(await inkan(['--json', 'status'], env)).out);
    assert.equal(st.unsealProgress, 1, 'the first custodian\'s share still counts');
    assert.match(ok(await inkan(['unseal', other], env)).out, /^Unsealed\.$/m);
  });

  test('user create asks the new user\'s password first (twice, checked), then the officer\'s, naming each', async () => {
    const t = pty(['user', 'create', 'alice', '--role', 'user'], { ...env, INKAN_USER: 'admin' });
    await t.expect(/New password for the new user alice: /);
    assert.ok(!/Your password/.test(t.screen()), 'the officer is not asked first');
    t.type('seven77');
    await t.expect(/too short/);
    await t.expect(/New password for the new user alice: /);
    t.type(ALICE_PW);
    await t.expect(/New password for the new user alice again: /);
    t.type(ALICE_PW);
    await t.expect(/Your password \(admin, logging in to http:\/\/127\.0\.0\.1:\d+\): /);
    t.type(OFFICER_PW);
    await t.expect(/Created user alice\./);
    assert.equal(await t.exit(), 0, t.screen());
    assert.ok(!t.screen().includes(ALICE_PW) && !t.screen().includes(OFFICER_PW));
    // alice's password works (checked through the API, not the CLI).
    const res = await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username: 'alice', password: ALICE_PW }) });
    assert.equal(res.status, 200);
  });

  test('a new password given by option is checked before any login', async () => {
    const r = await inkan(['--json', 'user', 'create', 'bob', '--password', 'short'], { ...env, INKAN_USER: 'admin', INKAN_PASSWORD: 'not-the-password' });
    assert.equal(JSON.parse(r.out).error.code, 'PASSWORD_POLICY', 'refused before the (wrong) officer password was tried');
  });

  test('without a terminal a needed password is a clear NO_TTY error with the variable to set', async () => {
    const r = await inkan(['user', 'list'], { ...env, INKAN_USER: 'admin' });
    assert.equal(r.code, 1);
    assert.match(r.err, /\[NO_TTY\]\n {2}next: set it in the environment \(INKAN_PASSWORD/);
  });
});
