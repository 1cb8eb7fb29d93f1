// On SQLite (the default store) the "cluster" is the one node: GET /v1/cluster lists it, it
// leads, and its metrics carry no node label (nothing changes for a single module).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { devServer } from '../helpers/harness';

test('a SQLite node lists itself as the whole cluster, for officers only', async () => {
  const server = await devServer();
  try {
    const officer = await server.login(server.credentials!.officer.username, server.credentials!.officer.password);
    const r = await officer('GET', '/v1/cluster');
    assert.equal(r.status, 200);
    assert.equal(r.body.keystore, 'sqlite');
    assert.equal(r.body.leader, 'node-1');
    assert.equal(r.body.nodes.length, 1);
    assert.equal(r.body.nodes[0].address, server.url);
    assert.equal(r.body.nodes[0].state, 'unsealed');
    assert.equal(r.body.nodes[0].self, true);
    const user = await server.login(server.credentials!.user.username, server.credentials!.user.password);
    assert.equal((await user('GET', '/v1/cluster')).body.error.code, 'FORBIDDEN');
    assert.doesNotMatch(await (await fetch(`${server.url}/metrics`)).text(), /node="/);
  } finally { await server.close(); }
});
