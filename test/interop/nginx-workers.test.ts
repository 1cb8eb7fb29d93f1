// nginx with `master_process on` and two workers that run as www-data, serving TLS with a token key
// through OpenSSL's pkcs11 engine (libp11, libengine-pkcs11-openssl) and p11-kit-client.so. The
// workers connect after fork as www-data, so the server's socket is 0660 group www-data in a
// directory www-data can reach (docs/pkcs11.md "Who may connect"). Loopback, temp dirs; stops all.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { startServer, type RunningServer } from '../../src/server';
import { createLogger } from '../../src/logger';
import { tempDir } from '../helpers/harness';
import { P11_KIT_CLIENT, run } from './p11-helpers';

const TOKEN = 'pkcs11:token=default';
const wwwDataGid = (): number | undefined => {
  try { return Number(execFileSync('getent', ['group', 'www-data']).toString().split(':')[2]); } catch { return undefined; }
};
const hasNginx = () => { try { execFileSync('nginx', ['-v'], { stdio: 'ignore' }); return true; } catch { return false; } };
const skip = process.getuid?.() !== 0 ? 'needs root (nginx switches its workers to www-data)'
  : wwwDataGid() === undefined ? 'no www-data group' : !hasNginx() ? 'nginx is not installed' : false;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address() as net.AddressInfo; s.close(() => resolve(port)); });
    s.once('error', reject);
  });
}

function get(port: number, ca: Buffer): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    // A new connection (and TLS handshake, so one token signature) per request.
    https.get({ host: '127.0.0.1', port, path: '/', ca, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).on('timeout', function (this: { destroy(e: Error): void }) { this.destroy(new Error('timeout')); });
  });
}

describe('nginx workers as www-data with a token key', { timeout: 120_000, skip }, () => {
  let server: RunningServer;
  let nginx: ChildProcess | undefined;
  const dirs: string[] = [];
  const logs: string[] = [];

  before(async () => {
    const data = tempDir('inkan-nginx-');
    // The socket's own directory: 0750 root:www-data, so the workers may reach the 0660 socket in it.
    const sockDir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-sock-'));
    fs.chownSync(sockDir, 0, wwwDataGid()!);
    fs.chmodSync(sockDir, 0o750);
    dirs.push(data, sockDir);
    server = await startServer({ dataDir: data, host: '127.0.0.1', port: 0, dev: true, loginDelayMs: 0, log: createLogger((l) => logs.push(l)),
      p11Socket: path.join(sockDir, 'p11.sock'), p11SocketMode: 0o660, p11SocketGroup: 'www-data' });
  });
  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx!.once('exit', resolve));
      nginx.kill('SIGTERM');
      await exited;
    }
    await server?.close();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  test('4 of 4 HTTPS requests succeed, each handshake signed by the token key from a www-data worker', async () => {
    const creds = server.credentials!;
    const pin = `${creds.user.username}:${creds.user.password}`;
    const env = { ...process.env, P11_KIT_SERVER_ADDRESS: server.p11Address, P11_KIT_NO_USER_CONFIG: '1', PKCS11_MODULE_PATH: P11_KIT_CLIENT, GNUTLS_PIN: pin };
    const ok = async (cmd: string, args: string[]) => {
      const r = await run(cmd, args, env);
      assert.equal(r.status, 0, `${cmd}: ${r.stderr}`);
    };
    const prefix = tempDir('inkan-nginx-prefix-');
    dirs.push(prefix);
    const file = (name: string, text: string, mode = 0o600) => { const f = path.join(prefix, name); fs.writeFileSync(f, text, { mode }); return f; };
    await ok('pkcs11-tool', ['--module', P11_KIT_CLIENT, '--login', '--pin', pin, '--keypairgen', '--key-type', 'rsa:2048', '--label', 'nginx-rsa']);
    const cert = path.join(prefix, 'nginx.crt');
    await ok('certtool', ['--provider', P11_KIT_CLIENT, '--generate-self-signed', '--load-privkey', `${TOKEN};object=nginx-rsa;type=private`,
      '--load-pubkey', `${TOKEN};object=nginx-rsa;type=public`, '--outfile', cert,
      '--template', file('cert.tmpl', 'cn = "localhost"\nip_address = "127.0.0.1"\ndns_name = "localhost"\nexpiration_days = 2\ntls_www_server\nsigning_key\n')]);
    const port = await freePort();
    const conf = file('nginx.conf', [
      'master_process on;', 'daemon off;', 'user www-data;', 'worker_processes 2;',
      `pid ${prefix}/nginx.pid;`, `error_log ${prefix}/error.log info;`,
      'env P11_KIT_SERVER_ADDRESS;', 'env PKCS11_MODULE_PATH;', 'env P11_KIT_NO_USER_CONFIG;', 'ssl_engine pkcs11;',
      'events { worker_connections 32; }',
      'http {', '  access_log off;', `  client_body_temp_path ${prefix}/body;`, `  proxy_temp_path ${prefix}/proxy;`,
      `  fastcgi_temp_path ${prefix}/fastcgi;`, `  uwsgi_temp_path ${prefix}/uwsgi;`, `  scgi_temp_path ${prefix}/scgi;`,
      `  server { listen 127.0.0.1:${port} ssl; ssl_certificate ${cert};`,
      `    ssl_certificate_key "engine:pkcs11:${TOKEN};object=nginx-rsa;type=private;pin-value=${encodeURIComponent(pin)}";`,
      '    location / { return 200 "hello from a token key\\n"; } }',
      '}', ''].join('\n'));
    nginx = spawn('nginx', ['-c', conf, '-p', prefix], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    nginx.stderr!.on('data', (d) => { stderr += d; });
    for (let i = 0; i < 100; i++) {
      const up = await new Promise<boolean>((resolve) => net.connect(port, '127.0.0.1').once('connect', function (this: net.Socket) { this.destroy(); resolve(true); }).once('error', () => resolve(false)));
      if (up) break;
      assert.equal(nginx.exitCode, null, `nginx exited: ${stderr}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const workers = execFileSync('ps', ['-o', 'user=', '--ppid', String(nginx.pid)]).toString().trim().split('\n').map((u) => u.trim());
    assert.deepEqual(workers, ['www-data', 'www-data'], 'two workers, both www-data');

    const ca = fs.readFileSync(cert);
    const answers = [];
    for (let i = 0; i < 4; i++) answers.push(await get(port, ca));
    assert.deepEqual(answers, Array(4).fill({ status: 200, body: 'hello from a token key\n' }), fs.readFileSync(path.join(prefix, 'error.log'), 'utf8').slice(-2000));
    // The signatures were made by Inkan for the crypto user over PKCS#11 (the audit stream in the server log).
    const signs = logs.map((l) => JSON.parse(l)).filter((l) => l.msg === 'audit' && l.op === 'key.sign' && l.face === 'p11' && l.outcome === 'success');
    assert.ok(signs.length >= 4, `at least one token signature per handshake (${signs.length})`);
  });
});
