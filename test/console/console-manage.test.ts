// The console's management pages in a real browser (Debian's Chromium through playwright-core)
// against a real dev server: a key's lifecycle (disable, enable, rotate, schedule deletion and
// cancel it) with its versions and use counts, checked against the module through the API; the
// key list over thousands of keys; an officer changing a user's role; the module's node list;
// the sign-in form's partition field; and the keyboard reaching the new controls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { devServer, tempDir, TestServer } from '../helpers/harness';
import { startPostgres } from '../helpers/postgres';
import { startServer, type RunningServer } from '../../src/server';
import { createLogger } from '../../src/logger';
import { keyGenPlan } from '../../src/api/admin/key-spec';
import { launch, screenshot, signIn } from './browser';

declare const document: any;

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
  for (const c of contexts) await c.close().catch(() => {});
  await browser?.close();
  await srv?.close();
});

async function open(): Promise<{ page: Page; errors: string[] }> {
  const context = await browser.newContext({ acceptDownloads: true });
  contexts.push(context);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('dialog', (d) => { void d.accept(); });
  await page.goto(`${srv.url}/`);
  return { page, errors };
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
const sign = (ref: string) => asUser('POST', `/v1/keys/${ref}/sign`, { data: b64('console'), mechanism: 'CKM_ECDSA_SHA256' });

test('keys: disable, enable, rotate, schedule deletion and cancel it; versions and use counts; the module agrees', async () => {
  const { page, errors } = await open();
  await signIn(page, creds.user.username, creds.user.password);
  await page.getByRole('link', { name: 'Keys' }).click();
  const gen = page.locator('#generate-key');
  await gen.getByLabel('Type').selectOption('ec');
  await gen.getByLabel('Label').fill('life-ec');
  await gen.getByRole('button', { name: 'Generate' }).click();
  await page.locator('#detail-title', { hasText: 'life-ec' }).waitFor();
  await page.locator('#key-state', { hasText: 'enabled' }).waitFor();
  assert.equal(await page.locator('#use-total').innerText(), '0');
  assert.equal(await page.locator('#versions tbody tr').count(), 1);
  // With no usage ticked the console asks for the CLI's defaults: the private half signs only.
  assert.deepEqual((await asUser('GET', '/v1/keys/life-ec')).body.key.usage, ['sign']);

  await page.locator('#disable-key').click();
  await page.locator('#key-state', { hasText: 'disabled' }).waitFor();
  assert.equal((await sign('life-ec')).body.error.code, 'KEY_DISABLED');
  assert.equal(await page.locator('#keys tr', { hasText: 'life-ec' }).locator('td.error', { hasText: 'disabled' }).count(), 1, 'the list row shows it');
  await page.locator('#enable-key').click();
  await page.locator('#key-state', { hasText: 'enabled' }).waitFor();
  for (let i = 0; i < 3; i++) assert.equal((await sign('life-ec')).status, 200);

  await page.locator('#rotate-key').click();
  await page.locator('#versions caption', { hasText: '2 versions' }).waitFor();
  const versions = (await asUser('GET', '/v1/keys/life-ec/versions')).body.versions;
  assert.equal(versions.length, 2);
  assert.equal(await page.locator('#versions tbody tr').last().locator('td').last().innerText(), 'current');
  assert.equal(await page.locator('#versions tbody tr').last().locator('td').first().innerText(), versions[1].id);
  // The uses made through the API meanwhile, counted from the audit trail.
  assert.equal(await page.locator('#use-total').innerText(), '3');
  assert.equal(await page.locator('#key-usage dd[data-op="key.sign"]').innerText(), '3');
  assert.match(await page.locator('#last-use').innerText(), /^sign through admin/);
  await screenshot(page, 'key-detail');

  await page.getByLabel('Waiting period (days, 7 to 30)').fill('7');
  await page.getByRole('button', { name: 'Schedule deletion' }).click();
  await page.locator('#key-state', { hasText: 'pending deletion' }).waitFor();
  const managed = (await asUser('GET', '/v1/keys/life-ec/managed')).body.key;
  assert.equal(managed.state, 'pending-deletion');
  assert.equal(managed.deletion.windowDays, 7);
  assert.equal((await sign('life-ec')).body.error.code, 'KEY_PENDING_DELETION');
  assert.equal(await page.locator('#rotate-key').count(), 0, 'only cancel is offered');
  await page.locator('#cancel-deletion').click();
  await page.locator('#key-state', { hasText: 'disabled' }).waitFor();
  assert.equal((await asUser('GET', '/v1/keys/life-ec/managed')).body.key.state, 'disabled');

  // The keyboard reaches the new controls: Tab to Enable and press Enter.
  await page.locator('#key-state').click();
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press('Tab');
    reached = await page.evaluate(() => document.activeElement?.id === 'enable-key');
  }
  assert.ok(reached, 'Enable is reached with Tab');
  await page.keyboard.press('Enter');
  await page.locator('#key-state', { hasText: 'enabled' }).waitFor();
  assert.equal((await sign('life-ec')).status, 200);

  // A key shared with another crypto user: it sees the state, not the owner's buttons.
  await asOfficer('POST', '/v1/users', { username: 'ivy', role: 'user', password: 'ivy-password-1' });
  assert.equal((await asUser('POST', '/v1/keys/life-ec/share', { user: 'ivy' })).status, 200);
  const ivy = await open();
  await signIn(ivy.page, 'ivy', 'ivy-password-1');
  const id = (await asUser('GET', '/v1/keys/life-ec')).body.key.id as string;
  await ivy.page.goto(`${srv.url}/ui/#/keys/${id}`);
  await ivy.page.locator('#key-state', { hasText: 'enabled' }).waitFor();
  assert.equal(await ivy.page.locator('#lifecycle').count(), 0);
  assert.equal(await ivy.page.locator('#delete-key, #share-form').count(), 0);
  assert.deepEqual([...errors, ...ivy.errors], []);
});

