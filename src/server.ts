// Composition root of `inkan serve`: opens the store, checks it belongs to this module's domain
// (the anchor beside it), starts the module (self-tests first), wires the faces onto their
// listeners and the scheduler onto its tasks, and shuts everything down in order.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { Hsm } from './core/hsm';
import { Scheduler } from './core/scheduler';
import { createAdminHandler } from './api/admin/server';
import { AdminSessions } from './api/admin/sessions';
import { ServerMetrics, type MetricsJson } from './api/metrics/metrics';
import { createOpsHandler } from './api/metrics/handler';
import { listenP11, P11Listener } from './api/p11/listener';
import { loadP11TlsOptions } from './api/p11/tls-listener';
import type { P11Limits } from './api/p11/limits';
import { boundListener, resolveHttpLimits, type HttpLimits } from './api/http-limits';
import { BodyBudget } from './api/body-budget';
import { createKmsApi } from './api/kms';
import { createLogger, Logger } from './logger';
import { addDevCredentials, bootstrapDev, DEV_KEY_FILE, DevCredentials, devKmsCredentials } from './runtime/dev-mode';
import { startCloudFaces, type CloudConfig, type CloudFaces } from './runtime/cloud-faces';
import { devAkvCredentials, devXksCredentials } from './runtime/dev-cloud';
import { ANCHOR_FILE, AnchorFiles } from './runtime/anchor-file';
import { privateDir } from './runtime/files';
import { backupTask, parseDuration, watchTamper } from './runtime/tasks';
import { ClusterMember, describeStore, openStore } from './runtime/cluster';
import { rawEcdsaProvider } from './crypto/native-ecdsa';
import { workerNode, type WorkerLink } from './runtime/workers';
import { leadForwarder, listenLead } from './runtime/lead-forward';

export { parseDuration } from './runtime/tasks';
export { parseSize } from './api/p11/limits';
export { parseSocketMode } from './api/p11/socket-file';
export { runPrimary, workerRole, WorkerLink } from './runtime/workers';
export { p11Address } from './api/p11/listener';

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
  /** A second copy of the anchor, somewhere the database's attacker cannot write. */
  anchorCopy?: string;
  /** The domain this module must find in its store (`--domain`, INKAN_DOMAIN). */
  expectDomain?: string;
  /** Allows (re)initialising a data directory that belonged to another domain (`--new-domain`). */
  newDomain?: boolean;
  /** fsync audit batches of key uses too (power-loss durable uses; slower). */
  durableUses?: boolean;
  /** The first delay after a failed login (ms, growing with each failure; default 250; 0 disables it). */
  loginDelayMs?: number;
  /** Its permission bits (default 0o600) and owning group (name or gid), e.g. 0o660 + "www-data". */
  p11SocketMode?: number;
  p11SocketGroup?: string;
  /** The PKCS#11 face on TCP with mutual TLS (`--p11-tls-listen`, docs/pkcs11.md "Remote connections"): PEM files. */
  p11Tls?: { host: string; port: number; cert: string; key: string; clientCa: string };
  /** Connection, timeout and memory limits of the PKCS#11 face (docs/limits.md); unset ones keep their defaults. */
  p11Limits?: Partial<P11Limits>;
  /** Limits of the HTTP listener (docs/limits.md); unset ones keep their defaults. */
  httpLimits?: Partial<HttpLimits>;
  /** The Key Vault and XKS faces (runtime/cloud-faces.ts): tenant, token authority, resource, the dev
   *  TLS listener's port, deletion retention; XKS's own TLS listener and mutual TLS. */
  cloud?: Omit<CloudConfig, 'dataDir' | 'dev' | 'url' | 'tls'>;
  /** The key store: "sqlite" (default, <dataDir>/inkan.db) or a postgres:// URL shared by the nodes of a cluster (docs/cluster.md). */
  store?: string;
  /** How often this node writes its heartbeat row (PostgreSQL; default 2 s). */
  heartbeatMs?: number;
  /** This process is a worker of `inkan serve --workers` (runtime/workers.ts, docs/workers.md). */
  worker?: WorkerLink;
}

/** The lead worker's private HTTP socket, which the other workers forward stateful requests to. */
export const LEAD_SOCKET = 'lead.sock';


