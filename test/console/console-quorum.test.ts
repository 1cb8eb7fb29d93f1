// The console's Quorum page in a real browser (Debian's Chromium through playwright-core) against a
// real dev server: officer o1 requests a user.create token through the API; officer o2 signs in to
// the console, sees it listed and in full exactly as `inkan quorum show` prints it, and approves
// with its key file (made by `inkan user keygen`, P-256, so the page's DER encoding is exercised)
// picked with setInputFiles; the module counts the approval and o1's user.create then succeeds.
// A wrong key file (another officer's, and a non-key) is refused with a clear message and counts
// nothing. The page's port of the canonical encoding gives token.ts's bytes, and its signatures
// verify with node:crypto on the public key (a second implementation).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { devServer, TestServer } from '../helpers/harness';
import { inkan } from '../cli/cli-helpers';
import { canonicalBytes, type TokenBody } from '../../src/quorum-token/token';
import { session, type Call } from '../quorum/helpers';
import { launch, screenshot, signIn } from './browser';

let srv: TestServer;
let browser: Browser;
let dir: string;
let o1: Call;
let o1env: Record<string, string>;
const PW = 'second-officer-pw-1';
const contexts: BrowserContext[] = [];

async function cli(args: string[], env: Record<string, string>): Promise<string> {
  const r = await inkan(args, env);
  assert.equal(r.code, 0, `inkan ${args.join(' ')}: ${r.out} ${r.err}`);
  return r.out;
}

before(async () => {
  srv = await devServer();
  dir = fs.mkdtempSync(path.join(srv.dir, 'keys-'));
  const c = srv.credentials!.officer;
  o1env = { INKAN_SERVER: srv.url, INKAN_USER: c.username, INKAN_PASSWORD: c.password };
  await cli(['user', 'keygen', '--out', path.join(dir, 'o1.key')], o1env);
  await cli(['user', 'keygen', '--type', 'p256', '--out', path.join(dir, 'o2.key')], o1env);
  await cli(['user', 'keygen', '--out', path.join(dir, 'o3.key')], o1env);
  await cli(['user', 'register-key', '--public-key', path.join(dir, 'o1.key.pub')], o1env);
  o1 = await session(srv, c.username, c.password);
  for (const n of ['o2', 'o3']) {
    const r = await o1('POST', '/v1/users', { username: n, role: 'officer', password: PW, publicKey: fs.readFileSync(path.join(dir, `${n}.key.pub`), 'utf8') });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  assert.equal((await o1('POST', '/v1/quorum/values', { service: 'user-management', value: 2 })).status, 200);
  browser = await launch();
});

after(async () => {
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.close();
});

async function open(): Promise<{ page: Page; errors: string[]; dialogs: string[] }> {
  const context = await browser.newContext();
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  const dialogs: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => { dialogs.push(d.message()); void d.accept(); });
  await page.goto(`${srv.url}/`);
  return { page, errors, dialogs };
}