test('keys: thousands of keys — page 1 shows, the next page and a filter work', async () => {
  const N = 2500;
  const principal = await srv.hsm.login(creds.user.username, creds.user.password, 'admin', { partition: 'default', source: 'test' });
  const caller = srv.hsm.callerOf(principal, 'admin', { source: 'test' });
  const make = async (i: number) => {
    const plan = keyGenPlan({ type: 'aes', label: `many-${String(i).padStart(5, '0')}` });
    await srv.hsm.keys.generateKey(caller, plan.mechanism, plan.template, { uniqueLabel: true });
  };
  for (let i = 0; i < N; i += 50) await Promise.all(Array.from({ length: Math.min(50, N - i) }, (_, j) => make(i + j)));
  // The API answers in pages of 1,000 (`next`); the console follows them.
  let total = 0;
  for (let next: string | undefined, first = true; first || next; first = false) {
    const r = (await asUser('GET', `/v1/keys${next ? `?next=${encodeURIComponent(next)}` : ''}`)).body;
    assert.ok(r.keys.length <= 1000);
    total += r.keys.length as number;
    next = r.next;
  }
  assert.ok(total >= N);
  const { page, errors } = await open();
  await signIn(page, creds.user.username, creds.user.password);
  await page.getByRole('link', { name: 'Keys' }).click();
  await page.locator('#keys caption', { hasText: `${total} keys` }).waitFor({ timeout: 30_000 });
  const pages = Math.ceil(total / 50);
  assert.equal(await page.locator('#page-of').innerText(), `Page 1 of ${pages}`);
  assert.equal(await page.locator('#keys tbody tr').count(), 50, 'one page of rows in the DOM');
  const first = await page.locator('#keys tbody tr th').first().innerText();
  await page.locator('#next-page').click();
  assert.equal(await page.locator('#page-of').innerText(), `Page 2 of ${pages}`);
  assert.equal(await page.locator('#keys tbody tr').count(), 50);
  assert.notEqual(await page.locator('#keys tbody tr th').first().innerText(), first);
  await page.getByLabel('Search').fill('many-01234');
  await page.locator('#keys caption', { hasText: /^1 key$/ }).waitFor();
  assert.equal(await page.locator('#keys tbody tr th').innerText(), 'many-01234');
  await page.getByLabel('Search').fill('many-01');
  await page.locator('#keys caption', { hasText: /^1000 keys$/ }).waitFor();
  assert.equal(await page.locator('#page-of').innerText(), 'Page 1 of 20', 'a new filter starts at page 1');
  await page.locator('#keys .key-label', { hasText: 'many-01000' }).click();
  await page.locator('#detail-title', { hasText: 'many-01000' }).waitFor();
  assert.deepEqual(errors, []);
});

