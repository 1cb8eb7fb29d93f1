// The web console end to end in a real browser (Debian's Chromium, headless, through
// playwright-core) against a real dev server, and a production-mode module for unsealing: each
// role's flows, the session cookie's flags, CSRF refusals, the CSP (and that it blocks inline
// script), a key label that tries XSS rendered as text, the idle timeout, the audit chain verified
// in the page (checked against the offline verifier) with a tampered export's first bad record
// highlighted, and unsealing with shares from two custodians' browsers. One browser for the file.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { devServer, opensslOk, tempDir, TestServer } from '../helpers/harness';
import { startServer } from '../../src/server';
import { createLogger } from '../../src/logger';
import { verifyExport } from '../../src/audit-chain/verify';
import { launch, screenshot, signIn } from './browser';

// page.evaluate bodies run in the page; the project compiles without the DOM library.
declare const document: any;
declare const window: any;

interface Account { username: string; password: string }
let srv: TestServer;
let browser: Browser;
let creds: { officer: Account; user: Account; auditor: Account };
type Client = Awaited<ReturnType<TestServer['login']>>;
let asOfficer: Client;
let asUser: Client;
const contexts: BrowserContext[] = [];

before(async () => {
  srv = await devServer();
  creds = JSON.parse(fs.readFileSync(path.join(srv.dir, 'dev-credentials.json'), 'utf8'));
  asOfficer = await srv.login(creds.officer.username, creds.officer.password);
  asUser = await srv.login(creds.user.username, creds.user.password);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await srv?.close();
});

/** A fresh browser profile (its own cookies) with dialogs accepted and page errors collected. */
async function open(url = srv.url, setup?: (c: BrowserContext, p: Page) => Promise<void>): Promise<{ context: BrowserContext; page: Page; errors: string[] }> {
  const context = await browser.newContext({ acceptDownloads: true });
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => { void d.accept(); });
  if (setup) await setup(context, page);
  await page.goto(`${url}/`);
  return { context, page, errors };
}

async function* chunks(text: string) { yield text; }

const sessionCookie = async (context: BrowserContext) => (await context.cookies()).find((c) => c.name === 'inkan_session');

