// Who may connect to the PKCS#11 socket: mode 0600 by default (only the server's user), and
// --p11-socket-mode / --p11-socket-group so that, e.g., nginx workers running as www-data can.
// Checked with real processes of those uids and with the real `inkan serve` command line.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseSocketMode, resolveGroup } from '../../../src/api/p11/socket-file';
import { REPO_ROOT, tempDir } from '../../helpers/harness';
import { P11_KIT_CLIENT } from '../../interop/p11-helpers';
import { account, limitedServer, LimitedServer, probeAs, until } from './limit-helpers';

/** Running peers as other uids needs root (CI runs as root). */
const asOthers = { skip: process.getuid?.() !== 0 ? 'needs root to run peers as www-data and nobody' : false };

/** The real pkcs11-tool, through p11-kit-client.so, as another user. */
function pkcs11ToolAs(who: { uid: number; gid: number }, address: string): Promise<{ status: number; out: string }> {
  return new Promise((resolve) => {
    execFile('pkcs11-tool', ['--module', P11_KIT_CLIENT, '-L'], {
      uid: who.uid, gid: who.gid, cwd: '/', timeout: 30_000,
      env: { PATH: process.env.PATH, P11_KIT_SERVER_ADDRESS: address, P11_KIT_NO_USER_CONFIG: '1' },
    }, (err, stdout, stderr) => resolve({ status: err ? 1 : 0, out: `${stdout}${stderr}` }));
  });
}

describe('PKCS#11 socket mode and group', { timeout: 120_000 }, () => {
  const servers: LimitedServer[] = [];
  after(async () => { for (const s of servers) await s.close(); });
  const www = account('www-data');
  const nobody = account('nobody');

  test('by default the socket is 0600 and owned by the server user: www-data cannot connect', asOthers, async () => {
    const srv = await limitedServer();
    servers.push(srv);
    const st = fs.statSync(srv.socketPath);
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, process.getuid!());
    assert.deepEqual(await probeAs(www, srv.socketPath, 1, 300), ['EACCES']);
    const line = srv.lines('p11 socket')[0];
    assert.equal(line.mode, '0600');
  });

  test('mode 0660 and group www-data: pkcs11-tool running as www-data sees the token, nobody cannot connect', asOthers, async () => {
    const srv = await limitedServer({ p11SocketMode: 0o660, p11SocketGroup: 'www-data' });
    servers.push(srv);
    const st = fs.statSync(srv.socketPath);
    assert.equal(st.mode & 0o777, 0o660);
    assert.equal(st.gid, www.gid);
    assert.deepEqual(await probeAs(www, srv.socketPath, 1, 300), ['answered']);
    assert.deepEqual(await probeAs(nobody, srv.socketPath, 1, 300), ['EACCES']);
    const asWww = await pkcs11ToolAs(www, srv.p11Address);
    assert.equal(asWww.status, 0, asWww.out);
    assert.match(asWww.out, /token label\s+: default\b/);
    const asNobody = await pkcs11ToolAs(nobody, srv.p11Address);
    assert.doesNotMatch(asNobody.out, /token label\s+: default/);
    const line = srv.lines('p11 socket')[0];
    assert.deepEqual([line.mode, line.gid], ['0660', www.gid]);
    // Bound in a private staging directory and renamed into place: nothing is left beside it.
    assert.deepEqual(fs.readdirSync(srv.socketDir).filter((n) => n.startsWith('.p11-')), []);
  });

  test('bad modes and unknown groups are refused at start with a clear message', async () => {
    assert.equal(parseSocketMode('0660'), 0o660);
    assert.equal(parseSocketMode('600'), 0o600);
    assert.throws(() => parseSocketMode('4770'), /octal permission bits/);
    assert.throws(() => parseSocketMode('rw-rw----'), /octal permission bits/);
    assert.throws(() => parseSocketMode('0060'), /denies the server's own user/);
    assert.equal(resolveGroup('www-data'), www.gid);
    assert.equal(resolveGroup('4242'), 4242);
    assert.throws(() => resolveGroup('no-such-group-inkan'), /unknown group no-such-group-inkan/);
    await assert.rejects(limitedServer({ p11SocketGroup: 'no-such-group-inkan' }), /unknown group/);
  });

  test('`inkan serve --p11-socket-mode 0660 --p11-socket-group www-data` makes the socket so and logs it', async () => {
    const dir = tempDir('inkan-p11cli-');
    const sockDir = fs.mkdtempSync('/tmp/inkan-p11cs-');
    const sock = path.join(sockDir, 'p11.sock');
    const child = spawn(process.execPath, [path.join(REPO_ROOT, 'bin', 'inkan.js'), 'serve', '--dev', '--data', dir, '--http', '127.0.0.1:0',
      '--p11-socket', sock, '--p11-socket-mode', '0660', '--p11-socket-group', 'www-data', '--p11-idle-timeout', '2m', '--p11-request-buffer', '64MiB'],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    let out = '';
    child.stderr!.on('data', (d) => { err += d; });
    child.stdout!.on('data', (d) => { out += d; });
    try {
      await until(() => /Inkan unsealed/.test(out), 60_000, 'the server to start');
      const st = fs.statSync(sock);
      assert.equal(st.mode & 0o777, 0o660);
      assert.equal(st.gid, www.gid);
      assert.match(out, new RegExp(`socket mode 0660, gid ${www.gid}`));
      const line = err.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'p11 socket')!;
      assert.deepEqual([line.mode, line.gid, line.idleTimeoutMs, line.requestBufferBytes], ['0660', www.gid, 120_000, 64 * 1024 * 1024]);
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(sockDir, { recursive: true, force: true });
    }
    // A typo in an option fails at once, naming the option.
    const badDir = tempDir('inkan-p11cli-');
    const bad = (() => {
      try {
        execFileSync(process.execPath, [path.join(REPO_ROOT, 'bin', 'inkan.js'), 'serve', '--data', badDir, '--p11-idle-timeout', 'soon'], { stdio: 'pipe' });
        return '';
      } catch (e) { return String((e as { stderr: Buffer }).stderr); }
    })();
    fs.rmSync(badDir, { recursive: true, force: true });
    assert.match(bad, /--p11-idle-timeout: bad duration soon/);
  });
});
