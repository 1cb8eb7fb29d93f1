// Composition root of `inkan serve`: opens the store, starts the module (self-tests first),
// wires the faces onto their listeners, and shuts everything down in order.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Hsm } from './core/hsm';
import { CHECKPOINT_SECONDS } from './core/audit/audit-log';
import { SqliteKeyStore } from './keystore/sqlite/sqlite-store';
import { createAdminHandler } from './api/admin/server';
import { AdminSessions } from './api/admin/sessions';
import { ServerMetrics } from './api/metrics/metrics';
import { createOpsHandler } from './api/metrics/handler';
import { addDevCredentials, bootstrapDev, DEV_KEY_FILE, DevCredentials } from './config/dev-mode';
import { listenP11, P11Listener } from './api/p11/listener';
import type { P11Limits } from './api/p11/limits';
import { createKmsApi } from './api/kms';
import { devKmsCredentials } from './config/dev-kms';
import { createLogger, Logger } from './config/logger';
import { parseDuration, scheduleBackups, watchTamper } from './config/server-tasks';

export interface ServerConfig {
  dataDir: string;
  host: string;
  port: number;
  dev?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  node?: string;
  selfTestFault?: string;
  log?: Logger;
  /** Scheduled backups: every (e.g. "24h") into dir, keeping the newest `backupKeep`. */
  backupEvery?: string;
  backupDir?: string;
  backupKeep?: number;
  /** A file whose appearance or change zeroises the module (SIGUSR2 does too). */
  tamperFile?: string;
  /** Unix socket of the PKCS#11 face (p11-kit RPC); default <dataDir>/p11.sock. */
  p11Socket?: string;
  /** Its permission bits (default 0o600) and owning group (name or gid), e.g. 0o660 + "www-data". */
  p11SocketMode?: number;
  p11SocketGroup?: string;
  /** Connection, timeout and memory limits of the PKCS#11 face (docs/limits.md); unset ones keep their defaults. */
  p11Limits?: Partial<P11Limits>;
}

export interface RunningServer {
  hsm: Hsm;
  url: string;
  /** P11_KIT_SERVER_ADDRESS for p11-kit-client.so. */
  p11Address: string;
  /** The PKCS#11 listener (its socket file, limits and live counts). */
  p11: P11Listener;
  credentials?: DevCredentials;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export async function startServer(cfg: ServerConfig): Promise<RunningServer> {
  const log = cfg.log ?? createLogger();
  const tls = Boolean(cfg.tlsCert && cfg.tlsKey);
  if (!LOOPBACK.test(cfg.host) && !tls) {
    throw new Error(`listening on ${cfg.host} needs TLS: give --tls-cert and --tls-key (only loopback may be plain HTTP)`);
  }
  fs.mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  const store = new SqliteKeyStore(path.join(cfg.dataDir, 'inkan.db'));
  const metrics = new ServerMetrics();
  const hsm = new Hsm(store, {
    node: cfg.node, selfTestFault: cfg.selfTestFault, onZeroize: () => fs.rmSync(path.join(cfg.dataDir, DEV_KEY_FILE), { force: true }), onOperation: metrics.operation,
    events: (e) => log.info('key event', { op: e.op, user: e.caller.principal.username, face: e.caller.face, object: e.objectId, detail: e.detail }),
  });
  await hsm.start();
  const st = await hsm.status();
  log.info('self-tests finished', { passed: st.selfTests.passed, failed: st.selfTests.failed.join(',') || undefined, state: st.state });

  const sessions = new AdminSessions();
  metrics.addSessions('admin', () => sessions.active());
  const admin = createAdminHandler(hsm, log, sessions);
  const ops = createOpsHandler(hsm, metrics, log);
  const kms = createKmsApi(hsm, log);
  // One listener, two faces: AWS SDKs always send X-Amz-Target; the admin API never does.
  // /metrics, /healthz and /readyz come first: unauthenticated, for scrapers and load balancers.
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (ops(req, res)) return;
    void (req.headers['x-amz-target'] !== undefined ? kms(req, res) : admin(req, res));
  };
  const server = tls
    ? https.createServer({ cert: fs.readFileSync(cfg.tlsCert!), key: fs.readFileSync(cfg.tlsKey!) }, handler)
    : http.createServer(handler);
  metrics.trackConnections(server);
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 120_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;

  let credentials: DevCredentials | undefined;
  let p11: P11Listener | undefined;
  try {
    p11 = await listenP11(hsm, path.resolve(cfg.p11Socket ?? path.join(cfg.dataDir, 'p11.sock')), log,
      { mode: cfg.p11SocketMode, group: cfg.p11SocketGroup, limits: cfg.p11Limits });
    metrics.trackP11(p11.stats);
    log.info('p11 socket', { path: p11.path, mode: `0${p11.mode.toString(8)}`, gid: p11.gid, ...p11.limits, perUidLimit: p11.perUidLimit });
    if (cfg.dev && st.state !== 'error') {
      credentials = await bootstrapDev(hsm, cfg.dataDir, url);
      const entry = { address: p11.address, pin: `${credentials.user.username}:${credentials.user.password}` };
      addDevCredentials(cfg.dataDir, 'p11', entry);
      credentials.p11 = entry;
      const kmsEntry = await devKmsCredentials(hsm, credentials, url);
      addDevCredentials(cfg.dataDir, 'kms', kmsEntry);
      credentials.kms = kmsEntry;
    }
  } catch (err) {
    server.close();
    await p11?.close();
    await store.close();
    throw err;
  }
  const p11Listener = p11;
  log.info('listening', { url, p11: p11Listener.address, state: hsm.state, dev: Boolean(cfg.dev) });
  const checkpoints = setInterval(() => void hsm.audit.checkpointIfNew(), CHECKPOINT_SECONDS * 1000);
  checkpoints.unref();
  const stopBackups = cfg.backupEvery
    ? scheduleBackups(hsm, cfg.backupDir ?? path.join(cfg.dataDir, 'backups'), parseDuration(cfg.backupEvery), cfg.backupKeep ?? 7, log)
    : () => {};
  const stopTamper = watchTamper(hsm, cfg.tamperFile, log);

  return {
    hsm, url, credentials, p11Address: p11Listener.address, p11: p11Listener,
    async close() {
      clearInterval(checkpoints);
      stopBackups();
      stopTamper();
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      await p11Listener.close();
      if (hsm.state === 'unsealed') await hsm.seal();
      await store.close();
    },
  };
}
