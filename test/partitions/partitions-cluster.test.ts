// Partitions in a cluster: two real `inkan serve` nodes on one real PostgreSQL. A partition made
// on node A is a PKCS#11 token on node B at once (pkcs11-tool through p11-kit-client.so on B's
// socket), with the same slot, label and serial, also after B restarts; deleted on A, its token
// is gone from B and nobody can log in to it on B.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { run, P11_KIT_CLIENT } from '../interop/p11-helpers';
import { p11Address } from '../../src/api/p11/listener';
import { call, initCluster, login, OFFICER, startNode, stopNodes, unseal, type Node } from '../cluster/cluster-helpers';
import * as path from 'node:path';
import { PSO_PASSWORD } from './helpers';

let pg: TestPostgres;
let a: Node;
let b: Node;
let shares: string[];

before(async () => {
  pg = await startPostgres();
  [a, b] = await Promise.all([startNode(pg.url, 'node-a'), startNode(pg.url, 'node-b')]);
  shares = await initCluster([a, b]);
});
after(async () => {
  await stopNodes([a, b]);
  await pg?.stop();
});

/** pkcs11-tool -L on a node's PKCS#11 socket: token label → serial and slot id. */
async function tokens(node: Node): Promise<Map<string, { serial: string; slot: number }>> {
  const env = { ...process.env, P11_KIT_SERVER_ADDRESS: p11Address(path.join(node.dir, 'p11.sock')), P11_KIT_NO_USER_CONFIG: '1' };
  const r = await run('pkcs11-tool', ['--module', P11_KIT_CLIENT, '-L'], env);
  assert.equal(r.status, 0, r.stderr);
  const out = new Map<string, { serial: string; slot: number }>();
  for (const block of r.stdout.toString().split(/^Slot /m).slice(1)) {
    const label = /token label\s+:\s+(\S+)/.exec(block)?.[1];
    const serial = /serial num\s+:\s+(\S+)/.exec(block)?.[1];
    const slot = /^\d+ \(0x([0-9a-f]+)\)/.exec(block)?.[1];
    if (label && serial && slot) out.set(label, { serial, slot: parseInt(slot, 16) });
  }
  return out;
}

test('a partition made on one node is a token on the other, stable across a restart, gone when deleted', { timeout: 180_000 }, async () => {
  const officerA = await login(a.url, OFFICER.username, OFFICER.password);
  const made = await officerA('POST', '/v1/partitions', { name: 'p1', officer: { username: 'pso', password: PSO_PASSWORD } });
  assert.equal(made.status, 201, JSON.stringify(made.body));
  const onB = await tokens(b);
  assert.deepEqual(onB.get('p1'), { serial: made.body.serial, slot: made.body.slot });
  assert.ok(onB.has('default'));
  assert.deepEqual(await tokens(a), onB, 'the same table on both nodes');
  // Its officer logs in on B.
  assert.equal((await call(b.url, 'POST', '/v1/login', { username: 'pso', password: PSO_PASSWORD, partition: 'p1' })).status, 200);

  // B restarts (sealed, then unsealed): the same slot and serial.
  await b.stop();
  b = await startNode(pg.url, 'node-b', { dir: b.dir });
  await unseal(b.url, shares);
  assert.deepEqual((await tokens(b)).get('p1'), { serial: made.body.serial, slot: made.body.slot });

  const del = await officerA('DELETE', '/v1/partitions/p1');
  assert.equal(del.status, 200, JSON.stringify(del.body));
  assert.equal((await tokens(b)).has('p1'), false);
  const refused = await call(b.url, 'POST', '/v1/login', { username: 'pso', password: PSO_PASSWORD, partition: 'p1' });
  assert.equal(refused.body.error.code, 'PARTITION_NOT_FOUND');
});
