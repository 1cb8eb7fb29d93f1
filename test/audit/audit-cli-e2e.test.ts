// End to end (needs the core): a real server, the real `inkan` CLI. An auditor streams the
// export to a 0600 file and verifies it offline; ranges; a crypto user is refused; bad query
// parameters are refused before anything streams; and the red team's attack — rows deleted
// from the database while the server is down — is caught by `verify --after`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { startServer } from '../../src/server';
import { createLogger } from '../../src/logger';
import { devServer, tempDir, TestServer } from '../helpers/harness';
import { inkan } from '../cli/cli-helpers';

const AUDITOR = { username: 'aud', password: 'auditor-password-1' };

async function withAuditor(srv: TestServer): Promise<Record<string, string>> {
  const asOfficer = await srv.login(srv.credentials!.officer.username, srv.credentials!.officer.password);
  const r = await asOfficer('POST', '/v1/users', { ...AUDITOR, role: 'auditor' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { INKAN_SERVER: srv.url, INKAN_USER: AUDITOR.username, INKAN_PASSWORD: AUDITOR.password };
}

const ok = (r: { code: number; out: string; err: string }) => { assert.equal(r.code, 0, r.err + r.out); return r; };

test('an auditor streams the export to a 0600 file and it verifies offline; a crypto user may not', async () => {
  const srv = await devServer();
  const work = tempDir();
  try {
    const env = await withAuditor(srv);
    const out = path.join(work, 'audit.ndjson');
    const pem = path.join(work, 'audit.pem');
    const e = ok(await inkan(['audit', 'export', '--out', out], env));
    assert.match(e.err, /records and \d+ stored checkpoints of 1 chain\(s\) written to/);
    assert.equal(fs.statSync(out).mode & 0o777, 0o600);
    ok(await inkan(['audit', 'public-key', '--out', pem], env));
    assert.equal(fs.statSync(pem).mode & 0o777, 0o600);
    const v = ok(await inkan(['audit', 'verify', out, '--public-key', pem], env));
    assert.match(v.out, /^OK: 1 chain\(s\)/);
    // No overwriting without --force, for either file.
    assert.equal((await inkan(['audit', 'export', '--out', out], env)).code, 1);
    assert.equal((await inkan(['audit', 'public-key', '--out', pem], env)).code, 1);
    ok(await inkan(['audit', 'export', '--out', out, '--force'], env));
    // stdout gives the same lines.
    const stdout = ok(await inkan(['audit', 'export'], env));
    assert.equal(JSON.parse(stdout.out.split('\n')[0]).type, 'header');
    const user = srv.credentials!.user;
    const refused = await inkan(['--json', 'audit', 'export'], { INKAN_SERVER: srv.url, INKAN_USER: user.username, INKAN_PASSWORD: user.password });
    assert.equal(refused.code, 1);
    assert.equal(JSON.parse(refused.out).error.code, 'FORBIDDEN');
  } finally { await srv.close(); fs.rmSync(work, { recursive: true, force: true }); }
});

test('ranged exports through the CLI verify, and bad query parameters are refused', async () => {
  const srv = await devServer();
  const work = tempDir();
  try {
    const env = await withAuditor(srv);
    const node = (await (await fetch(`${srv.url}/v1/status`)).json() as { node?: string }).node;
    for (const [i, args] of [['--from', '3'], ['--since', new Date(Date.now() - 3600_000).toISOString()], ...(node ? [['--chain', node]] : [])].entries()) {
      const out = path.join(work, `ranged-${i}.ndjson`);
      ok(await inkan(['audit', 'export', '--out', out, ...args], env));
      const pem = path.join(work, `k-${i}.pem`);
      ok(await inkan(['audit', 'public-key', '--out', pem], env));
      ok(await inkan(['audit', 'verify', out, '--public-key', pem], env));
    }
    const asAuditor = await srv.login(AUDITOR.username, AUDITOR.password);
    for (const q of ['from=0', 'from=x', 'since=yesterday', 'from=2&since=2026-01-01T00:00:00Z', 'chain=no-such-node', 'color=red', 'from=1&from=2']) {
      const r = await asAuditor('GET', `/v1/audit/export?${q}`);
      assert.equal(r.status, 400, q);
      assert.equal(r.body.error.code, 'BAD_REQUEST', q);
    }
  } finally { await srv.close(); fs.rmSync(work, { recursive: true, force: true }); }
});

test('rows deleted from the database while the server was down: verify --after names the truncation', async () => {
  const dir = tempDir();
  const work = tempDir();
  const start = () => startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: createLogger(() => undefined) });
  try {
    let srv = await start();
    const env = await withAuditor({ ...srv, dir, logs: [], login: (u, p) => loginTo(srv.url, u, p) });
    const user = srv.credentials!.user;
    for (let i = 0; i < 5; i++) ok(await inkan(['key', 'generate', '--type', 'ec', '--label', `k${i}`], { INKAN_SERVER: srv.url, INKAN_USER: user.username, INKAN_PASSWORD: user.password }));
    const earlier = path.join(work, 'earlier.ndjson');
    const pem = path.join(work, 'audit.pem');
    ok(await inkan(['audit', 'export', '--out', earlier], env));
    ok(await inkan(['audit', 'public-key', '--out', pem], env));
    await srv.close();

    // The attacker, with the file and the server stopped: the newest records and every
    // checkpoint that names them go.
    const db = new Database(path.join(dir, fs.readdirSync(dir).find((f) => f.endsWith('.db'))!));
    const { seq } = db.prepare('SELECT MAX(seq) AS seq FROM audit').get() as { seq: number };
    db.prepare('DELETE FROM audit WHERE seq > ?').run(seq - 6);
    db.prepare('DELETE FROM audit_checkpoints WHERE seq > ?').run(seq - 6);
    db.close();

    srv = await start();
    env.INKAN_SERVER = srv.url;
    // The module checks its anchor file at unseal and says so in its status.
    const status = await (await fetch(`${srv.url}/v1/status`)).json() as { problem?: string };
    assert.match(status.problem ?? '', /cut|rolled back/, 'the module names the cut chain itself');
    // Whether or not it still lets the auditor export, the export does not verify after the earlier one.
    const later = path.join(work, 'later.ndjson');
    const exp = await inkan(['audit', 'export', '--out', later], env);
    await srv.close();
    if (exp.code === 0) {
      const r = await inkan(['audit', 'verify', later, '--public-key', pem, '--after', earlier], env);
      assert.equal(r.code, 1, r.out);
      // The restarted module may append again (unseal, logins), growing the log back past the
      // earlier checkpoint with other records: then it is a rewrite, not a shorter log.
      assert.match(r.out, /TAMPERED: (truncated: the log now ends at seq \d+, before|rolled back or rewritten: record \d+ differs from) the earlier checkpoint/);
    }
  } finally { fs.rmSync(dir, { recursive: true, force: true }); fs.rmSync(work, { recursive: true, force: true }); }
});

async function loginTo(url: string, username: string, password: string) {
  const res = await fetch(`${url}/v1/login`, { method: 'POST', body: JSON.stringify({ username, password }) });
  const { token } = await res.json() as { token: string };
  return async (method: string, p: string, body?: unknown) => {
    const r = await fetch(`${url}${p}`, { method, headers: { authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };
}
