// `inkan serve --workers 2` through the real CLI processes: the primary hands PKCS#11 connections
// to both workers and node:cluster spreads HTTP connections; admin sessions work whichever worker
// a request lands on (forwarded to the lead); a key disabled through one worker is refused by
// every worker at once (coherence); a seal and an unseal reach every worker before the officer is
// answered; a killed worker comes back unsealed by its sibling; SIGTERM stops everything and
// removes both sockets. Results are checked with node:crypto and the real AWS SDK.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { CreateKeyCommand, DisableKeyCommand, EnableKeyCommand, GetPublicKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { tempDir } from '../helpers/harness';
import { client } from '../api/kms/helpers';
import { inkan, serve, type ServeProcess } from './cli-helpers';

const P11_CLIENT = '/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so';

/** One request on a fresh connection (node:cluster then picks the next worker). */
function fresh(url: string, p: string, init: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${url}${p}`, { method: init.method ?? 'GET', headers: init.headers, agent: false }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => { text += c.toString('utf8'); });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(init.body);
  });
}

/** Sums a counter per node label over enough scrapes to have seen every worker. */
async function perWorker(url: string, metric: string, workers: number): Promise<Map<string, number>> {
  const seen = new Map<string, number>();
  for (let i = 0; i < 40 && seen.size < workers; i++) {
    const text = (await fresh(url, '/metrics')).text;
    const nodes = new Map<string, number>();
    for (const m of text.matchAll(new RegExp(`^${metric}\\{([^}]*)\\} (\\S+)$`, 'gm'))) {
      const node = /node="([^"]+)"/.exec(m[1])?.[1] ?? '-';
      nodes.set(node, (nodes.get(node) ?? 0) + Number(m[2]));
    }
    for (const [node, v] of nodes) seen.set(node, v);
  }
  return seen;
}

/** A separate process (its own p11-kit connection) signs 32 bytes with CKM_ECDSA by label. */
function p11Sign(address: string, pin: string, label: string, data: Buffer): Promise<{ sig: Buffer; point: Buffer }> {
  const script = `
    const pkcs11js = require('pkcs11js');
    const p = new pkcs11js.PKCS11(); p.load(${JSON.stringify(P11_CLIENT)});
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    const [slot] = p.C_GetSlotList(true);
    const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    p.C_Login(s, pkcs11js.CKU_USER, ${JSON.stringify(pin)});
    const find = (cls) => { p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: cls }, { type: pkcs11js.CKA_LABEL, value: ${JSON.stringify(label)} }]);
      const [h] = p.C_FindObjects(s, 1); p.C_FindObjectsFinal(s); return h; };
    p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, find(pkcs11js.CKO_PRIVATE_KEY));
    const sig = p.C_Sign(s, Buffer.from(${JSON.stringify(data.toString('hex'))}, 'hex'), Buffer.alloc(128));
    const [pt] = p.C_GetAttributeValue(s, find(pkcs11js.CKO_PUBLIC_KEY), [{ type: pkcs11js.CKA_EC_POINT }]);
    process.stdout.write(JSON.stringify({ sig: sig.toString('hex'), point: pt.value.toString('hex') }));
    p.C_Finalize();`;
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['-e', script], { env: { ...process.env, P11_KIT_SERVER_ADDRESS: address }, cwd: path.resolve(__dirname, '..', '..', '..') }, (err, out, errOut) => {
      if (err) { reject(new Error(`${err.message}\n${errOut}`)); return; }
      const r = JSON.parse(out) as { sig: string; point: string };
      resolve({ sig: Buffer.from(r.sig, 'hex'), point: Buffer.from(r.point, 'hex') });
    });
  });
}

/** The P-256 public key of an uncompressed point inside CKA_EC_POINT's DER OCTET STRING. */
function p256Public(ecPoint: Buffer): crypto.KeyObject {
  const point = ecPoint[0] === 0x04 && ecPoint.length === 67 ? ecPoint.subarray(2) : ecPoint;
  const spkiPrefix = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex');
  return crypto.createPublicKey({ key: Buffer.concat([spkiPrefix, point]), format: 'der', type: 'spki' });
}

/** The server's worker processes (children of the primary). */
function workerPids(primary: number): number[] {
  const out: number[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === primary) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

async function until(what: string, check: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const allReady = (url: string, want: boolean) => async () => {
  for (let i = 0; i < 6; i++) if (((await fresh(url, '/readyz')).status === 200) !== want) return false;
  return true;
};

describe('inkan serve --workers 2 (dev)', { timeout: 240_000 }, () => {
  let srv: ServeProcess;
  let dir: string;
  let creds: { officer: { username: string; password: string }; user: { username: string; password: string }; p11: { address: string; pin: string }; kms: { accessKeyId: string; secretAccessKey: string } };
  let token: string;
  const kmsClients: KMSClient[] = [];

  before(async () => {
    dir = tempDir('inkan-workers-');
    // The real login delay: concurrent correct logins must not be throttled by each other.
    srv = await serve(['--dev', '--data', dir, '--http', '127.0.0.1:0', '--workers', '2', '--login-delay-ms', '250']);
    creds = JSON.parse(fs.readFileSync(path.join(dir, 'dev-credentials.json'), 'utf8'));
    const login = await fresh(srv.url, '/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(creds.officer) });
    assert.equal(login.status, 200, login.text);
    token = JSON.parse(login.text).token;
    for (let i = 0; i < 4; i++) kmsClients.push(client(srv.url, creds.kms.accessKeyId, creds.kms.secretAccessKey));
  });
  after(async () => { for (const k of kmsClients) k.destroy(); await srv?.stop(); });

  test('starts two workers; each serves HTTP, and the lead\'s private socket is the owner\'s alone', async () => {
    assert.match(srv.stdout(), /2 worker processes/);
    // Whichever worker a scrape reaches, it shows both workers' series (one HELP/TYPE per family).
    for (let i = 0; i < 3; i++) {
      const text = (await fresh(srv.url, '/metrics')).text;
      const nodes = new Set([...text.matchAll(/^inkan_http_connections_total\{node="([^"]+)"\}/gm)].map((m) => m[1]));
      assert.deepEqual([...nodes].sort(), ['node-1', 'node-1-w1']);
      assert.equal(text.match(/^# TYPE inkan_http_connections_total /gm)?.length, 1);
    }
    const started = await perWorker(srv.url, 'inkan_http_connections_total', 2);
    assert.deepEqual([...started.keys()].sort(), ['node-1', 'node-1-w1']);
    assert.equal(fs.statSync(path.join(dir, 'lead.sock')).mode & 0o777, 0o600);
    assert.equal(workerPids(srv.child.pid!).length, 2);
  });

  test('an admin session opened on one worker works on every worker (forwarded to the lead)', async () => {
    for (let i = 0; i < 8; i++) {
      const r = await fresh(srv.url, '/v1/status', { headers: { authorization: `Bearer ${token}` } });
      assert.equal(r.status, 200, r.text);
      assert.equal(JSON.parse(r.text).state, 'unsealed');
    }
    // What a client claims as its forwarded origin is replaced, not believed.
    const spoof = await fresh(srv.url, '/v1/status', { headers: { authorization: `Bearer ${token}`, 'x-inkan-forwarded-source': '10.9.9.9', 'x-inkan-forwarded-tls': '1' } });
    assert.equal(spoof.status, 200);
  });

  test('PKCS#11 connections go to both workers; every signature verifies with node:crypto', async () => {
    const userLogin = await fresh(srv.url, '/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(creds.user) });
    const made = await fresh(srv.url, '/v1/keys', {
      method: 'POST', headers: { authorization: `Bearer ${JSON.parse(userLogin.text).token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ label: 'spread', type: 'ec', curve: 'P-256' }),
    });
    assert.ok(made.status === 200 || made.status === 201, made.text);
    const before = await perWorker(srv.url, 'inkan_p11_connections_total', 2);
    const data = crypto.createHash('sha256').update('workers').digest();
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await p11Sign(creds.p11.address, creds.p11.pin, 'spread', data));
    for (const r of results) {
      assert.equal(r.sig.length, 64);
      // CKM_ECDSA signed the SHA-256 digest itself: node:crypto hashes the message and verifies.
      assert.ok(crypto.verify('sha256', Buffer.from('workers'), { key: p256Public(r.point), dsaEncoding: 'ieee-p1363' }, r.sig), 'signature verifies');
    }
    const afterCounts = await perWorker(srv.url, 'inkan_p11_connections_total', 2);
    const grew = [...afterCounts].filter(([node, v]) => v > (before.get(node) ?? 0)).map(([node]) => node).sort();
    assert.deepEqual(grew, ['node-1', 'node-1-w1'], 'both workers took connections');
    // The same user logging in from four processes at once, on both workers: nobody is refused
    // (an attempt still being checked slows no correct password given beside it).
    const together = await Promise.all(Array.from({ length: 4 }, () => p11Sign(creds.p11.address, creds.p11.pin, 'spread', data)));
    for (const r of together) assert.ok(crypto.verify('sha256', Buffer.from('workers'), { key: p256Public(r.point), dsaEncoding: 'ieee-p1363' }, r.sig));
  });

  test('KMS on both workers; a key disabled through one is refused by all at once', async () => {
    const [first] = kmsClients;
    const key = (await first.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const pub = crypto.createPublicKey({ key: Buffer.from((await first.send(new GetPublicKeyCommand({ KeyId: key }))).PublicKey!), format: 'der', type: 'spki' });
    const msg = Buffer.from('signed by whichever worker');
    const sigs = await Promise.all(Array.from({ length: 16 }, (_, i) => kmsClients[i % 4].send(new SignCommand({ KeyId: key, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' }))));
    for (const s of sigs) assert.ok(crypto.verify('sha256', msg, pub, Buffer.from(s.Signature!)));
    const ops = await perWorker(srv.url, 'inkan_operations_total', 2);
    assert.equal(ops.size, 2);
    await first.send(new DisableKeyCommand({ KeyId: key }));
    const refused = await Promise.allSettled(Array.from({ length: 12 }, (_, i) => kmsClients[i % 4].send(new SignCommand({ KeyId: key, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' }))));
    for (const r of refused) {
      assert.equal(r.status, 'rejected');
      assert.equal((r as PromiseRejectedResult).reason.name, 'DisabledException');
    }
    await first.send(new EnableKeyCommand({ KeyId: key }));
  });

  test('a seal and an unseal reach every worker before the officer is answered', async () => {
    const sealed = await fresh(srv.url, '/v1/seal', { method: 'POST', headers: { authorization: `Bearer ${token}` } });
    assert.equal(sealed.status, 200, sealed.text);
    assert.ok(await allReady(srv.url, false)(), 'no worker is ready right after the seal');
    const share = fs.readFileSync(path.join(dir, 'dev-master-key.DEVELOPMENT-ONLY'), 'utf8').split('\n').find((l) => l && !l.startsWith('#'))!;
    const unsealed = await fresh(srv.url, '/v1/unseal', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ share }) });
    assert.equal(JSON.parse(unsealed.text).sealed, false, unsealed.text);
    assert.ok(await allReady(srv.url, true)(), 'every worker is ready right after the unseal');
    // The seal ended the admin sessions (they live in the lead's memory): log in again.
    const login = await fresh(srv.url, '/v1/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(creds.officer) });
    token = JSON.parse(login.text).token ?? token;
  });

  test('a killed worker is restarted and unsealed by its sibling', async () => {
    const pids = workerPids(srv.child.pid!);
    const sibling = pids.sort((a, b) => b - a)[0];
    process.kill(sibling, 'SIGKILL');
    await until('a replacement worker', async () => workerPids(srv.child.pid!).length === 2 && !workerPids(srv.child.pid!).includes(sibling));
    await until('every worker ready', allReady(srv.url, true));
    const msg = Buffer.from('after the restart');
    const key = (await kmsClients[0].send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const pub = crypto.createPublicKey({ key: Buffer.from((await kmsClients[1].send(new GetPublicKeyCommand({ KeyId: key }))).PublicKey!), format: 'der', type: 'spki' });
    for (let i = 0; i < 8; i++) {
      const s = await kmsClients[i % 4].send(new SignCommand({ KeyId: key, Message: msg, SigningAlgorithm: 'ECDSA_SHA_256' }));
      assert.ok(crypto.verify('sha256', msg, pub, Buffer.from(s.Signature!)));
    }
    assert.match(srv.stderr(), /worker exited: restarting it/);
    assert.match(srv.stderr(), /unsealed by worker node-1/);
  });

  test('SIGUSR2 to the server (its primary) zeroises the module in every worker', async () => {
    process.kill(srv.child.pid!, 'SIGUSR2');
    await until('every worker zeroised', async () => {
      for (let i = 0; i < 6; i++) if (JSON.parse((await fresh(srv.url, '/readyz')).text).state !== 'uninitialized') return false;
      return true;
    });
    assert.equal(fs.existsSync(path.join(dir, 'dev-master-key.DEVELOPMENT-ONLY')), false);
  });

  test('SIGTERM stops every worker and removes both sockets', async () => {
    const primary = srv.child.pid!;
    const pids = workerPids(primary);
    assert.equal(await srv.stop(), 0);
    for (const pid of pids) assert.throws(() => process.kill(pid, 0), 'worker gone');
    assert.equal(fs.existsSync(path.join(dir, 'p11.sock')), false);
    assert.equal(fs.existsSync(path.join(dir, 'lead.sock')), false);
  });
});

describe('inkan serve --workers 2 (shares)', { timeout: 240_000 }, () => {
  test('init and a 2-of-3 unseal through the CLI unseal every worker; a restart needs the shares again', async () => {
    const dir = tempDir('inkan-workers-init-');
    const srv = await serve(['--data', dir, '--http', '127.0.0.1:0', '--workers', '2']);
    try {
      assert.match(srv.stdout(), /Inkan uninitialized/);
      const env = { INKAN_SERVER: srv.url, INKAN_USER: 'admin', INKAN_PASSWORD: 'admin-password-1' };
      const init = await inkan(['init', '--shares', '3', '--threshold', '2', '--officer', 'admin'], env);
      assert.equal(init.code, 0, init.err + init.out);
      const shares = [...init.out.matchAll(/^ {2}share (\d): (inkan-share-\S+)$/gm)].map((m) => m[2]);
      assert.equal(shares.length, 3, init.out);
      assert.ok(await allReady(srv.url, false)());
      for (const share of shares.slice(0, 2)) {
        const r = await inkan(['--json', 'unseal', share], { INKAN_SERVER: srv.url });
        assert.equal(r.code, 0, r.err + r.out);
      }
      assert.ok(await allReady(srv.url, true)(), 'both workers unsealed');
    } finally { await srv.stop(); }
  });
});
