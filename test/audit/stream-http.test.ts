// The export over a real HTTP socket, as the admin API sends it (http-util.sendStream) and the
// CLI receives it (AdminClient.stream): chunked NDJSON, verified as it arrives; a client that
// stops reading stalls the export instead of filling memory; one that leaves stops it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendStream } from '../../src/api/admin/http-util';
import { AdminClient } from '../../src/cli/client';
import { inChunks, openExport } from '../../src/core/audit/export';
import { verifyExport } from '../../src/audit-chain/verify';
import { fixture, Fixture } from './fixtures';

interface Probe { produced: number; closed: boolean }

/** Serves the export of `f` at any path; `probe` counts lines the generator has produced. */
async function serve(f: Fixture, probe: Probe, failAfter?: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = http.createServer((req, res) => {
    void (async () => {
      const lines = await openExport(f.store.audit, { publicKey: f.key.pem, sign: f.sign, pageSize: 500 });
      async function* counted() {
        try {
          for await (const l of lines) {
            if (failAfter !== undefined && probe.produced >= failAfter) throw new Error('store went away');
            probe.produced++;
            yield l;
          }
        } finally { probe.closed = true; }
      }
      await sendStream(res, 200, inChunks(counted(), 16 * 1024)).catch(() => undefined);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}

const until = async (cond: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !cond(); await new Promise((r) => setTimeout(r, 10))) if (Date.now() > end) throw new Error('timed out');
};

test('an export streamed over HTTP verifies as it arrives', async () => {
  const f = await fixture();
  const probe: Probe = { produced: 0, closed: false };
  const srv = await serve(f, probe);
  try {
    await f.append('node-1', 3000, { checkpointEvery: 100 });
    const res = await fetch(`${srv.url}/v1/audit/export`);
    assert.equal(res.headers.get('content-type'), 'application/x-ndjson');
    assert.equal(res.headers.get('transfer-encoding'), 'chunked');
    const r = await verifyExport(res.body as unknown as AsyncIterable<Uint8Array>, { publicKey: f.key.pem });
    assert.equal(r.ok, true, r.problem);
    assert.equal(r.records, 3000);
    // The CLI's client gets the same body.
    const body = await new AdminClient(srv.url).stream('/v1/audit/export');
    assert.equal((await verifyExport(body, { publicKey: f.key.pem })).ok, true);
  } finally { await srv.close(); await f.close(); }
});

test('a client that stops reading stalls the export (backpressure); one that leaves stops it', async () => {
  const f = await fixture();
  const probe: Probe = { produced: 0, closed: false };
  const srv = await serve(f, probe);
  try {
    await f.append('node-1', 40_000, { make: () => ({ detail: 'd'.repeat(150) }) });
    const req = http.get(`${srv.url}/v1/audit/export`);
    const res = await new Promise<http.IncomingMessage>((resolve) => req.on('response', resolve));
    res.pause();
    await until(() => probe.produced > 0);
    await new Promise((r) => setTimeout(r, 500));
    const stalled = probe.produced;
    await new Promise((r) => setTimeout(r, 300));
    // About 400 bytes a line: what sits in socket buffers is a small part of the ~16 MB export.
    assert.equal(probe.produced, stalled, 'nothing more is produced while the client does not read');
    assert.ok(stalled < 20_000, `produced ${stalled} of 40,000 lines while the client read nothing`);
    assert.equal(probe.closed, false);
    res.destroy();
    await until(() => probe.closed);
    assert.ok(probe.produced < 40_000, 'the export stopped when the client left');
  } finally { await srv.close(); await f.close(); }
});

test('a failure after the headers cuts the response off, and the verifier says so', async () => {
  const f = await fixture();
  const probe: Probe = { produced: 0, closed: false };
  const srv = await serve(f, probe, 50);
  try {
    await f.append('node-1', 200);
    const body = await new AdminClient(srv.url).stream('/v1/audit/export');
    const got = await verifyExport(body, { publicKey: f.key.pem }).catch((e: Error) => e);
    // Either the transfer error surfaces, or the cut body is reported incomplete; never "OK".
    if (got instanceof Error) assert.match(got.message, /terminated|aborted|socket|closed/i);
    else { assert.equal(got.ok, false); assert.match(got.findings.map((x) => x.problem).join(' '), /cut off/); }
  } finally { await srv.close(); await f.close(); }
});
