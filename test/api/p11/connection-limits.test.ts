// Red-team attacks on the PKCS#11 listener's connection table, against a real server and socket:
// an idle flood (connections that never speak), sessionless initialised connections, one peer
// uid taking every slot, and a bad handshake. Each attack is shown to fail: the flood is
// refused with one clear log line, timed out, and a real application (pkcs11-tool through
// p11-kit-client.so) gets in afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CKR } from '../../../src/pkcs11/constants';
import { ayData, u64, u8 } from '../../protocol/p11rpc/wire';
import { P11_KIT_CLIENT, run } from '../../interop/p11-helpers';
import { RawClient } from './raw-client';
import { account, idleSocket, limitedServer, LimitedServer, probeAs, sleep, until } from './limit-helpers';

const HANDSHAKE_MS = 400;
const IDLE_MS = 700;

describe('PKCS#11 connection limits', { timeout: 120_000 }, () => {
  let srv: LimitedServer;
  before(async () => {
    srv = await limitedServer({
      p11SocketMode: 0o666,
      p11Limits: { maxConnections: 24, maxConnectionsPerUid: 0, handshakeTimeoutMs: HANDSHAKE_MS, idleTimeoutMs: IDLE_MS },
    });
  });
  after(async () => { await srv.close(); });

  const pkcs11ToolInfo = () => run('pkcs11-tool', ['--module', P11_KIT_CLIENT, '-I'],
    { ...process.env, P11_KIT_SERVER_ADDRESS: srv.p11Address, P11_KIT_NO_USER_CONFIG: '1' }, undefined, 30_000);

  test('an idle flood fills the table, is refused with one log line, times out, and a real client gets in', async () => {
    // Attack: every slot taken by sockets that never send a byte (before: they stayed forever).
    const flood = await Promise.all(Array.from({ length: 24 }, () => idleSocket(srv.socketPath)));
    await until(() => srv.p11.stats().connections === 24, 5000, 'the flood to be admitted');
    const extra = await Promise.all(Array.from({ length: 5 }, () => idleSocket(srv.socketPath)));
    await Promise.all(extra.map((e) => e.closed)); // refused at once
    const blocked = await pkcs11ToolInfo();
    assert.notEqual(blocked.status, 0, 'while the table is full a new client is refused');
    const refusals = srv.lines('p11 connection refused');
    assert.equal(refusals.length, 1, 'six refusals, one log line (rate-limited)');
    assert.equal(refusals[0].reason, 'max_connections');
    assert.equal(refusals[0].level, 'warn');
    assert.equal(refusals[0].limit, 24);
    // The handshake timeout closes every silent socket.
    await Promise.all(flood.map((f) => f.closed));
    assert.ok(srv.lines('p11 connection closed').filter((l) => String(l.reason).startsWith('no C_Initialize')).length >= 24);
    const ok = await pkcs11ToolInfo();
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout.toString(), /Inkan/);
    assert.equal(srv.p11.stats().refused.max_connections, 6);
  });

  test('initialised connections with no session close after the idle timeout; one with a session stays', async () => {
    const idle = await RawClient.connect(srv.socketPath);
    await idle.initialize();
    // The idle clock starts once C_Initialize is answered: measure from here (a loaded machine
    // may take long for what follows).
    const started = Date.now();
    const busy = await RawClient.connect(srv.socketPath);
    await busy.initialize();
    const s = await busy.openSession();
    await idle.closed;
    assert.ok(Date.now() - started >= IDLE_MS - 50, 'not before the idle timeout');
    // Past the handshake timeout and twice the idle timeout, the connection with a session still answers.
    await sleep(IDLE_MS);
    const info = await busy.ok('C_GetSessionInfo', 'u', u64(s));
    assert.equal(info.readUlong(), 1);
    // Closing its last session starts the idle clock.
    await busy.ok('C_CloseSession', 'u', u64(s));
    await busy.closed;
    assert.ok(srv.lines('p11 connection closed').some((l) => String(l.reason).startsWith('no session open')));
  });

  test('a bad handshake is one info line without a stack, and the connection may go on', async () => {
    const before = srv.logs.length;
    const c = await RawClient.connect(srv.socketPath);
    const bad = await c.call('C_Initialize', 'ayyay', ayData('NOT-THE-HANDSHAKE'), u8(0), ayData(Buffer.from([0])));
    assert.equal(bad.rv, CKR.GENERAL_ERROR);
    await c.initialize();
    c.close();
    const fresh = srv.logs.slice(before).map((l) => JSON.parse(l) as Record<string, unknown>);
    const lines = fresh.filter((l) => String(l.msg).startsWith('p11'));
    assert.deepEqual(lines.map((l) => [l.level, l.msg]), [['info', 'p11 handshake refused']]);
    assert.ok(!fresh.some((l) => l.level === 'error'));
    assert.doesNotMatch(JSON.stringify(lines), /\bat |\|/, 'no stack trace');
  });

  test('/metrics shows PKCS#11 connections, sessions and refusals', async () => {
    const c = await RawClient.connect(srv.socketPath);
    await c.initialize();
    await c.openSession();
    await c.openSession();
    const text = await (await fetch(`${srv.url}/metrics`)).text();
    const value = (re: RegExp) => Number(re.exec(text)?.[1]);
    assert.equal(value(/^inkan_sessions\{face="p11"\} (\d+)$/m), 2);
    assert.equal(value(/^inkan_p11_open_connections (\d+)$/m), srv.p11.stats().connections);
    assert.ok(value(/^inkan_p11_open_connections (\d+)$/m) >= 1);
    assert.equal(value(/^inkan_p11_connections_refused_total\{reason="max_connections"\} (\d+)$/m), 6);
    assert.ok(value(/^inkan_p11_connections_closed_total\{reason="handshake_timeout"\} (\d+)$/m) >= 24);
    assert.ok(value(/^inkan_p11_connections_closed_total\{reason="idle_timeout"\} (\d+)$/m) >= 2);
    c.close();
    await until(() => srv.p11.stats().sessions === 0, 5000, 'sessions to close with the connection');
  });
});

