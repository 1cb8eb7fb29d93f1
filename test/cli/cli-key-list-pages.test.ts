// `inkan key list` over more keys than one page of the admin API (1,000): the table is printed
// page by page (one header, aligned to the first page), every key once; --output json gathers
// every page into one document sorted by label, as for a short list; filters apply to every page.
// The expected ids are what the core said it created.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { devServer, TestServer } from '../helpers/harness';
import { keyGenPlan } from '../../src/api/admin/key-spec';
import { CliResult, inkan } from './cli-helpers';

let srv: TestServer;
let asUser: Record<string, string>;
const made = new Set<string>();
const N = 1205;

const ok = (r: CliResult) => { assert.equal(r.code, 0, `exit ${r.code}: ${r.err}${r.out.slice(0, 300)}`); return r; };

before(async () => {
  srv = await devServer();
  const u = srv.credentials!.user;
  asUser = { INKAN_SERVER: srv.url, INKAN_USER: u.username, INKAN_PASSWORD: u.password };
  const caller = srv.hsm.callerOf(await srv.hsm.login(u.username, u.password), 'internal');
  const plan = (i: number) => keyGenPlan({ type: 'aes', label: `bulk-${String(i).padStart(4, '0')}` });
  for (let i = 0; i < N; i += 100) {
    const batch = await Promise.all(Array.from({ length: Math.min(100, N - i) }, (_, j) => {
      const p = plan(i + j);
      return srv.hsm.keys.generateKey(caller, p.mechanism, p.template);
    }));
    for (const o of batch) made.add(o.id);
  }
});
after(async () => { await srv?.close(); });

test('a long table: one header, every key once, columns aligned', async () => {
  const lines = ok(await inkan(['key', 'list'], asUser)).out.trimEnd().split('\n');
  assert.match(lines[0], /^ID +LABEL +CLASS +TYPE +USAGE +STATE +OWNER$/);
  assert.equal(lines.filter((l) => l.startsWith('ID ')).length, 1, 'one header');
  const labelAt = lines[0].indexOf('LABEL');
  const ids = lines.slice(1).map((l) => l.split(/\s+/)[0]);
  assert.equal(new Set(ids).size, ids.length, 'no key twice');
  for (const id of made) assert.ok(ids.includes(id), `key ${id} listed`);
  for (const l of lines.slice(1)) if (l.includes('bulk-')) assert.equal(l.indexOf('bulk-'), labelAt, `aligned: ${l}`);
});

test('json gathers every page, sorted by label; filters apply across pages', async () => {
  const keys = JSON.parse(ok(await inkan(['--json', 'key', 'list', '--label', 'bulk-*'], asUser)).out).keys as { id: string; label: string }[];
  assert.equal(keys.length, N);
  assert.deepEqual(new Set(keys.map((k) => k.id)), made);
  const labels = keys.map((k) => k.label);
  assert.deepEqual(labels, [...labels].sort((a, b) => a.localeCompare(b)));
  const tail = ok(await inkan(['key', 'list', '--label', 'bulk-12*'], asUser)).out.trimEnd().split('\n');
  assert.equal(tail.length, 1 + 5, 'header and bulk-1200…1204');
  assert.match(ok(await inkan(['key', 'list', '--label', 'none-*'], asUser)).out, /^\(no keys\)$/m);
});
