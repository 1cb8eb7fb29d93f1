// Server duties: scheduled backups, tamper response (file watch and SIGUSR2), and the CLI's
// backup, zeroize and offline audit verification commands run as real processes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startServer } from '../../src/server';
import { createLogger, silentLogger } from '../../src/logger';
import { INKAN_BIN, tempDir } from '../helpers/harness';

async function until(cond: () => boolean, ms = 8000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('scheduled backups are written and only the newest N kept', async () => {
  const dir = tempDir();
  const backups = path.join(dir, 'bk');
  const server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger, backupEvery: '200ms', backupDir: backups, backupKeep: 2 });
  try {
    const written = new Set<string>();
    await until(() => { for (const f of fs.existsSync(backups) ? fs.readdirSync(backups) : []) written.add(f); return written.size >= 4; });
    const kept = fs.readdirSync(backups);
    assert.ok(kept.length <= 2 && kept.length >= 1, `kept ${kept.length}`);
    assert.ok(kept.every((f) => f.startsWith('inkan-backup-') && f.endsWith('.ikb')));
    assert.equal(fs.statSync(path.join(backups, kept[0])).mode & 0o777, 0o600);
  } finally { await server.close(); fs.rmSync(dir, { recursive: true, force: true }); }
});

test('a backup killed mid-write leaves only a temp file: never counted toward --backup-keep, removed by the next run', async () => {
  const dir = tempDir();
  const backups = path.join(dir, 'bk');
  fs.mkdirSync(backups, { mode: 0o700 });
  // What kill -9 during a write leaves: the temp file, truncated (the final name only ever
  // appears by rename, complete and fsynced).
  const leftover = path.join(backups, '.inkan-backup-2026-01-01T00-00-00-000Z.ikb.4242.1767225600000.tmp');
  fs.writeFileSync(leftover, 'truncat');
  const server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger, backupEvery: '200ms', backupDir: backups, backupKeep: 1 });
  try {
    const written = new Set<string>();
    await until(() => { for (const f of fs.readdirSync(backups)) if (f.endsWith('.ikb')) written.add(f); return written.size >= 2; });
    await until(() => !fs.existsSync(leftover));
    const kept = fs.readdirSync(backups).filter((f) => !f.endsWith('.tmp'));
    assert.equal(kept.length, 1, 'the leftover did not take the place of a real backup');
    assert.ok(fs.statSync(path.join(backups, kept[0])).size > 1000);
  } finally { await server.close(); fs.rmSync(dir, { recursive: true, force: true }); }
});

test('a data directory readable by others (0755) is tightened to 0700 at start, with a warning', async () => {
  const dir = tempDir();
  fs.chmodSync(dir, 0o755);
  const lines: string[] = [];
  const server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: createLogger((l) => lines.push(l)) });
  try {
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    const warning = lines.map((l) => JSON.parse(l)).find((l) => l.msg === 'data directory was readable by others: tightened to 0700');
    assert.equal(warning?.level, 'warn');
    for (const f of fs.readdirSync(dir).filter((n) => n.startsWith('inkan.db'))) assert.equal(fs.statSync(path.join(dir, f)).mode & 0o077, 0, `${f} is private`);
  } finally { await server.close(); fs.rmSync(dir, { recursive: true, force: true }); }
});

test('a tamper file zeroises the module without confirmation and removes the dev key file', async () => {
  const dir = tempDir();
  const tamper = path.join(dir, 'tamper');
  const server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger, tamperFile: tamper });
  try {
    assert.equal(server.hsm.state, 'unsealed');
    assert.ok(fs.existsSync(path.join(dir, 'dev-master-key.DEVELOPMENT-ONLY')));
    fs.writeFileSync(tamper, 'opened');
    await until(() => server.hsm.state === 'uninitialized');
    await until(() => !fs.existsSync(path.join(dir, 'dev-master-key.DEVELOPMENT-ONLY')));
  } finally { await server.close(); fs.rmSync(dir, { recursive: true, force: true }); }
});

test('SIGUSR2 zeroises the module', async () => {
  const dir = tempDir();
  const server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger });
  try {
    process.kill(process.pid, 'SIGUSR2');
    await until(() => server.hsm.state === 'uninitialized');
  } finally { await server.close(); fs.rmSync(dir, { recursive: true, force: true }); }
});

test('CLI: audit export verifies offline and a one-byte edit is caught; backup create and zeroize', async () => {
  const dir = tempDir();
  const server = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: silentLogger });
  const creds = server.credentials!;
  // Asynchronous: the server runs in this process, so a synchronous spawn would block it.
  const run = (args: string[], user: { username: string; password: string }) => new Promise<{ status: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [INKAN_BIN, ...args], { env: { ...process.env, INKAN_SERVER: server.url, INKAN_USER: user.username, INKAN_PASSWORD: user.password } },
      (err, stdout, stderr) => resolve({ status: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }));
  });
  try {
    assert.equal((await run(['key', 'generate', '--type', 'ec', '--label', 'k'], creds.user)).status, 0);
    const officer = { username: creds.officer.username, password: creds.officer.password };
    assert.equal((await run(['user', 'create', 'aud', '--role', 'auditor', '--password', 'auditor-password'], officer)).status, 0);
    const auditor = { username: 'aud', password: 'auditor-password' };
    const exportFile = path.join(dir, 'audit.json');
    const pub = path.join(dir, 'audit.pem');
    assert.equal((await run(['audit', 'export', '--out', exportFile], auditor)).status, 0);
    assert.equal((await run(['audit', 'public-key', '--out', pub], auditor)).status, 0);
    assert.notEqual((await run(['audit', 'export'], creds.user)).status, 0, 'a crypto user cannot read the audit log');
    const ok = (await run(['audit', 'verify', exportFile, '--public-key', pub, '--json'], auditor));
    assert.equal(ok.status, 0, ok.stdout + ok.stderr);
    assert.equal(JSON.parse(ok.stdout).ok, true);
    const text = fs.readFileSync(exportFile, 'utf8');
    const at = text.indexOf('"op":"key.generate"');
    assert.ok(at > 0);
    fs.writeFileSync(exportFile, text.slice(0, at + 10) + 'X' + text.slice(at + 11)); // key.generate → key.Xenerate
    const bad = (await run(['audit', 'verify', exportFile, '--public-key', pub], auditor));
    assert.equal(bad.status, 1);
    assert.match(bad.stdout, /TAMPERED: record \d+ was edited/);

    const backup = path.join(dir, 'domain.ikb');
    const b = (await run(['backup', 'create', backup], officer));
    assert.equal(b.status, 0, b.stderr);
    assert.ok(fs.statSync(backup).size > 100);
    const noConfirm = (await run(['zeroize', '--confirm', 'ZEROIZE', '--confirm-again', 'nope'], officer));
    assert.equal(noConfirm.status, 1);
    assert.equal(server.hsm.state, 'unsealed');
    const z = (await run(['zeroize', '--confirm', 'ZEROIZE', '--confirm-again', 'ZEROIZE'], officer));
    assert.equal(z.status, 0, z.stderr);
    assert.equal(server.hsm.state, 'uninitialized');
    const share = fs.existsSync(path.join(dir, 'dev-master-key.DEVELOPMENT-ONLY'));
    assert.equal(share, false);
  } finally { await server.close(); fs.rmSync(dir, { recursive: true, force: true }); }
});
