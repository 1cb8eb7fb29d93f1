// GET /v1/keys in pages (issue 16: the key list's cost must not grow with the partition): every
// key the caller can see comes back exactly once across the pages — its own, those shared with
// it — whatever the page size, with keys deleted or added between pages; a key of another user
// never; the page size is bounded; a continuation token altered, made up, or replayed by another
// user is refused. The expected set is what the core said it created, not another listing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { devServer, TestServer } from '../helpers/harness';
import { keyGenPlan } from '../../src/api/admin/key-spec';
import type { Caller } from '../../src/core/principal';

let srv: TestServer;
type Client = Awaited<ReturnType<TestServer['login']>>;
let asUser: Client;
let asOther: Client;
let user: Caller;
let other: Caller;
let userId: string;
/** Every object id the user can see (made by it, or shared with it), as the core returned them. */
const expected = new Set<string>();
/** Objects of the other user not shared with the user. */
const foreign = new Set<string>();

async function make(caller: Caller, label: string, ec: boolean): Promise<string[]> {
  const plan = keyGenPlan(ec ? { type: 'ec', label } : { type: 'aes', label });
  if (!plan.pair) return [(await srv.hsm.keys.generateKey(caller, plan.mechanism, plan.template)).id];
  const p = await srv.hsm.keys.generateKeyPair(caller, plan.mechanism, plan.publicTemplate, plan.template);
  return [p.privateKey.id, p.publicKey.id];
}

/** Every page, following `next`; returns the ids in order and the number of pages. */
async function listAll(client: Client, limit?: number, between?: (page: number) => Promise<void>): Promise<{ ids: string[]; pages: number }> {
  const ids: string[] = [];
  let pages = 0;
  for (let next: string | undefined, first = true; first || next; first = false) {
    const q = [limit !== undefined ? `limit=${limit}` : '', next ? `next=${encodeURIComponent(next)}` : ''].filter(Boolean).join('&');
    const r = await client('GET', `/v1/keys${q ? '?' + q : ''}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    if (limit !== undefined) assert.ok(r.body.keys.length <= limit, `a page holds at most ${limit}`);
    ids.push(...r.body.keys.map((k: { id: string }) => k.id));
    next = r.body.next;
    pages++;
    if (next && between) await between(pages);
  }
  return { ids, pages };
}

before(async () => {
  srv = await devServer();
  const c = srv.credentials!;
  const officer = srv.hsm.callerOf(await srv.hsm.login(c.officer.username, c.officer.password), 'internal');
  await srv.hsm.users.create(officer, 'pager2', 'user', 'pager2-password');
  user = srv.hsm.callerOf(await srv.hsm.login(c.user.username, c.user.password), 'internal');
  other = srv.hsm.callerOf(await srv.hsm.login('pager2', 'pager2-password'), 'internal');
  userId = user.principal!.id;
  asUser = await srv.login(c.user.username, c.user.password);
  asOther = await srv.login('pager2', 'pager2-password');
  // Keys the dev server made for its own faces (KMS, Key Vault, XKS) are the user's too.
  for (const id of (await listAll(asUser, 1000)).ids) expected.add(id);
  for (let i = 0; i < 40; i++) for (const id of await make(user, `pg-${i}`, i % 7 === 0)) expected.add(id);
  for (let i = 0; i < 6; i++) {
    const ids = await make(other, `other-${i}`, false);
    if (i < 3) {
      const o = await srv.hsm.lookup.get(other, ids[0]);
      await srv.hsm.keys.share(other, o, userId, true);
      expected.add(ids[0]);
    } else foreign.add(ids[0]);
  }
});
after(async () => { await srv?.close(); });

test('every visible key comes back exactly once, whatever the page size', async () => {
  for (const limit of [1, 3, 7, 50, 1000, undefined]) {
    const { ids, pages } = await listAll(asUser, limit);
    assert.equal(new Set(ids).size, ids.length, `no key twice (limit ${limit})`);
    assert.deepEqual(new Set(ids), expected, `exactly the keys the user can see (limit ${limit})`);
    for (const f of foreign) assert.ok(!ids.includes(f), 'another user\'s unshared key is never listed');
    if (limit === 1) assert.ok(pages >= expected.size, 'one key per page');
  }
});

test('a small list is one page without a continuation token; the default page is the maximum', async () => {
  const r = await asOther('GET', '/v1/keys');
  assert.equal(r.status, 200);
  assert.equal(r.body.keys.length >= 6, true);
  assert.equal(r.body.next, undefined);
  const big = await asUser('GET', '/v1/keys?limit=1000');
  assert.equal(big.body.next, undefined);
  assert.equal(big.body.keys.length, expected.size);
});

test('keys deleted and made between pages: the survivors once each, the new ones at most once', async () => {
  const doomed = await make(user, 'pg-doomed', false);
  const fresh: string[] = [];
  const { ids } = await listAll(asUser, 5, async (page) => {
    if (page === 2) await srv.hsm.keys.destroy(user, await srv.hsm.lookup.get(user, doomed[0]));
    if (page === 3) fresh.push(...await make(user, 'pg-fresh', false));
  });
  assert.equal(new Set(ids).size, ids.length, 'no key twice');
  for (const id of expected) assert.ok(ids.includes(id), `key ${id} listed`);
  for (const f of foreign) assert.ok(!ids.includes(f));
  for (const id of fresh) expected.add(id);
});

test('the page size is bounded: 1 to 1000, whole numbers only', async () => {
  for (const bad of ['0', '1001', '-1', '1.5', 'ten', '', '100000000']) {
    const r = await asUser('GET', `/v1/keys?limit=${bad}`);
    assert.equal(r.status, 400, `limit=${bad}`);
    assert.equal(r.body.error.code, 'BAD_REQUEST');
  }
});

test('a continuation token altered, made up or replayed by another user is refused', async () => {
  const r = await asUser('GET', '/v1/keys?limit=2');
  const token: string = r.body.next;
  assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  const ok = await asUser('GET', `/v1/keys?limit=2&next=${encodeURIComponent(token)}`);
  assert.equal(ok.status, 200);
  const [body, tag] = token.split('.');
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  // A position of one's own choosing: phase 0, after the empty id, with the old tag.
  const forged = Buffer.from(JSON.stringify({ p: 0, a: '' })).toString('base64url');
  const bad = [flip(token, 0), flip(token, token.length - 1), `${forged}.${tag}`, body, `${body}.`, `${token}.x`, 'x'.repeat(600), '%%%', `${body}.${tag.slice(1)}`];
  for (const t of bad) {
    const res = await asUser('GET', `/v1/keys?limit=2&next=${encodeURIComponent(t)}`);
    assert.equal(res.status, 400, `token ${t.slice(0, 40)}`);
    assert.equal(res.body.error.code, 'MARKER_INVALID');
  }
  const stolen = await asOther('GET', `/v1/keys?limit=2&next=${encodeURIComponent(token)}`);
  assert.equal(stolen.status, 400, 'bound to the user it was given to');
  assert.equal(stolen.body.error.code, 'MARKER_INVALID');
});
