// GET /metrics, /healthz and /readyz on a dev server: counters and histograms move with the
// right labels after real admin-API operations, gauges follow the store and the module state,
// readiness follows seal/unseal and audit failures, and no username, key label or id leaks.
// The exposition is read back with parse-prometheus-text-format, not with prom-client.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import parsePrometheus, { ParsedFamily } from 'parse-prometheus-text-format';
import { devServer, TestServer } from '../helpers/harness';
import { DEV_KEY_FILE } from '../../src/runtime/dev-mode';

type Labels = Record<string, string>;
type Api = Awaited<ReturnType<TestServer['login']>>;

class Scrape {
  readonly families: ParsedFamily[];
  /** Histograms as the Prometheus server stores them: plain _bucket/_sum/_count series. The parser
   *  drops the labels of labelled histograms (yunyu/parse-prometheus-text-format#13), so their
   *  TYPE lines are left out of this second parse; counters and gauges parse the same either way. */
  readonly series: ParsedFamily[];
  constructor(readonly text: string) {
    this.families = parsePrometheus(text);
    this.series = parsePrometheus(text.split('\n').filter((l) => !/^# TYPE \S+ histogram$/.test(l)).join('\n'));
  }
  family(name: string): ParsedFamily {
    const f = this.families.find((x) => x.name === name);
    assert.ok(f, `metric ${name} is exported`);
    return f;
  }
  /** The value of the one sample of `name` whose labels include `labels` (0 if none). */
  value(name: string, labels: Labels = {}): number {
    // Untyped, each histogram's bucket/sum/count runs come back as several families of one name.
    const families = this.series.filter((x) => x.name === name);
    assert.ok(families.length, `series ${name} is exported`);
    const hits = families.flatMap((f) => f.metrics).filter((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    assert.ok(hits.length <= 1, `${name} ${JSON.stringify(labels)} names one series`);
    return hits.length ? Number(hits[0].value) : 0;
  }
  labelValues(): string[] {
    return this.families.flatMap((f) => f.metrics.flatMap((m) => Object.values(m.labels ?? {})));
  }
}

let server: TestServer;
const USERNAME = 'metrics-alice-93d1';
const PASSWORD = 'Metrics-Password-6f0c2b8e';

async function scrape(): Promise<Scrape> {
  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return new Scrape(text);
}
const get = async (p: string) => {
  const res = await fetch(`${server.url}${p}`);
  return { status: res.status, body: await res.json() as any };
};

before(async () => {
  server = await devServer();
  const officer = await server.login(server.credentials!.officer.username, server.credentials!.officer.password);
  assert.equal((await officer('POST', '/v1/users', { username: USERNAME, password: PASSWORD, role: 'user' })).status, 201);
  await officer('POST', '/v1/logout');
});
after(async () => { await server?.close(); });

test('operations, latencies, sessions, objects and state are exported with the right labels, and nothing secret', async () => {
  const before = await scrape();
  const failedLogin = await fetch(`${server.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username: USERNAME, password: 'wrong-password' }) });
  assert.equal(failedLogin.status, 401);
  const api: Api = await server.login(USERNAME, PASSWORD);
  const signing = await api('POST', '/v1/keys', { type: 'ec', label: 'metrics-label-signing-c41d', ckaId: 'a1b2c3d4e5f60718' });
  const verifyOnly = await api('POST', '/v1/keys', { type: 'ec', label: 'metrics-label-verify-only-77e2', usage: ['verify'] });
  assert.equal(signing.status, 201, JSON.stringify(signing.body));
  assert.equal(verifyOnly.status, 201, JSON.stringify(verifyOnly.body));
  const data = Buffer.from('metrics test data').toString('base64');
  assert.equal((await api('POST', '/v1/keys/metrics-label-signing-c41d/sign', { data })).status, 200);
  const refused = await api('POST', '/v1/keys/metrics-label-verify-only-77e2/sign', { data });
  assert.ok(refused.status >= 400 && refused.status < 500, JSON.stringify(refused.body));
  const after = await scrape();

  const delta = (name: string, labels: Labels = {}) => after.value(name, labels) - before.value(name, labels);
  const op = (operation: string, mechanism: string, outcome: string) => ({ face: 'admin', operation, mechanism, outcome });
  assert.equal(delta('inkan_operations_total', op('key.generate', 'CKM_EC_KEY_PAIR_GEN', 'success')), 2);
  assert.equal(delta('inkan_operations_total', op('key.sign', 'CKM_ECDSA_SHA256', 'success')), 1);
  assert.equal(delta('inkan_operations_total', op('key.sign', 'CKM_ECDSA_SHA256', 'failure')), 1);
  assert.equal(delta('inkan_operations_total', op('user.login', 'none', 'success')), 1);
  assert.equal(delta('inkan_operations_total', op('user.login', 'none', 'failure')), 1);
  assert.equal(delta('inkan_operation_errors_total', { face: 'admin', operation: 'key.sign', code: refused.body.error.code }), 1);
  assert.equal(after.family('inkan_operations_total').type, 'COUNTER');

  assert.equal(after.family('inkan_operation_duration_seconds').type, 'HISTOGRAM');
  const sign = { face: 'admin', operation: 'key.sign' };
  assert.equal(delta('inkan_operation_duration_seconds_count', sign), 2);
  assert.equal(after.value('inkan_operation_duration_seconds_bucket', { ...sign, le: '+Inf' }), after.value('inkan_operation_duration_seconds_count', sign));
  assert.ok(delta('inkan_operation_duration_seconds_sum', sign) > 0);
  assert.equal(delta('inkan_operation_duration_seconds_count', { face: 'admin', operation: 'key.generate' }), 2);

  // Two key pairs more, by class; nothing else changed.
  assert.equal(delta('inkan_objects', { class: 'CKO_PRIVATE_KEY' }), 2);
  assert.equal(delta('inkan_objects', { class: 'CKO_PUBLIC_KEY' }), 2);
  assert.equal(delta('inkan_objects', { class: 'CKO_SECRET_KEY' }), 0);
  assert.equal(after.value('inkan_objects', { class: 'CKO_PRIVATE_KEY' }), await server.hsm.store.count('objects', { cls: 3 }));

  for (const s of ['uninitialized', 'sealed', 'error']) assert.equal(after.value('inkan_module_state', { state: s }), 0);
  assert.equal(after.value('inkan_module_state', { state: 'unsealed' }), 1);
  assert.equal(after.value('inkan_self_tests_passed'), 1);
  assert.equal(after.value('inkan_self_tests_failed'), 0);
  assert.equal(after.value('inkan_audit_write_failures_total'), 0);
  assert.equal(after.value('inkan_audit_last_write_failed'), 0);
  assert.equal(after.value('inkan_audit_records'), (await server.hsm.status()).audit.records);
  assert.ok(delta('inkan_audit_records') >= 6, 'every audited call added a record');
  assert.equal(after.value('inkan_sessions', { face: 'admin' }), 1);
  assert.ok(after.value('inkan_http_open_connections') >= 1, 'the scrape itself is an open connection');
  assert.ok(after.value('inkan_http_connections_total') >= 1);
  assert.ok(after.families.some((f) => f.name === 'process_cpu_user_seconds_total'), 'default process metrics are on the registry');
  assert.ok(after.families.some((f) => f.name === 'nodejs_eventloop_lag_seconds'), 'default Node.js metrics are on the registry');

  // Nothing that names a person or a key.
  const forbidden = [USERNAME, PASSWORD, 'metrics-label-signing-c41d', 'metrics-label-verify-only-77e2', 'a1b2c3d4e5f60718',
    signing.body.key.id, signing.body.publicKey.id, verifyOnly.body.key.id, server.credentials!.officer.password, server.credentials!.user.password];
  for (const f of forbidden) assert.ok(!after.text.includes(f), `the exposition must not contain ${f}`);
  const people = new Set([USERNAME, server.credentials!.officer.username, server.credentials!.user.username]);
  for (const v of after.labelValues()) assert.ok(!people.has(v), `no label value is a username (${v})`);
});

test('readyz follows seal and unseal; healthz stays 200', async () => {
  assert.deepEqual(await get('/readyz'), { status: 200, body: { ready: true, state: 'unsealed' } });
  assert.equal((await get('/healthz')).status, 200);

  const officer = await server.login(server.credentials!.officer.username, server.credentials!.officer.password);
  assert.equal((await officer('POST', '/v1/seal')).status, 200);
  const sealed = await get('/readyz');
  assert.equal(sealed.status, 503);
  assert.equal(sealed.body.ready, false);
  assert.equal(sealed.body.state, 'sealed');
  assert.match(sealed.body.reason, /sealed/);
  assert.equal((await get('/healthz')).status, 200);
  const m = await scrape();
  assert.equal(m.value('inkan_module_state', { state: 'sealed' }), 1);
  assert.equal(m.value('inkan_module_state', { state: 'unsealed' }), 0);
  assert.equal(m.value('inkan_sessions', { face: 'admin' }), 0, 'sealing ends every admin session');
  assert.ok(m.value('inkan_objects', { class: 'CKO_PRIVATE_KEY' }) >= 2, 'object counts need no key');

  const share = fs.readFileSync(path.join(server.dir, DEV_KEY_FILE), 'utf8').split('\n').find((l) => l.startsWith('inkan-share-'));
  const res = await fetch(`${server.url}/v1/unseal`, { method: 'POST', body: JSON.stringify({ share }) });
  assert.equal(res.status, 200);
  assert.deepEqual(await get('/readyz'), { status: 200, body: { ready: true, state: 'unsealed' } });
  assert.equal((await scrape()).value('inkan_module_state', { state: 'unsealed' }), 1);
});

test('an audit write failure shows in metrics and readyz until a write succeeds again', async () => {
  // A real-looking fault of the store's write path: every commit fails (the audit chain lives there).
  const store = server.hsm.store as unknown as { commit: unknown };
  store.commit = async () => { throw new Error('disk full (test)'); };
  const api = await fetch(`${server.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username: USERNAME, password: PASSWORD }) });
  assert.equal(api.status >= 500, true, 'a login whose record cannot be written is refused');
  const failing = await get('/readyz');
  assert.equal(failing.status, 503);
  assert.match(failing.body.reason, /audit/);
  assert.ok(!JSON.stringify(failing.body).includes('disk full'), 'the store error text stays out of the probe');
  const m = await scrape();
  assert.ok(m.value('inkan_audit_write_failures_total') >= 1);
  assert.equal(m.value('inkan_audit_last_write_failed'), 1);
  assert.equal(m.value('inkan_operation_errors_total', { face: 'admin', operation: 'user.login', code: 'AUDIT_FAILED' }), 1);

  delete (store as { commit?: unknown }).commit; // back to the prototype's method
  await server.login(USERNAME, PASSWORD);
  assert.equal((await get('/readyz')).status, 200);
  assert.equal((await scrape()).value('inkan_audit_last_write_failed'), 0);
});

test('the operational paths answer GET and HEAD only', async () => {
  for (const p of ['/metrics', '/healthz', '/readyz']) {
    const res = await fetch(`${server.url}${p}`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 405, p);
    assert.equal(res.headers.get('allow'), 'GET, HEAD');
    await res.arrayBuffer();
    assert.equal((await fetch(`${server.url}${p}`, { method: 'HEAD' })).status, 200, p);
  }
});
