// `inkan login` / `logout`, profiles and the order of settings, against a dev server: the saved
// token is 0600 in a 0700 directory, serves later commands with no password, is ended on the
// server by logout, is never used once expired, readable by others, or for another server;
// profiles in config.yaml name the server, user and output, and INKAN_* variables win.
// Also the completion scripts, run by the real bash and zsh.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { devServer, tempDir, TestServer } from '../helpers/harness';
import { CliResult, inkan } from './cli-helpers';
import { HAVE_SCRIPT, pty } from './pty';

const ok = (r: CliResult) => { assert.equal(r.code, 0, `exit ${r.code}: ${r.err}${r.out}`); return r; };

describe('login, logout and profiles', () => {
  let srv: TestServer;
  let cfg: string;
  before(async () => { srv = await devServer(); cfg = tempDir('inkan-cfg-'); });
  after(async () => { await srv.close(); fs.rmSync(cfg, { recursive: true, force: true }); });
  const sessionFile = (profile = 'default') => path.join(cfg, 'sessions', `${profile}.json`);

  test('login keeps a 0600 session that later commands use; logout ends it on the server', { skip: !HAVE_SCRIPT && 'no script(1)' }, async () => {
    const u = srv.credentials!.user;
    const env = { INKAN_SERVER: srv.url, INKAN_CONFIG_DIR: cfg, INKAN_USER: u.username };
    const t = pty(['login'], env);
    await t.expect(new RegExp(`Your password \\(${u.username}, logging in to ${srv.url.replace(/\./g, '\\.')}\\): `));
    t.type(u.password);
    await t.expect(/Logged in to .* as user \(user\) for profile default/);
    assert.equal(await t.exit(), 0);
    const st = fs.statSync(sessionFile());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(sessionFile())).mode & 0o777, 0o700);
    const saved = JSON.parse(fs.readFileSync(sessionFile(), 'utf8'));
    assert.ok(!JSON.stringify(saved).includes(u.password), 'the password is not kept');
    assert.ok(saved.expiresAt > Date.now() && saved.expiresAt <= Date.now() + 12 * 3600_000);

    // No password in the environment, no terminal: the saved session serves.
    const who = JSON.parse(ok(await inkan(['--json', 'whoami'], env)).out);
    assert.equal(who.username, u.username);
    ok(await inkan(['key', 'generate', '-t', 'aes', '-l', 'via-session'], env));

    ok(await inkan(['logout'], env));
    assert.ok(!fs.existsSync(sessionFile()));
    // The token no longer works on the server.
    const res = await fetch(`${srv.url}/v1/whoami`, { headers: { authorization: `Bearer ${saved.token}` } });
    assert.equal(res.status, 401);
    const after = await inkan(['whoami'], env);
    assert.match(after.err, /\[NO_TTY\]/, 'a password is needed again');
  });

  test('a saved session is not used when expired, readable by others, or for another server', async () => {
    const u = srv.credentials!.user;
    const login = await (await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify(u) })).json() as { token: string };
    const env = { INKAN_SERVER: srv.url, INKAN_CONFIG_DIR: cfg };
    const write = (extra: object, mode = 0o600) => {
      fs.mkdirSync(path.dirname(sessionFile()), { recursive: true, mode: 0o700 });
      fs.writeFileSync(sessionFile(), JSON.stringify({ server: srv.url, username: u.username, role: 'user', partition: 'default', token: login.token, expiresAt: Date.now() + 60_000, ...extra }));
      fs.chmodSync(sessionFile(), mode);
    };
    write({});
    assert.equal(JSON.parse(ok(await inkan(['--json', 'whoami'], env)).out).username, u.username, 'a good one works');
    write({ expiresAt: Date.now() - 1000 });
    assert.match((await inkan(['whoami'], env)).err, /NO_TTY/);
    assert.ok(!fs.existsSync(sessionFile()), 'an expired session is deleted');
    write({}, 0o644);
    assert.match((await inkan(['whoami'], env)).err, /NO_TTY/);
    assert.ok(!fs.existsSync(sessionFile()), 'a session others can read is deleted');
    write({ server: 'http://127.0.0.1:9' });
    assert.match((await inkan(['whoami'], env)).err, /NO_TTY/, 'a token is only sent to its own server');
    fs.rmSync(sessionFile());
  });

  test('profiles name server, user and output; flags and INKAN_* variables win', async () => {
    const u = srv.credentials!.user;
    fs.writeFileSync(path.join(cfg, 'config.yaml'), [
      'default-profile: lab', 'profiles:',
      `  lab: { server: "${srv.url}", user: ${u.username}, output: yaml }`,
      '  dead: { server: "http://127.0.0.1:9" }', ''].join('\n'));
    const env = { INKAN_CONFIG_DIR: cfg, INKAN_PASSWORD: u.password };
    const yaml = ok(await inkan(['whoami'], env)).out;
    assert.match(yaml, /^username: user$/m, 'the default profile\'s server, user and YAML output');
    assert.match((await inkan(['--profile', 'dead', 'status'], env)).err, /\[UNREACHABLE\]/);
    assert.match(ok(await inkan(['--profile', 'dead', 'status'], { ...env, INKAN_SERVER: srv.url })).out, /^state:\s+unsealed$/m, 'INKAN_SERVER wins');
    assert.match(ok(await inkan(['--profile', 'dead', '--server', srv.url, 'status', '--output', 'table'], env)).out, /^state:\s+unsealed$/m, '--server wins');
    assert.equal(JSON.parse(ok(await inkan(['whoami'], { ...env, INKAN_OUTPUT: 'json' })).out).username, u.username, 'INKAN_OUTPUT wins');
    const missing = await inkan(['--profile', 'nope', 'status'], env);
    assert.match(missing.err, /no profile nope in .*config\.yaml \(profiles: lab, dead\) \[PROFILE_NOT_FOUND\]/);
    fs.writeFileSync(path.join(cfg, 'config.yaml'), 'profiles: [1, 2');
    assert.match((await inkan(['status'], env)).err, /is not valid YAML.*\[CONFIG_INVALID\]/);
    fs.rmSync(path.join(cfg, 'config.yaml'));
  });
});