export interface RunningServer {
  hsm: Hsm;
  url: string;
  /** P11_KIT_SERVER_ADDRESS for p11-kit-client.so. */
  p11Address: string;
  /** The PKCS#11 listener (its socket file, limits and live counts). */
  p11: P11Listener;
  /** Where the Key Vault and XKS faces are reachable. */
  cloud?: Pick<CloudFaces, 'akv' | 'xks'>;
  credentials?: DevCredentials;
  /** This node's heartbeat and the node list. */
  cluster: ClusterMember;
  close(): Promise<void>;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export async function startServer(cfg: ServerConfig): Promise<RunningServer> {
  const log = cfg.log ?? createLogger();
  const tls = Boolean(cfg.tlsCert && cfg.tlsKey);
  const httpLimits = resolveHttpLimits(cfg.httpLimits);
  if (!LOOPBACK.test(cfg.host) && !tls) {
    throw new Error(`listening on ${cfg.host} needs TLS: give --tls-cert and --tls-key (only loopback may be plain HTTP)`);
  }
  if (privateDir(cfg.dataDir)) log.warn('data directory was readable by others: tightened to 0700', { dir: cfg.dataDir });
  const storeKind = describeStore(cfg.store);
  const role = cfg.worker?.role;
  // Worker 0 of `--workers` keeps the configured name; the others are nodes of their own.
  const node = role ? workerNode(cfg.node ?? 'node-1', role.index) : cfg.node;
  const lead = !role || role.lead;
  const store = await openStore(cfg.store, cfg.dataDir);
  if (storeKind === 'postgres') log.info('key store', { kind: 'postgres', target: (store as { target?: string }).target });
  // On a shared store (or with several workers) every series carries the node's name (docs/cluster.md).
  const metrics = new ServerMetrics(storeKind === 'postgres' || role ? node ?? 'node-1' : undefined);
  if (cfg.worker && cfg.worker.role.count > 1) metrics.siblings = () => cfg.worker!.siblingMetrics() as Promise<MetricsJson[]>;
  const anchor = new AnchorFiles(lead ? [path.join(cfg.dataDir, ANCHOR_FILE), ...(cfg.anchorCopy ? [cfg.anchorCopy] : [])]
    : [workerAnchor(cfg.dataDir, node!), ...(cfg.anchorCopy ? [`${cfg.anchorCopy}.${node}`] : [])]);
  const hsm = new Hsm(store, {
    node, selfTestFault: cfg.selfTestFault, onOperation: (e, s) => { member.countOp(); metrics.operation(e, s); }, anchor, expectDomain: cfg.expectDomain,
    newDomain: cfg.newDomain, durableUses: cfg.durableUses, loginDelayMs: cfg.loginDelayMs, onZeroize: () => fs.rmSync(path.join(cfg.dataDir, DEV_KEY_FILE), { force: true }),
    onLifecycle: cfg.worker?.onLifecycle,
  });
  // This node's heartbeat row and the node list (runtime/cluster.ts; on SQLite, this node alone).
  const member = new ClusterMember(hsm, store, { node: hsm.node, heartbeatMs: cfg.heartbeatMs, log });
  // The server log is a subscriber of the audit stream: the same records, metadata only.
  hsm.audit.subscribe((r) => log.info('audit', {
    op: r.op, outcome: r.outcome, code: r.code, actor: r.actor, role: r.role, face: r.face, partition: r.partition, object: r.object, detail: r.detail, seq: r.seq,
  }));
  try {
    // Before the module writes anything under its node name (its audit chain): refused if that name is in use.
    await member.claim();
    await hsm.start();
  } catch (err) {
    await store.close();
    throw err;
  }
  const st = await hsm.status();
  log.info('self-tests finished', { passed: st.selfTests.passed, failed: st.selfTests.failed.join(',') || undefined, state: st.state });
  log.info('raw-digest ECDSA', { provider: rawEcdsaProvider() });

  const sessions = new AdminSessions();
  metrics.addSessions('admin', () => sessions.active());
  const bodies = new BodyBudget(httpLimits.bodyBytes, httpLimits.bodyBytesPerUser);
  let cloud: CloudFaces | undefined;
  const admin = createAdminHandler(hsm, log, sessions, bodies, () => ({ akv: cloud?.akv, xks: cloud?.xks }), () => member.status());
  const ops = createOpsHandler(hsm, metrics, log);
  const kms = createKmsApi(hsm, log);
  // The front router. /metrics, /healthz and /readyz come first: unauthenticated, for scrapers and
  // load balancers. AWS SDKs always send X-Amz-Target (KMS); the admin API lives under /v1; Key Vault
  // (/keys, /deletedkeys, /rng, /{tenant}/oauth2…) and XKS ({prefix}/kms/xks/v1/…) once mounted.
  // A worker other than the lead serves the stateless faces (KMS, XKS, health, metrics) and
  // forwards the rest to the lead, which holds the admin and console sessions and Key Vault tokens.
  const toLead = lead ? undefined : leadForwarder(path.join(cfg.dataDir, LEAD_SOCKET));
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (ops(req, res)) return;
    if (req.headers['x-amz-target'] !== undefined) { void kms(req, res); return; }
    const target = req.url ?? '/';
    const p = target.split('?')[0];
    if (toLead) {
      if (!cloud?.routeXks(req, res, p)) toLead.forward(req, res);
      return;
    }
    if (p !== '/v1' && !p.startsWith('/v1/') && cloud?.route(req, res, p)) return;
    void admin(req, res);
  };
  const server = tls
    ? https.createServer({ cert: fs.readFileSync(cfg.tlsCert!), key: fs.readFileSync(cfg.tlsKey!) }, handler)
    : http.createServer(handler);
  metrics.trackConnections(server);
  // Bounded: connections beyond the cap are closed as they arrive (one warn line per 10 s).
  boundListener(server, httpLimits.maxConnections);
  let dropped = 0;
  let droppedLogged = 0;
  let droppedTotal = 0;
  metrics.trackHttp(() => ({ bodyBytes: bodies.total.used, bodyRefusals: bodies.refusals, connectionsRefused: droppedTotal }));
  server.on('drop', () => {
    dropped++;
    droppedTotal++;
    if (Date.now() - droppedLogged < 10_000) return;
    droppedLogged = Date.now();
    log.warn('http connection refused', { reason: 'max_connections', limit: httpLimits.maxConnections, refusedSinceLastLine: dropped });
    dropped = 0;
  });
  // `Expect: 100-continue`: the admin face answers it itself once the login and size are checked;
  // the small-bodied faces (KMS, metrics) go on at once.
  server.on('checkContinue', (req, res) => {
    if (req.headers['x-amz-target'] !== undefined || (req.url ?? '').startsWith('/metrics')) res.writeContinue();
    handler(req, res);
  });
  // The lead of several workers: its private listener for what the others forward.
  let leadServer: http.Server | undefined;
  if (role?.lead && role.count > 1) leadServer = await listenLead(path.join(cfg.dataDir, LEAD_SOCKET), handler, httpLimits.maxConnections);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(cfg.port, cfg.host, () => { server.off('error', reject); resolve(); });
  });
  const port = (server.address() as AddressInfo).port;
  const host = cfg.host.includes(':') ? `[${cfg.host}]` : cfg.host;
  const url = `${tls ? 'https' : 'http'}://${host}:${port}`;
  log.info('http listener', { url, ...httpLimits });
  try {
    await member.join(url);
  } catch (err) {
    server.close();
    leadServer?.close();
    await store.close();
    throw err;
  }

  let credentials: DevCredentials | undefined;
  let p11: P11Listener | undefined;
  try {
    p11 = await listenP11(hsm, path.resolve(cfg.p11Socket ?? path.join(cfg.dataDir, 'p11.sock')), log,
      { mode: cfg.p11SocketMode, group: cfg.p11SocketGroup, limits: cfg.p11Limits, tls: cfg.p11Tls && loadP11TlsOptions(cfg.p11Tls), adopted: Boolean(role) });
    metrics.trackP11(p11.stats);
    log.info('p11 socket', { path: p11.path, mode: `0${p11.mode.toString(8)}`, gid: p11.gid, ...p11.limits, perUidLimit: p11.perUidLimit });
    if (cfg.dev && lead && st.state !== 'error') {
      credentials = await bootstrapDev(hsm, cfg.dataDir, url);
      const entry = {
        address: p11.address, pin: `${credentials.user.username}:${credentials.user.password}`,
        soPin: `${credentials.officer.username}:${credentials.officer.password}`,
      };
      addDevCredentials(cfg.dataDir, 'p11', entry);
      credentials.p11 = entry;
      // Unsealing may have found the store cut or rolled back (error state): then nothing is read from it.
      if (hsm.state !== 'error') {
        const kmsEntry = await devKmsCredentials(hsm, credentials, url);
        addDevCredentials(cfg.dataDir, 'kms', kmsEntry);
        credentials.kms = kmsEntry;
      }
    }
    cloud = await startCloudFaces(hsm, { ...cfg.cloud, dataDir: cfg.dataDir, dev: Boolean(cfg.dev), url, tls, maxConnections: httpLimits.maxConnections }, handler, log);
    if (credentials && cloud.akv && hsm.state !== 'error') {
      const akvEntry = await devAkvCredentials(hsm, credentials, cloud.akv);
      addDevCredentials(cfg.dataDir, 'akv', akvEntry);
      credentials.akv = akvEntry;
    }
    if (credentials && cloud.xks && hsm.state !== 'error') {
      const xksEntry = await devXksCredentials(hsm, credentials, cloud.xks, cloud.akvBackend);
      addDevCredentials(cfg.dataDir, 'xks', xksEntry);
      credentials.xks = xksEntry;
    }
  } catch (err) {
    server.close();
    leadServer?.close();
    await member.leave();
    await cloud?.close();
    await p11?.close();
    await store.close();
    throw err;
  }
  const p11Listener = p11;
  const cloudFaces = cloud;
  log.info('listening', { url, p11: p11Listener.address, state: hsm.state, dev: Boolean(cfg.dev) });
  // Cluster-wide tasks (key lifecycle, backups) run in one worker only; checkpoints and scans in each.
  const scheduler = new Scheduler(hsm, { leader: () => lead && member.leader(), onError: (task, err) => log.error('scheduled task failed', { task, error: (err as Error)?.message }) });
  scheduler.start();
  if (cfg.backupEvery) {
    scheduler.add(backupTask(hsm, cfg.backupDir ?? path.join(cfg.dataDir, 'backups'), parseDuration(cfg.backupEvery), cfg.backupKeep ?? 7, log));
  }
  // The tamper file is watched by one process (the lead); SIGUSR2 works on any (the primary passes
  // it to the lead, or to another worker while the lead restarts), and its zeroisation reaches all.
  const stopTamper = watchTamper(hsm, lead ? cfg.tamperFile : undefined, log);

  let closing: Promise<void> | undefined;
  const running: RunningServer = {
    hsm, url, credentials, cluster: member, p11Address: p11Listener.address, p11: p11Listener, cloud: cloud && { akv: cloud.akv, xks: cloud.xks },
    close: () => closing ??= (async () => {
      scheduler.stop();
      stopTamper();
      await member.leave();
      await new Promise<void>((resolve) => { server.close(() => resolve()); server.closeAllConnections(); });
      if (leadServer) await new Promise<void>((resolve) => { leadServer!.close(() => resolve()); leadServer!.closeAllConnections(); });
      toLead?.close();
      await cloudFaces?.close();
      await p11Listener.close();
      if (hsm.state === 'unsealed') await hsm.lifecycle.seal();
      await store.close();
    })(),
  };
  // Serving: the primary may now hand this worker connections (and, for the lead, print the banner).
  cfg.worker?.ready({
    state: () => hsm.state,
    dmk: () => hsm.lifecycle.dmkForSibling(),
    unsealFrom: (dmk, sibling) => hsm.lifecycle.unsealFromSibling(dmk, sibling),
    sealFrom: (sibling, why) => hsm.lifecycle.sealFromSibling(sibling, why),
    adoptP11: (socket) => p11Listener.adopt(socket),
    metrics: () => metrics.scrapeJson(hsm),
    close: () => running.close(),
  }, role?.lead ? {
    url, state: hsm.state, credentials, p11Tls: p11Listener.tls?.address, cloud: cloud && { akv: cloud.akv, xks: cloud.xks },
  } : undefined);
  return running;
}

/** Where worker `node` (not the lead) keeps its anchor. */
function workerAnchor(dataDir: string, node: string): string {
  const dir = path.join(dataDir, 'workers');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  return path.join(dir, `${node}.${ANCHOR_FILE}`);
}