test('users: an officer changes a user\'s role; the module ends its sessions; a crypto user cannot by URL', async () => {
  await asOfficer('POST', '/v1/users', { username: 'jack', role: 'user', password: 'jack-password-1' });
  const asJack = await srv.login('jack', 'jack-password-1');
  assert.equal((await asJack('GET', '/v1/keys')).status, 200);
  const { page, errors } = await open();
  await signIn(page, creds.officer.username, creds.officer.password);
  await page.getByRole('link', { name: 'Users' }).click();
  const jack = page.locator('tr[data-user="jack"]');
  await jack.getByLabel('Role of jack', { exact: true }).selectOption('auditor');
  await jack.getByRole('button', { name: 'Change the role of jack' }).click();
  await page.locator('tr[data-user="jack"] td', { hasText: /^auditor$/ }).waitFor();
  assert.equal((await asOfficer('GET', '/v1/users')).body.users.find((u: any) => u.username === 'jack').role, 'auditor');
  assert.equal((await asJack('GET', '/v1/keys')).status, 401, 'its session ended');
  assert.equal(await page.locator(`tr[data-user="${creds.officer.username}"] .role-form`).count(), 0, 'no role control for oneself');

  // A crypto user: no Users page, and the role and cluster calls are refused by the module.
  const u = await open();
  await signIn(u.page, creds.user.username, creds.user.password);
  await u.page.goto(`${srv.url}/ui/#/users`);
  await u.page.locator('.refused').waitFor();
  assert.equal(await u.page.locator('.role-form').count(), 0);
  const answers = await u.page.evaluate(async () => {
    const s: any = await (await fetch('/ui/session')).json();
    const role = await fetch('/v1/users/jack/role', { method: 'POST', headers: { 'x-inkan-csrf': s.csrf }, body: JSON.stringify({ role: 'officer' }) });
    const nodes = await fetch('/v1/cluster');
    return [role.status, ((await role.json()) as any).error.code, nodes.status];
  });
  assert.deepEqual(answers, [403, 'FORBIDDEN', 403]);
  assert.equal((await asOfficer('GET', '/v1/users')).body.users.find((x: any) => x.username === 'jack').role, 'auditor');
  assert.equal(await u.page.locator('#nodes').count(), 0, 'crypto users do not see the node list');
  assert.deepEqual([...errors, ...u.errors], []);
});

test('module: the node list with health (the embedded store: this node alone)', async () => {
  const { page, errors } = await open();
  await signIn(page, creds.auditor.username, creds.auditor.password);
  const row = page.locator('#nodes tbody tr');
  await row.first().waitFor();
  assert.equal(await row.count(), 1);
  const cluster = (await (await srv.login(creds.auditor.username, creds.auditor.password))('GET', '/v1/cluster')).body;
  assert.equal(cluster.nodes.length, 1);
  const cells = await row.locator('th, td').allInnerTexts();
  assert.equal(cells[0], `${cluster.nodes[0].node} (this node)`);
  assert.equal(cells[3], 'alive');
  assert.match(await page.locator('#nodes caption').innerText(), /^1 node on the sqlite key store, 1 alive$/);
  assert.deepEqual(errors, []);
});

