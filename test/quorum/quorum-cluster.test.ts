// Quorum in a cluster: two `inkan serve` nodes on one PostgreSQL. A value set on one node binds
// the other at once; a token requested on node A is approved on node B; and the same token
// presented to both nodes at the same moment is used exactly once.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { initCluster, OFFICER, startNode, stopNodes, type Node } from '../cluster/cluster-helpers';
import { keyPair, signView } from './helpers';

type Http = (method: string, p: string, body?: unknown, quorumToken?: string) => Promise<{ status: number; body: any }>;

async function session(url: string, username: string, password: string): Promise<Http> {
  const r = await fetch(`${url}/v1/login`, { method: 'POST', body: JSON.stringify({ username, password }) });
  const { token } = await r.json() as { token: string };
  assert.ok(token, `login ${username} on ${url}`);
  return async (method, p, body, quorumToken) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, ...(quorumToken ? { 'x-inkan-quorum-token': quorumToken } : {}) };
    const res = await fetch(`${url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };
}

let pg: TestPostgres;
let a: Node;
let b: Node;
let o1a: Http;
let o1b: Http;
let o2b: Http;
let k2: { privateKey: crypto.KeyObject; publicPem: string };

before(async () => {
  pg = await startPostgres();
  [a, b] = await Promise.all([startNode(pg.url, 'node-a'), startNode(pg.url, 'node-b')]);
  await initCluster([a, b]);
  o1a = await session(a.url, OFFICER.username, OFFICER.password);
  k2 = keyPair('p256');
  assert.equal((await o1a('POST', '/v1/users', { username: 'o2', role: 'officer', password: 'officer-two-pw-1', publicKey: k2.publicPem })).status, 201);
  assert.equal((await o1a('POST', '/v1/users', { username: 'cu', role: 'user', password: 'crypto-user-pw-1' })).status, 201);
  o1b = await session(b.url, OFFICER.username, OFFICER.password);
  o2b = await session(b.url, 'o2', 'officer-two-pw-1');
});
after(async () => { await stopNodes([a, b]); await pg?.stop(); });

test('a value set on node A binds node B at once; a token asked on A is approved on B; two nodes use it once', async () => {
  assert.equal((await o1a('POST', '/v1/quorum/values', { service: 'user-management', value: 2 })).status, 200);
  const refused = await o1b('POST', '/v1/users/cu/unlock', {});
  assert.equal(refused.body.error?.code, 'QUORUM_TOKEN_REQUIRED', JSON.stringify(refused.body));

  const req = await o1a('POST', '/v1/quorum/tokens', { operation: 'user.unlock', args: { username: 'cu' } });
  assert.equal(req.status, 201, JSON.stringify(req.body));
  const id = req.body.body.id as string;
  const view = await o2b('GET', `/v1/quorum/tokens/${id}`);
  assert.equal((await o2b('POST', `/v1/quorum/tokens/${id}/approve`, { signature: signView(view.body, k2.privateKey) })).status, 200);

  const results = await Promise.all([o1a('POST', '/v1/users/cu/unlock', {}, id), o1b('POST', '/v1/users/cu/unlock', {}, id),
    o1a('POST', '/v1/users/cu/unlock', {}, id), o1b('POST', '/v1/users/cu/unlock', {}, id)]);
  assert.equal(results.filter((r) => r.status === 200).length, 1, JSON.stringify(results.map((r) => r.body)));
  for (const r of results.filter((x) => x.status !== 200)) assert.equal(r.body.error?.code, 'QUORUM_TOKEN_USED', JSON.stringify(r.body));
});