async function apiWithCookie(method: string, p: string, cookie: string, headers: Record<string, string> = {}, body?: unknown) {
  const r = await fetch(`${srv.url}${p}`, { method, headers: { cookie: `inkan_session=${cookie}`, ...headers }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: r.status, body: await r.json() as any };
}

test('GET / redirects to the console, served with a strict CSP that blocks inline script', async () => {
  const seen: Record<string, string>[] = [];
  const { page, errors } = await open(srv.url, async (_c, p) => {
    p.on('response', (r) => { if (r.url().endsWith('/ui/')) seen.push(r.headers()); });
  });
  assert.equal(new URL(page.url()).pathname, '/ui/');
  await page.locator('#sign-in').waitFor();
  const headers = seen[0];
  assert.ok(headers, 'the console page was fetched');
  const csp = headers['content-security-policy'];
  assert.match(csp, /default-src 'self'/);
  assert.match(csp, /script-src 'self'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(headers['x-content-type-options'], 'nosniff');
  assert.equal(headers['x-frame-options'], 'DENY');
  assert.equal(headers['referrer-policy'], 'no-referrer');
  // The page as served has no inline script, no inline style and no handler attributes.
  const html = await (await fetch(`${srv.url}/ui/`)).text();
  for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
    assert.match(m[1], /\bsrc="/, 'every script is a file');
    assert.equal(m[2].trim(), '', 'no inline script');
  }
  assert.doesNotMatch(html, /\son[a-z]+=|\sstyle=|<style/i);
  // And the browser enforces the policy: an injected inline script does not run.
  const violated = await page.evaluate(() => new Promise<string>((resolve) => {
    document.addEventListener('securitypolicyviolation', (e: any) => resolve(e.effectiveDirective), { once: true });
    const s = document.createElement('script');
    s.textContent = 'window.__inline = 1';
    document.body.append(s);
  }));
  assert.match(violated, /^script-src/);
  assert.equal(await page.evaluate(() => window.__inline), undefined);
  assert.deepEqual(errors, []);
});

test('officer: sign in (HttpOnly SameSite=Strict cookie), manage users, CSRF refused, sign out', async () => {
  const { context, page, errors } = await open();
  await signIn(page, creds.officer.username, creds.officer.password);
  const cookie = await sessionCookie(context);
  assert.ok(cookie, 'a session cookie');
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, 'Strict');
  assert.equal(cookie.secure, false, 'plain HTTP (loopback only): not Secure; TLS is tested in console-http');
  assert.equal(cookie.path, '/');
  assert.equal(await page.evaluate(() => document.cookie), '', 'the page cannot read its session');
  await page.locator('#module-state', { hasText: 'unsealed' }).waitFor();
  assert.match(await page.locator('#self-tests').innerText(), /self-tests passed/);
  await screenshot(page, 'module');
  if (process.env.INKAN_CONSOLE_SCREENSHOTS) {
    await page.emulateMedia({ colorScheme: 'dark' });
    await screenshot(page, 'module-dark');
    await page.emulateMedia({ colorScheme: 'light' });
  }

  await page.getByRole('link', { name: 'Users' }).click();
  const create = page.locator('#create-user');
  await create.getByLabel('Username').fill('carol');
  await create.getByLabel('Role').selectOption('user');
  await create.getByLabel('Password').fill('carol-password-1');
  await create.getByRole('button', { name: 'Create user' }).click();
  const carol = page.locator('tr[data-user="carol"]');
  await carol.waitFor();
  assert.equal(await create.getByLabel('Password').inputValue(), '', 'the password is not kept in the form');
  assert.doesNotMatch(await page.content(), /carol-password-1/);
  // Lock: the module refuses carol's login; unlock: it accepts it again.
  await carol.getByRole('button', { name: 'Lock carol' }).click();
  await page.locator('tr[data-user="carol"] td.error', { hasText: 'locked' }).waitFor();
  const login = async (u: string, p: string) => (await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username: u, password: p }) })).json() as Promise<any>;
  assert.equal((await login('carol', 'carol-password-1')).error?.code, 'ACCOUNT_LOCKED');
  await page.locator('tr[data-user="carol"]').getByRole('button', { name: 'Unlock carol' }).click();
  await page.locator('tr[data-user="carol"]').getByRole('button', { name: 'Lock carol' }).waitFor();
  assert.ok((await login('carol', 'carol-password-1')).token);
  // Reset the password: the old one stops working, the new one works.
  await page.locator('tr[data-user="carol"] summary').click();
  await page.getByLabel('New password for carol').fill('carol-password-2');
  await page.getByRole('button', { name: 'Set password' }).click();
  await page.locator('#notice', { hasText: 'Password of carol reset' }).waitFor();
  assert.equal((await login('carol', 'carol-password-1')).error?.code, 'LOGIN_FAILED');
  assert.ok((await login('carol', 'carol-password-2')).token);
  // An auditor made and deleted.
  await create.getByLabel('Username').fill('dave');
  await create.getByLabel('Role').selectOption('auditor');
  await create.getByLabel('Password').fill('dave-password-1');
  await create.getByRole('button', { name: 'Create user' }).click();
  await page.locator('tr[data-user="dave"] td', { hasText: /^auditor$/ }).waitFor();
  await screenshot(page, 'users');
  await page.locator('tr[data-user="dave"]').getByRole('button', { name: 'Delete dave' }).click();
  await page.locator('tr[data-user="dave"]').waitFor({ state: 'detached' });
  assert.ok(!(await asOfficer('GET', '/v1/users')).body.users.some((u: any) => u.username === 'dave'));

  // CSRF: the page's own cookie, but no token (or a wrong one), is refused before anything happens.
  const forged = await page.evaluate(async () => {
    const noToken = await fetch('/v1/users', { method: 'POST', body: JSON.stringify({ username: 'mallory', role: 'officer', password: 'mallory-password' }) });
    const wrong = await fetch('/v1/users', { method: 'POST', headers: { 'x-inkan-csrf': 'A'.repeat(43) }, body: JSON.stringify({ username: 'mallory', role: 'officer', password: 'mallory-password' }) });
    return [noToken.status, ((await noToken.json()) as any).error.code, wrong.status, ((await wrong.json()) as any).error.code];
  });
  assert.deepEqual(forged, [403, 'CSRF_REJECTED', 403, 'CSRF_REJECTED']);
  assert.ok(!(await asOfficer('GET', '/v1/users')).body.users.some((u: any) => u.username === 'mallory'));

  // Sign out ends the session in the module, not only in the page.
  await page.locator('#sign-out').click();
  await page.locator('#sign-in').waitFor();
  assert.equal(await sessionCookie(context), undefined);
  assert.equal((await apiWithCookie('GET', '/v1/users', cookie.value)).status, 401);
  assert.deepEqual(errors, []);
});

