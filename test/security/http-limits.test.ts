// Red-team findings 4 and 9 (issue #8) on the HTTP listener: no body is read before its login is
// checked, a refused upload is not drained (the connection closes), bodies held in memory are
// bounded per user and in all, connections are capped, and one role cannot fill the session
// table. Requests go over raw sockets so what the server reads and when it closes are visible.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { devServer, TestServer } from '../helpers/harness';

const MiB = 1024 * 1024;

interface RawAnswer { head: string; status: number; text: string; flushed: number; closed: boolean }

/**
 * Sends `head` (request line and headers), then up to `bodyBytes` of body in 256 KiB chunks with
 * backpressure, until the server answers and closes or the body is sent. `flushed` counts the bytes
 * the kernel accepted from us (loopback buffers included), an upper bound on what the server read.
 */
function rawRequest(srv: TestServer, head: string, bodyBytes: number, opts: { waitForContinue?: boolean } = {}): Promise<RawAnswer> {
  const u = new URL(srv.url);
  return new Promise((resolve) => {
    const sock = net.connect(Number(u.port), u.hostname);
    let answer = '';
    let flushed = 0;
    let closed = false;
    let sending = !opts.waitForContinue;
    const chunk = Buffer.alloc(256 * 1024, 0x41);
    const finish = () => {
      const [h] = answer.split('\r\n\r\n');
      const finalHead = h.startsWith('HTTP/1.1 100') ? answer.split('\r\n\r\n')[1] ?? '' : h;
      resolve({ head: answer, status: Number(/^HTTP\/1\.1 (\d{3})/.exec(finalHead)?.[1] ?? 0), text: answer.slice(answer.lastIndexOf('\r\n\r\n') + 4), flushed, closed });
    };
    let queued = 0;
    const pump = () => {
      while (sending && !closed && queued < bodyBytes) {
        const n = Math.min(chunk.length, bodyBytes - queued);
        queued += n;
        if (!sock.write(chunk.subarray(0, n), (err) => { if (!err) flushed += n; })) { sock.once('drain', pump); return; }
      }
    };
    sock.on('data', (d) => {
      answer += d.toString('latin1');
      if (!sending && answer.startsWith('HTTP/1.1 100')) { sending = true; pump(); }
    });
    sock.on('error', () => undefined);
    sock.on('close', () => { closed = true; finish(); });
    sock.setTimeout(20_000, () => sock.destroy());
    sock.write(head);
    pump();
  });
}