describe('PKCS#11 per-uid connection limit', { timeout: 60_000 }, () => {
  let srv: LimitedServer;
  before(async () => {
    srv = await limitedServer({ p11SocketMode: 0o666, p11Limits: { maxConnections: 64, maxConnectionsPerUid: 4, handshakeTimeoutMs: 5000 } });
  });
  after(async () => { await srv.close(); });

  test('one peer uid (SO_PEERCRED) cannot take more than its share; another uid still connects',
    { skip: process.getuid?.() !== 0 ? 'needs root to run a peer as nobody' : false }, async () => {
    assert.equal(srv.p11.perUidLimit, true);
    const nobody = account('nobody');
    const got = await probeAs(nobody, srv.socketPath, 7, 300);
    assert.equal(got.filter((r) => r === 'answered').length, 4, `nobody got ${got.join(',')}`);
    assert.equal(got.filter((r) => r === 'closed').length, 3);
    const line = srv.lines('p11 connection refused').find((l) => l.reason === 'max_connections_per_uid');
    assert.ok(line, 'a refusal line names the per-uid limit');
    assert.equal(line.uid, nobody.uid);
    assert.equal(line.limit, 4);
    assert.equal(srv.p11.stats().refused.max_connections_per_uid, 3);
    // The server's own uid (root, this process) is held only by the global cap: while nobody holds its four, root opens five.
    const held = probeAs(nobody, srv.socketPath, 4, 1500);
    await until(() => srv.p11.stats().connections >= 4, 5000, 'nobody to hold its share');
    const mine = await Promise.all(Array.from({ length: 5 }, async () => {
      const c = await RawClient.connect(srv.socketPath);
      await c.initialize();
      return c;
    }));
    assert.deepEqual(await held, ['answered', 'answered', 'answered', 'answered']);
    mine.forEach((c) => c.close());
  });
});