test('crypto user: generate (an XSS label stays text), detail, public key PEM download, share, unshare, delete, paging', async () => {
  await asOfficer('POST', '/v1/users', { username: 'erin', role: 'user', password: 'erin-password-1' });
  const asErin = await srv.login('erin', 'erin-password-1');
  const { page, errors } = await open();
  await signIn(page, creds.user.username, creds.user.password);
  await page.getByRole('link', { name: 'Keys' }).click();
  const gen = page.locator('#generate-key');
  const evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>';
  await gen.getByLabel('Type').selectOption('aes');
  await gen.getByLabel('Label').fill(evil);
  await gen.getByRole('button', { name: 'Generate' }).click();
  await page.locator('#detail-title').waitFor();
  const label = page.locator('#keys .key-label').filter({ hasText: 'onerror' });
  assert.equal(await label.textContent(), evil, 'the label is shown as the text it is');
  assert.equal(await page.locator('main img, main script').count(), 0);
  assert.equal(await page.evaluate(() => window.__xss), undefined);

  await gen.getByLabel('Type').selectOption('ec');
  await gen.getByLabel('Curve (EC)').selectOption('P-256');
  await gen.getByLabel('Label').fill('console-ec');
  await gen.getByRole('button', { name: 'Generate' }).click();
  await page.locator('#detail-title', { hasText: 'console-ec' }).waitFor();
  assert.match(await page.locator('#key-detail').innerText(), /private-key[\s\S]*\bec\b/);
  await screenshot(page, 'keys');
  // The PEM the browser downloads verifies a signature the module makes (checked by openssl).
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#download-public').click()]);
  const dir = tempDir('inkan-console-');
  const pemFile = path.join(dir, 'ec.pub.pem');
  await download.saveAs(pemFile);
  assert.match(fs.readFileSync(pemFile, 'utf8'), /^-----BEGIN PUBLIC KEY-----\n/);
  const data = Buffer.from('signed by the module, checked with the downloaded PEM');
  const signed = await asUser('POST', '/v1/keys/console-ec/sign', { data: data.toString('base64'), mechanism: 'CKM_ECDSA_SHA256' });
  assert.equal(signed.status, 200, JSON.stringify(signed.body));
  fs.writeFileSync(path.join(dir, 'data'), data);
  fs.writeFileSync(path.join(dir, 'sig'), Buffer.from(signed.body.signature, 'base64'));
  assert.ok(opensslOk(['dgst', '-sha256', '-verify', pemFile, '-signature', path.join(dir, 'sig'), path.join(dir, 'data')]));
  fs.rmSync(dir, { recursive: true, force: true });

  // Share with erin: erin can use it; unshare: erin cannot.
  const keyId = (await asUser('GET', '/v1/keys/console-ec')).body.key.id as string;
  await page.locator('#share-form').getByLabel('Share with crypto user').fill('erin');
  await page.locator('#share-form').getByRole('button', { name: 'Share' }).click();
  await page.locator('#shared-with li', { hasText: 'erin' }).waitFor();
  assert.equal((await asErin('GET', `/v1/keys/${keyId}`)).status, 200);
  await page.getByRole('button', { name: 'Stop sharing with erin' }).click();
  await page.locator('p#shared-with', { hasText: 'Nobody' }).waitFor();
  assert.notEqual((await asErin('GET', `/v1/keys/${keyId}`)).status, 200);
  await page.locator('#delete-key').click();
  await page.locator('#notice', { hasText: 'Deleted console-ec' }).waitFor();
  assert.equal((await asUser('GET', `/v1/keys/${keyId}`)).status, 404);

  // Paging and filters over many keys: one page of rows in the DOM at a time.
  for (let i = 0; i < 120; i += 20) {
    await Promise.all(Array.from({ length: 20 }, (_, j) => asUser('POST', '/v1/keys', { type: 'aes', label: `bulk-${String(i + j).padStart(4, '0')}` })));
  }
  await page.reload();
  await page.locator('#keys').waitFor();
  const total = (await asUser('GET', '/v1/keys')).body.keys.length as number;
  assert.ok(total >= 121);
  assert.equal(await page.locator('#keys caption').innerText(), `${total} keys`);
  assert.equal(await page.locator('#keys tbody tr').count(), 50);
  assert.equal(await page.locator('#page-of').innerText(), `Page 1 of ${Math.ceil(total / 50)}`);
  await page.locator('#next-page').click();
  assert.equal(await page.locator('#page-of').innerText(), `Page 2 of ${Math.ceil(total / 50)}`);
  await page.getByLabel('Search').fill('bulk-0119');
  await page.locator('#keys caption', { hasText: /^1 key$/ }).waitFor();
  assert.equal(await page.locator('#keys tbody tr').count(), 1);
  await page.getByLabel('Search').fill('');
  await page.getByLabel('Key type').selectOption('ec');
  await page.locator('#keys caption', { hasText: /^0 keys$/ }).waitFor();
  assert.deepEqual(errors, []);
});