describe('HTTP listener limits', { timeout: 120_000 }, () => {
  let srv: TestServer;
  let officer: string;
  let user: string;
  const token = async (username: string, password: string) => {
    const r = await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username, password }) });
    assert.equal(r.status, 200);
    return ((await r.json()) as { token: string }).token;
  };
  before(async () => {
    // Small budgets so the test needs megabytes, not hundreds of them; the defaults are in docs/limits.md.
    srv = await devServer(undefined, { httpLimits: { bodyBytes: 3 * MiB, bodyBytesPerUser: 2 * MiB, maxConnections: 64 } });
    officer = await token(srv.credentials!.officer.username, srv.credentials!.officer.password);
    user = await token(srv.credentials!.user.username, srv.credentials!.user.password);
  });
  after(async () => { await srv.close(); });

  test('an unauthenticated 500 MB restore upload is refused before its body is read, and the connection closes', async () => {
    const declared = 500_000_000;
    const a = await rawRequest(srv, `POST /v1/backup/restore HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\nContent-Length: ${declared}\r\n\r\n`, 64 * MiB);
    assert.equal(a.status, 401, a.head.slice(0, 300));
    assert.match(a.text, /"AUTH_REQUIRED"/);
    assert.match(a.head, /connection: close/i);
    assert.equal(a.closed, true);
    // Before: the server buffered the whole upload (3 × 500 MB → +2,993 MB RSS). Now it stops at
    // the headers; what got out of our socket is at most what loopback buffers hold.
    assert.ok(a.flushed < 32 * MiB, `the server closed after ${a.flushed} bytes of a ${declared}-byte upload`);
  });

  test('with Expect: 100-continue a refused upload is never sent at all; an officer\'s is invited', async () => {
    const refused = await rawRequest(srv, 'POST /v1/backup/restore HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 100000000\r\n\r\n', 100_000_000, { waitForContinue: true });
    assert.equal(refused.status, 401);
    assert.doesNotMatch(refused.head, /^HTTP\/1\.1 100/);
    assert.equal(refused.flushed, 0, 'no byte of the body left the client');
    // An officer's restore is invited to send (then this body, not a backup, is refused as one).
    const invited = await rawRequest(srv, `POST /v1/backup/restore HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${officer}\r\nConnection: close\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n`, 1000, { waitForContinue: true });
    assert.match(invited.head, /^HTTP\/1\.1 100 Continue/);
    assert.equal(invited.flushed, 1000);
    assert.ok(invited.status >= 400 && invited.status < 500, invited.head);
  });

  test('an admin body is not read before the token check; login bodies are small', async () => {
    const noToken = await rawRequest(srv, 'POST /v1/keys HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n\r\n', 8_000_000);
    assert.equal(noToken.status, 401);
    assert.match(noToken.text, /"AUTH_REQUIRED"/);
    assert.ok(noToken.flushed < 8_000_000 && noToken.closed);
    const badToken = await rawRequest(srv, 'POST /v1/keys HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer forged\r\nTransfer-Encoding: chunked\r\n\r\n', 0);
    assert.equal(badToken.status, 401);
    const big = await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username: 'u', password: 'x'.repeat(100 * 1024) }) });
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as { error: { code: string } }).error.code, 'REQUEST_TOO_LARGE');
  });

  test('bodies held in memory are bounded per user and in all; small requests still pass; the budget comes back', async () => {
    const metric = async () => Number(/^inkan_http_buffered_bytes (\d+)/m.exec(await (await fetch(`${srv.url}/metrics`)).text())?.[1]);
    // A user starts a 1.5 MiB body and stalls before its end: about 1.44 MiB is charged.
    const u = new URL(srv.url);
    const slow = net.connect(Number(u.port), u.hostname);
    slow.on('error', () => undefined);
    slow.write(`POST /v1/random HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user}\r\nContent-Type: application/json\r\nContent-Length: ${1.5 * MiB}\r\n\r\n`);
    slow.write(Buffer.alloc(1.5 * MiB - 1, 0x20));
    for (let i = 0; i < 100 && (await metric()) < 1.4 * MiB; i++) await new Promise((r) => setTimeout(r, 50));
    assert.ok((await metric()) >= 1.4 * MiB, 'the stalled body is charged');
    // The same user's second large body does not fit its 2 MiB share: 503 DEVICE_MEMORY, connection closed.
    const second = await rawRequest(srv, `POST /v1/random HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${user}\r\nContent-Length: ${MiB}\r\n\r\n`, MiB);
    assert.equal(second.status, 503, second.head.slice(0, 200));
    assert.match(second.text, /"DEVICE_MEMORY"/);
    // Its small requests go on (the first 64 KiB of each are free), and so do the officer's larger ones.
    const small = await fetch(`${srv.url}/v1/random`, { method: 'POST', headers: { authorization: `Bearer ${user}` }, body: JSON.stringify({ length: 16 }) });
    assert.equal(small.status, 200);
    const officers = await fetch(`${srv.url}/v1/random`, { method: 'POST', headers: { authorization: `Bearer ${officer}` }, body: JSON.stringify({ length: 16, pad: ' '.repeat(MiB) }) });
    assert.notEqual(officers.status, 503, 'the officer has a share of its own');
    // The stalled request gone, its bytes come back.
    slow.destroy();
    for (let i = 0; i < 100 && (await metric()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await metric(), 0);
    const again = await fetch(`${srv.url}/v1/random`, { method: 'POST', headers: { authorization: `Bearer ${user}` }, body: JSON.stringify({ length: 16, pad: ' '.repeat(MiB) }) });
    assert.notEqual(again.status, 503);
    assert.match(await (await fetch(`${srv.url}/metrics`)).text(), /^inkan_http_bodies_refused_total [1-9]/m);
  });

  test('connections beyond the cap are closed on arrival with one log line; the listener serves again when they go', async () => {
    const u = new URL(srv.url);
    const idle: net.Socket[] = [];
    // Keep-alive connections of earlier requests may still be open: fill up to the cap and beyond.
    for (let i = 0; i < 70; i++) {
      const s = net.connect(Number(u.port), u.hostname);
      s.on('error', () => undefined);
      idle.push(s);
      await new Promise((r) => s.once('connect', r));
    }
    await new Promise((r) => setTimeout(r, 200));
    const closedOnArrival = idle.filter((s) => s.destroyed || s.readableEnded).length;
    assert.ok(closedOnArrival >= 6, `${closedOnArrival} of 70 connections were closed at the cap of 64`);
    const late = net.connect(Number(u.port), u.hostname);
    late.on('error', () => undefined);
    const turnedAway = await Promise.race([new Promise((r) => late.once('close', () => r(true))), new Promise((r) => setTimeout(() => r(false), 2000))]);
    assert.equal(turnedAway, true, 'a new client is turned away while the cap is full');
    assert.ok(srv.logs.some((l) => l.includes('http connection refused') && l.includes('max_connections')));
    for (const s of idle) s.destroy();
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
    assert.match(await (await fetch(`${srv.url}/metrics`)).text(), /^inkan_http_connections_refused_total [1-9]/m);
  });

  test('an auditor logging in again and again ends only its own oldest sessions; the officer still logs in', async () => {
    const { username, password } = srv.credentials!.auditor!;
    const tokens: string[] = [];
    for (let i = 0; i < 20; i++) tokens.push(await token(username, password));
    const whoami = async (t: string) => (await fetch(`${srv.url}/v1/whoami`, { headers: { authorization: `Bearer ${t}` } })).status;
    const statuses = await Promise.all(tokens.map(whoami));
    assert.deepEqual(statuses.slice(0, 4), [401, 401, 401, 401], 'the four oldest were ended (16 per user)');
    assert.deepEqual(statuses.slice(4), Array(16).fill(200));
    assert.equal(await whoami(await token(srv.credentials!.officer.username, srv.credentials!.officer.password)), 200);
    assert.equal(await whoami(officer), 200, 'nobody else\'s session was touched');
  });
});
