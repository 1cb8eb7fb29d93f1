// Partitions through the admin API and the real `inkan` CLI: the HSM officer creates, lists,
// resizes and deletes them; a partition's officer runs it (users, password rules) and cannot
// manage partitions; a partition's users never see another partition's keys (by id or label),
// the HSM officer never sees inside; max-objects is enforced; every step is in the audit trail;
// a deleted partition's users cannot log in and its rows are gone, its sealed values unopenable.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { devServer, type TestServer } from '../helpers/harness';
import { inkan, jsonError } from '../cli/cli-helpers';
import { adminLogin, ALICE_PASSWORD, loginCode, makePartition, PSO_PASSWORD, type Admin, type P1 } from './helpers';

describe('partitions: admin API and CLI', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let hsmOfficer: Admin;
  let devUser: Admin;
  let p1: P1;
  let cliEnv: Record<string, string>;

  before(async () => {
    srv = await devServer();
    const c = srv.credentials!;
    hsmOfficer = await adminLogin(srv.url, c.officer.username, c.officer.password);
    devUser = await adminLogin(srv.url, c.user.username, c.user.password);
    cliEnv = { INKAN_SERVER: srv.url, INKAN_USER: c.officer.username, INKAN_PASSWORD: c.officer.password };
  });
  after(async () => { await srv.close(); });

  test('the HSM officer creates a partition with its first officer through the CLI; list and show', async () => {
    const made = await inkan(['partition', 'create', 'p1', '--officer', 'pso', '--max-objects', '4', '--json'], { ...cliEnv, INKAN_NEW_PASSWORD: PSO_PASSWORD });
    assert.equal(made.code, 0, made.err + made.out);
    const info = JSON.parse(made.out);
    assert.equal(info.name, 'p1');
    assert.match(info.accountId, /^\d{12}$/);
    assert.match(info.serial, /^[0-9A-F]{16}$/);
    assert.equal(info.policy.maxObjects, 4);
    assert.equal(info.policy.approvedOnly, true, 'approved-only is on by default');
    const pso = await adminLogin(srv.url, 'pso', PSO_PASSWORD, 'p1');
    assert.equal((await pso('POST', '/v1/users', { username: 'alice', role: 'user', password: ALICE_PASSWORD })).status, 201);
    p1 = { id: info.id, slot: info.slot, serial: info.serial, accountId: info.accountId, pso, alice: await adminLogin(srv.url, 'alice', ALICE_PASSWORD, 'p1') };

    const list = await inkan(['partition', 'list'], cliEnv);
    assert.equal(list.code, 0, list.err);
    assert.match(list.out, /^default\s+1\s/m);
    assert.match(list.out, new RegExp(`^p1\\s+${info.slot}\\s+${info.serial}\\s+${info.accountId}\\s+2\\s+0\\s+4\\s+true`, 'm'));
    const show = await inkan(['partition', 'show', 'p1'], cliEnv);
    assert.equal(show.code, 0, show.err);
    assert.match(show.out, /approved-only\s+true/);
    assert.match(show.out, new RegExp(`KMS account ${info.accountId}`));
    // The default partition's account differs: each partition is its own account.
    const all = (await hsmOfficer('GET', '/v1/partitions')).body.partitions;
    assert.deepEqual(all.map((p: { name: string }) => p.name), ['default', 'p1']);
    assert.notEqual(all[0].accountId, info.accountId);
    assert.notEqual(all[0].serial, info.serial);
    // The same name twice is refused.
    const again = await hsmOfficer('POST', '/v1/partitions', { name: 'p1', officer: { username: 'x', password: PSO_PASSWORD } });
    assert.equal(again.body.error.code, 'PARTITION_EXISTS');
  });

  test('only HSM officers manage partitions; a partition officer shows only its own', async () => {
    for (const who of [p1.pso, p1.alice, devUser]) {
      assert.equal((await who('POST', '/v1/partitions', { name: 'p9', officer: { username: 'x', password: PSO_PASSWORD } })).body.error.code, 'FORBIDDEN');
      assert.equal((await who('GET', '/v1/partitions')).body.error.code, 'FORBIDDEN');
      assert.equal((await who('PATCH', '/v1/partitions/p1', { maxObjects: 100 })).body.error.code, 'FORBIDDEN');
      assert.equal((await who('DELETE', '/v1/partitions/p1')).body.error.code, 'FORBIDDEN');
    }
    const own = await p1.pso('GET', '/v1/partitions/p1');
    assert.equal(own.status, 200);
    assert.equal(own.body.id, p1.id);
    assert.equal((await p1.pso('GET', '/v1/partitions/default')).body.error.code, 'PARTITION_NOT_FOUND');
    // Through the CLI, logged in to the partition by name.
    const r = await inkan(['--partition', 'p1', '--user', 'pso', 'partition', 'show', 'p1', '--json'], { INKAN_SERVER: srv.url, INKAN_PASSWORD: PSO_PASSWORD });
    assert.equal(r.code, 0, r.err);
    assert.equal(JSON.parse(r.out).name, 'p1');
    const who = await inkan(['--partition', 'p1', '--user', 'pso', 'whoami', '--json'], { INKAN_SERVER: srv.url, INKAN_PASSWORD: PSO_PASSWORD });
    assert.equal(JSON.parse(who.out).partition, 'p1');
    // A user is looked up inside the named partition only.
    assert.equal(await loginCode(srv.url, 'pso', PSO_PASSWORD), 'LOGIN_FAILED', 'pso is no user of default');
    assert.equal(await loginCode(srv.url, srv.credentials!.officer.username, srv.credentials!.officer.password, 'p1'), 'LOGIN_FAILED', 'the HSM officer is no user of p1');
    assert.equal(await loginCode(srv.url, 'pso', PSO_PASSWORD, 'nope'), 'PARTITION_NOT_FOUND');
  });

  test('the partition officer sets its policy (password rules, approved-only) but not its size', async () => {
    const set = await p1.pso('POST', '/v1/policy', { passwordMin: 14, passwordClasses: 3 });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    const weak = await p1.pso('POST', '/v1/users', { username: 'bob', role: 'user', password: 'alllowercase-long' });
    assert.equal(weak.body.error.code, 'PASSWORD_POLICY');
    assert.equal((await p1.pso('POST', '/v1/users', { username: 'bob', role: 'user', password: 'Short1-pw' })).body.error.code, 'PASSWORD_POLICY');
    assert.equal((await p1.pso('POST', '/v1/users', { username: 'bob', role: 'auditor', password: 'Mixed-Case-99xx' })).status, 201);
    // The default partition keeps its own rules.
    const devOfficer = await adminLogin(srv.url, srv.credentials!.officer.username, srv.credentials!.officer.password);
    assert.equal((await devOfficer('POST', '/v1/users', { username: 'carol', role: 'user', password: 'alllowercase' })).status, 201);
    assert.equal((await p1.pso('POST', '/v1/policy', { maxObjects: 1000 })).body.error.code, 'FORBIDDEN');
    const shown = (await hsmOfficer('GET', '/v1/partitions/p1')).body;
    assert.equal(shown.policy.passwordMin, 14);
    assert.equal(shown.policy.passwordClasses, 3);
    assert.equal(shown.policy.maxObjects, 4);
  });

  test('keys of one partition are invisible to every other: by id, by label, to the HSM officer', async () => {
    const a = await p1.alice('POST', '/v1/keys', { type: 'aes', size: 256, label: 'same-label' });
    assert.equal(a.status, 201, JSON.stringify(a.body));
    const d = await devUser('POST', '/v1/keys', { type: 'aes', size: 256, label: 'same-label' });
    assert.equal(d.status, 201, JSON.stringify(d.body));
    const aliceKey = a.body.key.id as string;
    const devKey = d.body.key.id as string;
    assert.equal((await devUser('GET', `/v1/keys/${aliceKey}`)).status, 404);
    assert.equal((await p1.alice('GET', `/v1/keys/${devKey}`)).status, 404);
    assert.equal((await devUser('POST', `/v1/keys/${aliceKey}/encrypt`, { plaintext: 'aGVsbG8=' })).status, 404);
    // By label each sees its own key only.
    assert.equal((await p1.alice('GET', '/v1/keys/same-label')).body.key.id, aliceKey);
    assert.equal((await devUser('GET', '/v1/keys/same-label')).body.key.id, devKey);
    assert.deepEqual((await p1.alice('GET', '/v1/keys')).body.keys.map((k: { id: string }) => k.id), [aliceKey]);
    // The HSM officer cannot see or use a partition's key, nor can the partition's own officer use it.
    for (const officer of [hsmOfficer, p1.pso]) {
      const r = await officer('POST', `/v1/keys/${aliceKey}/encrypt`, { plaintext: 'aGVsbG8=' });
      assert.ok([403, 404].includes(r.status), JSON.stringify(r.body));
      assert.notEqual((await officer('GET', `/v1/keys/${aliceKey}`)).status, 200);
    }
  });

  test('max-objects is enforced, and the HSM officer resizes', async () => {
    // alice holds 1 object of 4.
    for (let i = 0; i < 3; i++) assert.equal((await p1.alice('POST', '/v1/keys', { type: 'aes', size: 128, label: `k${i}` })).status, 201);
    const over = await p1.alice('POST', '/v1/keys', { type: 'aes', size: 128, label: 'k-over' });
    assert.equal(over.body.error.code, 'QUOTA_EXCEEDED');
    assert.equal((await hsmOfficer('PATCH', '/v1/partitions/p1', { maxObjects: 3 })).body.error.code, 'BAD_REQUEST', 'not below what it holds');
    const r = await inkan(['partition', 'resize', 'p1', '--max-objects', '5'], cliEnv);
    assert.equal(r.code, 0, r.err);
    assert.equal((await p1.alice('POST', '/v1/keys', { type: 'aes', size: 128, label: 'k-over' })).status, 201);
    assert.equal((await p1.alice('POST', '/v1/keys', { type: 'aes', size: 128, label: 'k-over2' })).body.error.code, 'QUOTA_EXCEEDED');
  });

  test('the audit trail records each partition operation with its policy', async () => {
    const res = await fetch(`${srv.url}/v1/audit/export`, { headers: { authorization: (await tokenOf(srv.url, srv.credentials!.auditor)) } });
    const text = await res.text();
    const records = text.split('\n').filter(Boolean).map((l) => JSON.parse(l)).map((l) => l.record ?? l);
    const ops = (op: string) => records.filter((r) => JSON.stringify(r).includes(`"${op}"`));
    const created = ops('partition.create');
    assert.ok(created.length >= 1);
    assert.match(JSON.stringify(created), /approvedOnly=true/);
    assert.match(JSON.stringify(created), /maxObjects=4/);
    assert.ok(ops('partition.resize').length >= 1);
    assert.match(JSON.stringify(ops('partition.set-policy')), /passwordMin=14/);
    assert.doesNotMatch(text, new RegExp(PSO_PASSWORD), 'no password in the audit trail');
  });

  test('deleting: never default; a deleted partition\'s users, rows and sealing key are gone', async () => {
    assert.equal((await hsmOfficer('DELETE', '/v1/partitions/default')).body.error.code, 'FORBIDDEN');
    const store = srv.hsm.store;
    const before = await store.find('objects', { partition: p1.id });
    assert.ok(before.length >= 5);
    const sealed = before.find((r) => r.sealed)!;
    const refused = await inkan(['partition', 'delete', 'p1', '--confirm', 'p2', '--json'], cliEnv);
    assert.equal(jsonError(refused).code, 'BAD_ARGUMENT');
    const del = await inkan(['partition', 'delete', 'p1', '--confirm', 'p1', '--json'], cliEnv);
    assert.equal(del.code, 0, del.err + del.out);
    assert.ok(JSON.parse(del.out).purged >= 5);
    for (const table of ['objects', 'users', 'credentials', 'names', 'managed_keys'] as const) {
      assert.equal((await store.find(table, { partition: p1.id })).length, 0, `${table} of p1 are gone`);
    }
    assert.equal(await store.get('partitions', p1.id), undefined);
    assert.equal((await p1.alice('GET', '/v1/keys')).status, 401, 'the admin sessions of its users ended');
    assert.equal(await loginCode(srv.url, 'alice', ALICE_PASSWORD, 'p1'), 'PARTITION_NOT_FOUND');
    // Its sealing key is gone from the module: a sealed value kept from before opens no more.
    assert.throws(() => srv.hsm.requireKeys().partitionKey(p1.id), /not loaded/);
    const { unseal } = await import('../../src/keystore/seal');
    assert.throws(() => unseal(srv.hsm.requireKeys(), p1.id, sealed.id, 0x11, sealed.sealed!), /not loaded/);
    // The default partition is untouched.
    assert.equal((await devUser('GET', '/v1/keys/same-label')).status, 200);
    const list = (await hsmOfficer('GET', '/v1/partitions')).body.partitions;
    assert.deepEqual(list.map((p: { name: string }) => p.name), ['default']);
  });
});

async function tokenOf(url: string, who: { username: string; password: string }): Promise<string> {
  const r = await fetch(`${url}/v1/login`, { method: 'POST', body: JSON.stringify(who) });
  return `Bearer ${(await r.json() as { token: string }).token}`;
}