test('a crypto user cannot reach officer pages or officer API calls by URL', async () => {
  const { page } = await open();
  await signIn(page, creds.user.username, creds.user.password);
  assert.equal(await page.locator('#nav a', { hasText: 'Users' }).count(), 0);
  await page.goto(`${srv.url}/ui/#/users`);
  await page.locator('.refused').waitFor();
  assert.equal(await page.locator('#users').count(), 0);
  const answers = await page.evaluate(async () => {
    const s: any = await (await fetch('/ui/session')).json();
    const list = await fetch('/v1/users');
    const make = await fetch('/v1/users', { method: 'POST', headers: { 'x-inkan-csrf': s.csrf }, body: JSON.stringify({ username: 'x', role: 'officer', password: 'x-password-123' }) });
    const seal = await fetch('/v1/seal', { method: 'POST', headers: { 'x-inkan-csrf': s.csrf }, body: '{}' });
    return [list.status, ((await list.json()) as any).error.code, make.status, ((await make.json()) as any).error.code, seal.status];
  });
  assert.deepEqual(answers, [403, 'FORBIDDEN', 403, 'FORBIDDEN', 403]);
});

test('auditor: the timeline shows the use, the chain verifies in the page, a tampered export is flagged at its first bad record', async () => {
  const { page, errors } = await open();
  await signIn(page, creds.auditor.username, creds.auditor.password);
  await page.getByRole('link', { name: 'Audit' }).click();
  await page.locator('#load-audit').click();
  await page.locator('#audit-verdict.ok').waitFor();
  assert.match(await page.locator('#audit-verdict').innerText(), /^Verified in this browser/);
  // The crypto user's key generations are in the timeline.
  await page.getByLabel('Operation').fill('key.generate');
  await page.getByLabel('Operation').dispatchEvent('change');
  await page.getByLabel('Actor').fill(creds.user.username);
  await page.getByLabel('Actor').dispatchEvent('change');
  const ops = await page.locator('#audit tbody tr td:nth-child(7)').allInnerTexts();
  assert.ok(ops.length > 0 && ops.every((o) => o.startsWith('key.generate')), ops.join(','));
  await screenshot(page, 'audit');

  // The export the page offers is the module's, and the offline verifier agrees it is sound.
  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#export-audit').click()]);
  const text = fs.readFileSync(await download.path(), 'utf8');
  const { pem } = (await (await fetch(`${srv.url}/v1/audit/public-key`)).json()) as { pem: string };
  assert.equal((await verifyExport(chunks(text), { publicKey: pem })).ok, true);

  // Edit one record in the middle: the page names it, and so does the offline verifier.
  const lines = text.trimEnd().split('\n').map((l) => JSON.parse(l));
  const records = lines.filter((l) => l.type === 'record');
  const victim = records[Math.floor(records.length / 2)];
  victim.actor = 'somebody-else';
  const tampered = lines.map((l) => JSON.stringify(l)).join('\n') + '\n';
  const offline = await verifyExport(chunks(tampered), { publicKey: pem });
  assert.equal(offline.ok, false);
  assert.equal(offline.findings[0].seq, victim.seq);
  await page.locator('#audit-file').setInputFiles({ name: 'tampered.ndjson', mimeType: 'application/x-ndjson', buffer: Buffer.from(tampered) });
  await page.locator('#audit-verdict.bad').waitFor();
  assert.match(await page.locator('#audit-verdict').innerText(), new RegExp(`record ${victim.seq} was edited`));
  // The filters still hide it; the verdict's button clears them and brings the row into view.
  await page.locator('#goto-bad').click();
  const bad = page.locator('#audit tbody tr.bad');
  assert.equal(await bad.count(), 1);
  assert.equal(await bad.getAttribute('data-seq'), String(victim.seq));
  assert.equal(await bad.getAttribute('aria-invalid'), 'true');
  assert.ok(await bad.isVisible());
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-seq')), String(victim.seq), 'the bad row has the focus');
  await screenshot(page, 'audit-tampered');

  // A forged checkpoint signature is flagged too.
  const forged = text.replace(/("type":"final"[^\n]*"signature":")([A-Za-z0-9+/])/, (_, a: string, ch: string) => a + (ch === 'A' ? 'B' : 'A'));
  assert.notEqual(forged, text);
  await page.locator('#audit-file').setInputFiles({ name: 'forged.ndjson', mimeType: 'application/x-ndjson', buffer: Buffer.from(forged) });
  await page.locator('#audit-verdict.bad', { hasText: 'invalid signature' }).waitFor();
  assert.deepEqual(errors, []);
});

test('activity: the module\'s own metrics, live: operations made elsewhere appear in the tables and the chart', async () => {
  const { page, errors } = await open();
  await signIn(page, creds.user.username, creds.user.password);
  await page.getByRole('link', { name: 'Activity' }).click();
  await page.locator('#by-face').waitFor();
  const made = await asUser('POST', '/v1/keys', { type: 'ec', curve: 'P-384', label: 'activity-ec' });
  assert.equal(made.status, 201);
  const N = 12;
  for (let i = 0; i < N; i++) {
    const r = await asUser('POST', '/v1/keys/activity-ec/sign', { data: Buffer.from(`m${i}`).toString('base64'), mechanism: 'CKM_ECDSA_SHA384' });
    assert.equal(r.status, 200);
  }
  // The page polls every 2 s: the mechanism's total is exactly the signatures made here.
  const row = page.locator('#by-mechanism tbody tr', { has: page.locator('th', { hasText: /^CKM_ECDSA_SHA384$/ }) });
  await row.locator('td').first().filter({ hasText: new RegExp(`^${N}$`) }).waitFor({ timeout: 10_000 });
  assert.ok(await page.locator('#by-face th', { hasText: /^admin$/ }).count() === 1);
  const signLatency = page.locator('#latency tbody tr', { has: page.locator('th', { hasText: /^key\.sign$/ }) });
  assert.ok(Number(await signLatency.locator('td').first().innerText()) >= N, 'the latency histogram counts the signatures');
  assert.match(await signLatency.locator('td').nth(1).innerText(), /^≤ [\d.]+ (ms|s)$/, 'a p50');
  assert.ok(await page.locator('svg.chart polyline').count() >= 1, 'a line per face');
  assert.match(await page.locator('#objects').innerText(), /objects: CKO_PRIVATE_KEY\t[1-9]/);
  if (process.env.INKAN_CONSOLE_SCREENSHOTS) {
    // A few more points of the live chart, with some load, for the picture.
    for (let i = 0; i < 40; i++) await asUser('POST', '/v1/keys/activity-ec/sign', { data: 'AAAA', mechanism: 'CKM_ECDSA_SHA384' });
    await page.waitForTimeout(6000);
    await screenshot(page, 'activity');
  }
  assert.deepEqual(errors, []);
});

test('keyboard only: sign-in and the menu work without a pointer; each page heading takes the focus', async () => {
  const { page } = await open();
  await page.locator('#sign-in').waitFor();
  assert.equal(await page.evaluate(() => `${document.activeElement?.tagName} ${document.activeElement?.textContent}`), 'H1 Module');
  const focusName = () => page.evaluate(() => document.activeElement?.getAttribute('name'));
  // Tab to the username field, type, tab to the password, type, Enter submits.
  for (let i = 0; i < 10 && (await focusName()) !== 'username'; i++) await page.keyboard.press('Tab');
  assert.equal(await focusName(), 'username');
  await page.keyboard.type(creds.officer.username);
  await page.keyboard.press('Tab');
  assert.equal(await focusName(), 'password');
  await page.keyboard.type(creds.officer.password);
  await page.keyboard.press('Enter');
  await page.locator('#sign-out').waitFor();
  await page.locator('#nav a', { hasText: 'Users' }).focus();
  await page.keyboard.press('Enter');
  await page.locator('#users').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Users');
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1');
});

test('idle timeout: the console signs out after the idle time and the module forgets the session', async () => {
  const { context, page } = await open(srv.url, async (_c, p) => { await p.clock.install(); });
  await signIn(page, creds.officer.username, creds.officer.password);
  const cookie = (await sessionCookie(context))!;
  assert.equal((await apiWithCookie('GET', '/v1/users', cookie.value)).status, 200);
  await page.clock.fastForward('14:00');
  assert.equal(await page.locator('#sign-out').count(), 1, 'still signed in before the idle time');
  await page.clock.fastForward('01:05');
  await page.locator('#notice', { hasText: 'Signed out after 15 minutes without activity' }).waitFor();
  await page.locator('#sign-in').waitFor();
  assert.equal((await apiWithCookie('GET', '/v1/users', cookie.value)).status, 401);
});

test('production module: the officer seals it; two custodians unseal it with their shares from their own browsers', async () => {
  const dir = tempDir('inkan-console-prod-');
  const prod = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, loginDelayMs: 0, log: createLogger(() => {}) });
  try {
    const init = await (await fetch(`${prod.url}/v1/init`, { method: 'POST', body: JSON.stringify({ shares: 3, threshold: 2, officerUsername: 'chief', officerPassword: 'chief-password-1' }) })).json() as { shares: string[] };
    assert.equal(init.shares.length, 3);
    let status = await (await fetch(`${prod.url}/v1/status`)).json() as any;
    if (status.sealed) {
      for (const s of init.shares.slice(0, 2)) await fetch(`${prod.url}/v1/unseal`, { method: 'POST', body: JSON.stringify({ share: s }) });
    }
    const officer = await open(prod.url);
    await signIn(officer.page, 'chief', 'chief-password-1');
    await officer.page.locator('#seal').click();
    await officer.page.locator('#module-state', { hasText: 'sealed' }).waitFor();
    status = await (await fetch(`${prod.url}/v1/status`)).json();
    assert.equal(status.sealed, true);

    const a = await open(prod.url);
    const b = await open(prod.url);
    await a.page.locator('#unseal-count', { hasText: '0 of 2 shares given' }).waitFor();
    // A wrong share is refused and counts nothing.
    await a.page.getByLabel('Your unseal share').fill('not-a-share');
    await a.page.getByRole('button', { name: 'Give share' }).click();
    await a.page.locator('#notice.error').waitFor();
    await a.page.getByLabel('Your unseal share').fill(init.shares[0]);
    await a.page.getByRole('button', { name: 'Give share' }).click();
    await a.page.locator('#unseal-count', { hasText: '1 of 2 shares given' }).waitFor();
    assert.equal(await a.page.getByLabel('Your unseal share').inputValue(), '', 'the share is not kept in the form');
    assert.doesNotMatch(await a.page.content(), new RegExp(init.shares[0].slice(0, 24).replace(/[^A-Za-z0-9]/g, '.')));
    await screenshot(a.page, 'unseal');
    // The second custodian's page follows the module's progress, then completes it.
    await b.page.locator('#unseal-count', { hasText: '1 of 2 shares given' }).waitFor({ timeout: 10_000 });
    await b.page.getByLabel('Your unseal share').fill(init.shares[2]);
    await b.page.getByRole('button', { name: 'Give share' }).click();
    await b.page.locator('#module-state', { hasText: 'unsealed' }).waitFor();
    await a.page.locator('#module-state', { hasText: 'unsealed' }).waitFor({ timeout: 10_000 });
    status = await (await fetch(`${prod.url}/v1/status`)).json();
    assert.equal(status.sealed, false);
  } finally {
    await prod.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