test('quorum: o2 sees o1\'s user.create token in full and approves it with its key file; the operation then succeeds', async () => {
  const req = await o1('POST', '/v1/quorum/tokens', { operation: 'user.create', args: { username: 'carol', role: 'user' } });
  assert.equal(req.status, 201, JSON.stringify(req.body));
  const id = req.body.body.id as string;
  // Without approvals the operation is refused.
  assert.equal((await o1('POST', '/v1/users', { username: 'carol', role: 'user', password: 'carol-password-1' }, id)).body.error.code, 'QUORUM_UNDER_SIGNED');
  const again = await o1('POST', '/v1/quorum/tokens', { operation: 'user.create', args: { username: 'carol', role: 'user' } });
  const tokenId = again.body.body.id as string;
  assert.notEqual(tokenId, id);

  const { page, errors, dialogs } = await open();
  await signIn(page, 'o2', PW);
  await page.getByRole('link', { name: 'Quorum' }).click();
  const row = page.locator(`#tokens tr[data-token="${tokenId}"]`);
  await row.waitFor();
  assert.match(await row.innerText(), /user\.create/);
  assert.match(await row.innerText(), /carol/);
  assert.match(await row.innerText(), new RegExp(srv.credentials!.officer.username));
  assert.equal(await row.locator('td.approvals').innerText(), '1 / 2');
  await row.getByRole('link').click();
  await page.locator('#token-text').waitFor();
  // Exactly what the CLI shows for the same token.
  const shown = await cli(['quorum', 'show', tokenId], { INKAN_SERVER: srv.url, INKAN_USER: 'o2', INKAN_PASSWORD: PW });
  assert.equal(await page.locator('#token-text').textContent(), shown.trimEnd());
  await screenshot(page, 'quorum');

  // A wrong key file: another officer's key (o3's, valid Ed25519) — the module refuses the signature.
  const form = page.locator('#approve-token');
  await form.getByLabel('Your private signing key').setInputFiles(path.join(dir, 'o3.key'));
  await form.getByRole('button', { name: 'Approve' }).click();
  await page.locator('#notice.error', { hasText: 'does not verify with your registered signing key' }).waitFor();
  // Not a key at all: refused in the page, nothing posted.
  await form.getByLabel('Your private signing key').setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a key') });
  await form.getByRole('button', { name: 'Approve' }).click();
  await page.locator('#notice.error', { hasText: 'not a PEM Ed25519 or P-256 private key' }).waitFor();
  assert.equal((await o1('GET', `/v1/quorum/tokens/${tokenId}`)).body.count, 1, 'no approval counted');

  // o2's own key (P-256, as inkan user keygen wrote it): counted.
  const posted: string[] = [];
  page.on('request', (r) => { if (r.method() === 'POST') posted.push(r.postData() ?? ''); });
  await form.getByLabel('Your private signing key').setInputFiles(path.join(dir, 'o2.key'));
  await form.getByRole('button', { name: 'Approve' }).click();
  await page.locator('#notice', { hasText: 'Approved: 2 of 2.' }).waitFor();
  assert.ok(dialogs.some((d) => d.includes(`token      ${tokenId}`)), 'the officer confirmed the token in full');
  const view = (await o1('GET', `/v1/quorum/tokens/${tokenId}`)).body;
  assert.equal(view.count, 2);
  assert.equal(view.approvals[0].username, 'o2');
  // Only the signature was posted, never the key; it verifies with node:crypto on o2's public key (DER ECDSA).
  const last = JSON.parse(posted[posted.length - 1]);
  assert.deepEqual(Object.keys(last), ['signature']);
  for (const p of posted) assert.ok(!p.includes('PRIVATE KEY') && !p.includes(fs.readFileSync(path.join(dir, 'o2.key'), 'utf8').split('\n')[1]));
  const pub = crypto.createPublicKey(fs.readFileSync(path.join(dir, 'o2.key.pub')));
  assert.ok(crypto.verify('sha256', Buffer.from(view.canonical, 'base64'), pub, Buffer.from(last.signature, 'base64')));

  const made = await o1('POST', '/v1/users', { username: 'carol', role: 'user', password: 'carol-password-1' }, tokenId);
  assert.equal(made.status, 201, JSON.stringify(made.body));
  assert.deepEqual(errors, []);
});

test('quorum: the page\'s canonical encoding gives token.ts\'s bytes; a server lying about them is refused', async () => {
  const { page } = await open();
  await signIn(page, 'o3', PW);
  const bodies: TokenBody[] = [
    { scheme: 'inkan-quorum-token-1', id: 'a1', partition: 'default', service: 'user-management', operation: 'user.create', args: { username: 'zoë "x"\n', role: 'user', z: [1, -2, { b: null, a: true }], n: 9007199254740991 }, requester: { id: 'u1', username: 'o1' }, required: 2, created: '2026-01-01T00:00:00.000Z', expires: '2026-01-01T00:15:00.000Z', nonce: 'n\u2028' },
    { scheme: 'inkan-quorum-token-1', id: 'b2', partition: 'p-2', service: 'audit-policy', operation: 'policy.set', args: { '\u00e9': 'é', B: 'x', a: { c: { d: [] } } }, requester: { id: 'u2', username: 'ünï' }, required: 3, created: 'c', expires: 'e', nonce: '\ud83d\ude00' },
  ];
  for (const body of bodies) {
    // A string, so the compiler leaves the browser's import() alone.
    const b64 = await page.evaluate(`import('/ui/quorum-token.js').then((m) => m.toBase64(m.canonicalBytes(${JSON.stringify(body)})))`) as string;
    assert.equal(b64, canonicalBytes(body).toString('base64'));
  }
  assert.equal(await page.evaluate(`import('/ui/quorum-token.js').then((m) => { try { m.canonicalJson({ x: 1.5 }); return 'accepted'; } catch (e) { return String(e); } })`),
    'TypeError: only integers are allowed in token arguments');

  // The server (here: an answer rewritten on its way) shows one operation and sends other bytes: not signed.
  const req = await o1('POST', '/v1/quorum/tokens', { operation: 'user.delete', args: { username: 'o2' } });
  const id = req.body.body.id as string;
  await page.route(`**/v1/quorum/tokens/${id}`, async (route) => {
    const res = await route.fetch();
    const v = await res.json();
    v.body.args.username = 'someone-else';
    await route.fulfill({ response: res, json: v });
  });
  let posted = 0;
  page.on('request', (r) => { if (r.method() === 'POST' && r.url().includes('/approve')) posted++; });
  await page.goto(`${srv.url}/ui/#/quorum/${id}`);
  const form = page.locator('#approve-token');
  await form.getByLabel('Your private signing key').setInputFiles(path.join(dir, 'o3.key'));
  await form.getByRole('button', { name: 'Approve' }).click();
  await page.locator('#notice.error', { hasText: 'do not match the token it shows: not signed' }).waitFor();
  assert.equal(posted, 0);
  assert.equal((await o1('GET', `/v1/quorum/tokens/${id}`)).body.count, 1);
});