test('module: two nodes on one PostgreSQL store, each with its health; a stopped node is shown as not answering', async () => {
  const pg = await startPostgres();
  const dirs = [tempDir('inkan-console-pg-a-'), tempDir('inkan-console-pg-b-')];
  const nodes: RunningServer[] = [];
  try {
    for (const [i, name] of ['node-a', 'node-b'].entries()) {
      nodes.push(await startServer({ dataDir: dirs[i], host: '127.0.0.1', port: 0, store: pg.url, node: name, heartbeatMs: 300, loginDelayMs: 0, log: createLogger(() => {}) }));
    }
    const post = async (url: string, p: string, body: unknown) => (await fetch(`${url}${p}`, { method: 'POST', body: JSON.stringify(body) })).json() as Promise<any>;
    const init = await post(nodes[0].url, '/v1/init', { shares: 3, threshold: 2, officerUsername: 'chief', officerPassword: 'chief-password-1' });
    for (const n of nodes) for (const share of init.shares.slice(0, 2)) await post(n.url, '/v1/unseal', { share });
    const context = await browser.newContext();
    contexts.push(context);
    const page = await context.newPage();
    await page.goto(`${nodes[0].url}/`);
    await signIn(page, 'chief', 'chief-password-1');
    const rows = page.locator('#nodes tbody tr');
    await page.locator('#nodes caption', { hasText: '2 nodes on the postgres key store, 2 alive' }).waitFor({ timeout: 10_000 });
    assert.deepEqual((await rows.locator('th').allInnerTexts()).sort(), ['node-a (this node)', 'node-b']);
    assert.deepEqual(await rows.locator('td:nth-child(4)').allInnerTexts(), ['alive', 'alive']);
    assert.deepEqual(await rows.locator('td:nth-child(5)').allInnerTexts(), ['ok', 'ok'], 'heartbeats MACed under the domain');
    if (process.env.INKAN_CONSOLE_SCREENSHOTS) {
      await page.setViewportSize({ width: 1280, height: 800 });
      await page.evaluate(() => document.getElementById('nodes-title')?.scrollIntoView());
      await screenshot(page, 'module-cluster');
    }
    // node-b stops: its last heartbeat ages, and the page (polling every 5 s) says so.
    await nodes.pop()!.close();
    await page.locator('#nodes tr[data-node="node-b"] td', { hasText: 'not answering' }).waitFor({ timeout: 15_000 });
    assert.equal(await page.locator('#nodes tr[data-node="node-b"]').getAttribute('class'), 'failure');
    await page.locator('#nodes caption', { hasText: '2 nodes on the postgres key store, 1 alive' }).waitFor();
  } finally {
    for (const n of nodes) await n.close();
    await pg.stop();
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  }
});

test('sign-in: the partition goes in the body only when typed', async () => {
  const { page } = await open();
  const bodies: any[] = [];
  page.on('request', (r) => { if (r.url().endsWith('/ui/session') && r.method() === 'POST') bodies.push(JSON.parse(r.postData() ?? '{}')); });
  // A partition that does not exist: refused like a wrong password, and sent as typed.
  const form = page.locator('#sign-in');
  await form.getByLabel('Username').fill(creds.user.username);
  await form.getByLabel('Password').fill(creds.user.password);
  await form.getByLabel('Partition').fill('  nowhere ');
  await form.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#notice.error').waitFor();
  await form.getByLabel('Partition').fill('default');
  await signIn(page, creds.user.username, creds.user.password);
  await page.locator('#sign-out').click();
  await page.locator('#sign-in').waitFor();
  await page.locator('#sign-in').getByLabel('Partition').fill('');
  await signIn(page, creds.user.username, creds.user.password);
  assert.deepEqual(bodies.map((b) => [Object.keys(b).sort().join(','), b.partition]), [
    ['partition,password,username', 'nowhere'], ['partition,password,username', 'default'], ['password,username', undefined],
  ]);
  assert.ok(bodies.every((b) => b.password === creds.user.password));
});