test('completion scripts complete commands in the real bash and zsh', async (t) => {
  const dir = tempDir('inkan-compl-');
  try {
    const bash = ok(await inkan(['completion', 'bash'], {})).out;
    fs.writeFileSync(path.join(dir, 'inkan.bash'), bash);
    const b = spawnSync('bash', ['-c', `source ${dir}/inkan.bash; COMP_WORDS=(inkan key gen); COMP_CWORD=2; _inkan; echo "\${COMPREPLY[*]}";
      COMP_WORDS=(inkan key list --ty); COMP_CWORD=3; _inkan; echo "\${COMPREPLY[*]}"; COMP_WORDS=(inkan ba); COMP_CWORD=1; _inkan; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' });
    assert.equal(b.status, 0, b.stderr);
    assert.deepEqual(b.stdout.trim().split('\n'), ['generate', '--type', 'backup']);
    const zshPath = spawnSync('sh', ['-c', 'command -v zsh'], { encoding: 'utf8' }).stdout.trim();
    if (!zshPath) { t.skip('zsh is not installed (apt-get install zsh)'); return; }
    const zsh = ok(await inkan(['completion', 'zsh'], {})).out;
    fs.writeFileSync(path.join(dir, '_inkan'), zsh);
    assert.equal(spawnSync('zsh', ['-n', path.join(dir, '_inkan')]).status, 0, 'zsh parses it');
    // compadd stubbed to print what would be offered; words/CURRENT as zsh's completion sets them.
    const z = spawnSync('zsh', ['-fc', `source ${dir}/_inkan; compadd() { shift; print -r -- "$*"; }; words=(inkan key gen); CURRENT=3; _inkan`], { encoding: 'utf8' });
    assert.equal(z.status, 0, z.stderr);
    assert.match(z.stdout, /(^| )generate( |$)/);
    assert.match(z.stdout, /(^| )list( |$)/);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
