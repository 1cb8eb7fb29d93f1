// Per-key limits through the real `inkan` CLI (bin/inkan.js) against a dev server: --max-uses and
// `key show`, usage periods, --key-pin on every use (and key set-pin), and a scoped share
// (`key share --ops verify`, `--context`). Signatures are checked with the openssl CLI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { devServer, opensslOk, tempDir, TestServer, writeTemp } from '../helpers/harness';
import { CliResult, inkan, jsonError } from '../cli/cli-helpers';

describe('per-key limits through the inkan CLI', { concurrency: 2 }, () => {
  let srv: TestServer;
  let work: string;
  let owner: Record<string, string>;
  let officer: Record<string, string>;

  before(async () => {
    srv = await devServer();
    work = tempDir('inkan-kl-cli-');
    const c = srv.credentials!;
    owner = { INKAN_SERVER: srv.url, INKAN_USER: c.user.username, INKAN_PASSWORD: c.user.password };
    officer = { INKAN_SERVER: srv.url, INKAN_USER: c.officer.username, INKAN_PASSWORD: c.officer.password };
  });
  after(async () => {
    await srv.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const ok = (r: CliResult) => { assert.equal(r.code, 0, `exit ${r.code}: ${r.err}${r.out}`); return r; };
  const json = <T = any>(r: CliResult): T => JSON.parse(ok(r).out) as T;
  async function fails(args: string[], env: Record<string, string>, code: string, input?: Buffer): Promise<void> {
    const r = await inkan(['--json', ...args], env, input);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.out}${r.err}`);
    assert.equal(jsonError(r).code, code);
  }

  test('--max-uses 2: two signatures verify with openssl, the third is KEY_USES_EXHAUSTED; key show says 2/2', async () => {
    ok(await inkan(['key', 'generate', '-t', 'ec', '-l', 'twice', '--max-uses', '2'], owner));
    const data = writeTemp(work, 'twice.txt', 'signed at most twice');
    const pem = writeTemp(work, 'twice.pem', ok(await inkan(['key', 'export-public', 'twice'], owner)).out);
    for (const n of [1, 2]) {
      const sig = path.join(work, `twice-${n}.sig`);
      ok(await inkan(['sign', 'twice', '-i', data, '-o', sig], owner));
      assert.ok(opensslOk(['dgst', '-sha256', '-verify', pem, '-signature', sig, data]));
    }
    await fails(['sign', 'twice', '-i', data], owner, 'KEY_USES_EXHAUSTED');
    assert.match(ok(await inkan(['key', 'show', 'twice'], owner)).out, /limits\s+2\/2 uses/);
  });

  test('usage periods: --use-from in the future refuses signing; --use-until in the past too', async () => {
    const later = new Date(Date.now() + 3_600_000).toISOString();
    const earlier = new Date(Date.now() - 60_000).toISOString();
    ok(await inkan(['key', 'generate', '-t', 'hmac', '-l', 'not-yet', '--use-from', later], owner));
    ok(await inkan(['key', 'generate', '-t', 'hmac', '-l', 'over', '--use-until', earlier], owner));
    await fails(['sign', 'not-yet'], owner, 'KEY_USE_PERIOD_NOT_STARTED', Buffer.from('x'));
    await fails(['sign', 'over'], owner, 'KEY_USE_PERIOD_ENDED', Buffer.from('x'));
    assert.match(ok(await inkan(['key', 'show', 'not-yet'], owner)).out, /limits\s+use \d{4}-.* → …/);
  });

  test('--key-pin: every use needs it; a wrong one is KEY_PIN_INCORRECT; key set-pin changes it', async () => {
    ok(await inkan(['key', 'generate', '-t', 'ec', '-l', 'pinned', '--key-pin', 'pin-one-1'], owner));
    const data = writeTemp(work, 'pinned.txt', 'needs the key PIN');
    await fails(['sign', 'pinned', '-i', data], owner, 'KEY_AUTH_REQUIRED');
    await fails(['sign', 'pinned', '-i', data, '--key-pin', 'nope-nope'], owner, 'KEY_PIN_INCORRECT');
    const sig = path.join(work, 'pinned.sig');
    ok(await inkan(['sign', 'pinned', '-i', data, '-o', sig], { ...owner, INKAN_KEY_PIN: 'pin-one-1' }));
    const pem = writeTemp(work, 'pinned.pem', ok(await inkan(['key', 'export-public', 'pinned'], owner)).out);
    assert.ok(opensslOk(['dgst', '-sha256', '-verify', pem, '-signature', sig, data]));
    await fails(['key', 'set-pin', 'pinned', '--current-pin', 'wrong-old', '--new-pin', 'pin-two-2'], owner, 'KEY_PIN_INCORRECT');
    ok(await inkan(['key', 'set-pin', 'pinned', '--current-pin', 'pin-one-1', '--new-pin', 'pin-two-2'], owner));
    await fails(['sign', 'pinned', '-i', data, '--key-pin', 'pin-one-1'], owner, 'KEY_PIN_INCORRECT');
    ok(await inkan(['sign', 'pinned', '-i', data, '--key-pin', 'pin-two-2'], owner));
    assert.match(ok(await inkan(['key', 'show', 'pinned'], owner)).out, /key PIN on every use/);
  });

  test('key share --ops verify: the sharee verifies but may not sign; --context: encryption without a context is refused', async () => {
    ok(await inkan(['user', 'create', 'dana', '--role', 'user', '--password', 'dana-password-1'], officer));
    const dana = { INKAN_SERVER: srv.url, INKAN_USER: 'dana', INKAN_PASSWORD: 'dana-password-1' };
    ok(await inkan(['key', 'generate', '-t', 'hmac', '-l', 'verify-only'], owner));
    const shared = json(await inkan(['--json', 'key', 'share', 'verify-only', 'dana', '--ops', 'verify'], owner));
    assert.deepEqual(shared.key.sharedWith, ['dana']);
    const data = writeTemp(work, 'vo.txt', 'mac me');
    const mac = path.join(work, 'vo.mac');
    ok(await inkan(['sign', 'verify-only', '-i', data, '-o', mac], owner));
    assert.match(ok(await inkan(['verify', 'verify-only', '-i', data, '--signature', mac], dana)).out, /Signature OK/);
    await fails(['sign', 'verify-only', '-i', data], dana, 'SHARE_SCOPE_DENIED');
    ok(await inkan(['key', 'generate', '-t', 'aes', '-l', 'payroll'], owner));
    ok(await inkan(['key', 'share', 'payroll', 'dana', '--ops', 'encrypt,decrypt', '--context', 'dept=payroll'], owner));
    await fails(['encrypt', 'payroll', '-i', data], dana, 'SHARE_SCOPE_DENIED');
    await fails(['key', 'share', 'payroll', 'dana', '--ops', 'sign,fly'], owner, 'BAD_REQUEST');
  });
});
