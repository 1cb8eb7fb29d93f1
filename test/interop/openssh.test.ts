// OpenSSH through p11-kit-client.so: `ssh-keygen -D` lists the token's public keys without a PIN
// (public objects are visible to a public session, PKCS#11 §4.4); `ssh-add -s` loads the keys into an
// ssh-agent (the PIN from SSH_ASKPASS), the agent signs through Inkan, and `ssh-keygen -Y verify`
// (OpenSSH's own verifier) accepts the signatures. The agent runs in the foreground and is stopped by pid.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { P11_KIT_CLIENT, p11Server, P11Server } from './p11-helpers';

/** The base64 blob of an ssh public key line, as OpenSSH encodes one from the key (RFC 4253 §6.6, RFC 5656 §3.1). */
const sshBlob = (key: crypto.KeyObject) => (key.export({ format: 'jwk' }).kty === 'RSA' ? rsaBlob(key) : ecBlob(key));
const str = (b: Buffer) => { const n = Buffer.alloc(4); n.writeUInt32BE(b.length); return Buffer.concat([n, b]); };
const mpint = (b: Buffer) => str(b[0] & 0x80 ? Buffer.concat([Buffer.alloc(1), b]) : b);
function rsaBlob(key: crypto.KeyObject): string {
  const j = key.export({ format: 'jwk' });
  return Buffer.concat([str(Buffer.from('ssh-rsa')), mpint(Buffer.from(j.e!, 'base64url')), mpint(Buffer.from(j.n!, 'base64url'))]).toString('base64');
}
function ecBlob(key: crypto.KeyObject): string {
  const j = key.export({ format: 'jwk' });
  const q = Buffer.concat([Buffer.from([4]), Buffer.from(j.x!, 'base64url'), Buffer.from(j.y!, 'base64url')]);
  return Buffer.concat([str(Buffer.from('ecdsa-sha2-nistp256')), str(Buffer.from('nistp256')), str(q)]).toString('base64');
}

describe('OpenSSH with token keys', { timeout: 120_000 }, () => {
  let srv: P11Server;
  let agent: ChildProcess | undefined;
  const keys = new Map<string, crypto.KeyObject>();

  before(async () => {
    srv = await p11Server();
    for (const [label, type] of [['ssh-rsa-key', 'rsa:2048'], ['ssh-ec-key', 'EC:prime256v1']]) {
      await srv.ok('pkcs11-tool', ['--module', P11_KIT_CLIENT, '--login', '--pin', srv.pin, '--keypairgen', '--key-type', type, '--label', label]);
      const der = await srv.ok('pkcs11-tool', ['--module', P11_KIT_CLIENT, '--read-object', '--type', 'pubkey', '--label', label]);
      keys.set(label, crypto.createPublicKey({ key: der, format: 'der', type: 'spki' }));
    }
  });
  after(async () => {
    if (agent && agent.exitCode === null) {
      const exited = new Promise((resolve) => agent!.once('exit', resolve));
      agent.kill('SIGTERM');
      await exited;
    }
    await srv.close();
  });

  test('ssh-keygen -D lists both public keys with no PIN and no terminal', async () => {
    const r = await srv.run('ssh-keygen', ['-D', P11_KIT_CLIENT], { input: '' });
    assert.equal(r.status, 0, r.stderr);
    const lines = r.stdout.toString().trim().split('\n');
    for (const [label, key] of keys) {
      assert.ok(lines.some((l) => l.split(' ')[1] === sshBlob(key) && l.endsWith(label)), `${label} listed: ${lines.join(' | ')}`);
    }
  });

  test('ssh-add -s loads the token keys into ssh-agent; agent signatures verify with ssh-keygen -Y verify', async () => {
    const sock = srv.file('agent.sock');
    agent = spawn('ssh-agent', ['-D', '-a', sock, '-P', P11_KIT_CLIENT], { env: srv.env, stdio: 'ignore' });
    for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 50));
    const askpass = srv.file('askpass.sh', `#!/bin/sh\ncat ${srv.file('pin.txt', srv.pin)}\n`);
    fs.chmodSync(askpass, 0o700);
    const env = { SSH_AUTH_SOCK: sock, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' };
    const added = await srv.run('ssh-add', ['-s', P11_KIT_CLIENT], { env, input: '' });
    assert.equal(added.status, 0, added.stderr);
    const listed = (await srv.ok('ssh-add', ['-L'], { env })).toString().trim().split('\n');
    assert.equal(listed.length, 2, listed.join('\n'));
    const data = srv.file('data.txt', 'signed by an ssh-agent through Inkan\n');
    for (const [label, key] of keys) {
      const line = listed.find((l) => l.split(' ')[1] === sshBlob(key))!;
      assert.ok(line, `${label} in the agent`);
      const pub = srv.file(`${label}.pub`, `${line}\n`);
      fs.rmSync(`${data}.sig`, { force: true });
      // Given only the public key, ssh-keygen asks the agent to sign.
      await srv.ok('ssh-keygen', ['-Y', 'sign', '-f', pub, '-n', 'file', data], { env });
      const allowed = srv.file('allowed', `inkan ${line.split(' ').slice(0, 2).join(' ')}\n`);
      const v = await srv.run('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', 'inkan', '-n', 'file', '-s', `${data}.sig`], { input: fs.readFileSync(data) });
      assert.equal(v.status, 0, v.stderr + v.stdout.toString());
      assert.match(v.stdout.toString() + v.stderr, /Good "file" signature for inkan/);
    }
  });
});
