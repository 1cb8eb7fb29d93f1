// The Key Vault and XKS faces as the composition root mounts them: their APIs over the core
// backends, where each is reachable, and the listeners they need beyond the shared one:
//  - Key Vault: /keys, /deletedkeys, /rng and the OAuth paths /{tenant}/… on every listener. Its
//    token authority must be https; if the shared listener is plain HTTP (dev) a second loopback
//    TLS listener with the dev certificate (dev-tls.ts) serves the same router, and is the authority.
//  - XKS: {prefix}/kms/xks/v1/… on TLS listeners only (the spec requires HTTPS): the shared one if
//    it is TLS, the dev TLS listener, and its own listener with --xks-tls-cert/--xks-tls-key (and
//    mutual TLS with --xks-client-ca / --xks-client-cn).
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { requestOverTls } from '../api/forwarded';
import type { Hsm } from '../core/hsm';
import type { Logger } from '../logger';
import { createAkvApi, type AkvApi } from '../api/akv';
import { AkvCoreBackend } from '../api/akv/core-backend';
import { createXksApi, type XksApi } from '../api/xks';
import { XksCoreBackend } from '../api/xks/core-backend';
import { createXksServer, loadXksTlsOptions } from '../protocol/xks';
import { devTls } from './dev-tls';
import { boundListener, DEFAULT_HTTP_LIMITS } from '../api/http-limits';

export interface CloudConfig {
  dataDir: string;
  dev: boolean;
  /** The shared listener's URL and whether it is TLS. */
  url: string;
  tls: boolean;
  akvTenant?: string;
  akvResource?: string;
  akvAuthority?: string;
  /** Port of the dev TLS listener (0: any). */
  akvTlsPort?: number;
  akvRetentionDays?: number;
  akvPurgeProtection?: boolean;
  xksTlsCert?: string;
  xksTlsKey?: string;
  xksClientCa?: string;
  xksClientCns?: string[];
  xksHost?: string;
  xksPort?: number;
  /** The connection cap of each listener started here (the shared listener's, docs/limits.md). */
  maxConnections?: number;
}

export interface CloudFaces {
  /** Serves the request if its path is a Key Vault or XKS path; false otherwise. */
  route(req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean;
  /** The XKS face alone (stateless: every worker of `--workers` serves it itself). */
  routeXks(req: http.IncomingMessage, res: http.ServerResponse, path: string): boolean;
  akv?: { vaultUrl: string; authorityHost: string; tenantId: string; resource: string; caFile?: string };
  xks?: { endpoint: string; caFile?: string };
  akvBackend: AkvCoreBackend;
  close(): Promise<void>;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

const listen = (server: http.Server, port: number, host: string): Promise<number> => new Promise((resolve, reject) => {
  server.once('error', reject);
  server.listen(port, host, () => { server.off('error', reject); resolve((server.address() as AddressInfo).port); });
});
const closeServer = (s: http.Server) => new Promise<void>((resolve) => { s.close(() => resolve()); s.closeAllConnections(); });

export async function startCloudFaces(hsm: Hsm, cfg: CloudConfig, router: Handler, log: Logger): Promise<CloudFaces> {
  const servers: http.Server[] = [];
  const opts = { retentionDays: cfg.akvRetentionDays ?? 90, purgeProtected: cfg.akvPurgeProtection ?? false };
  const akvBackend = new AkvCoreBackend(hsm, opts);
  const xksBackend = new XksCoreBackend(hsm, opts);
  try {
    let tlsUrl = cfg.tls ? cfg.url : undefined;
    let caFile: string | undefined;
    if (!cfg.tls && cfg.dev) {
      const dev = await devTls(cfg.dataDir);
      const server = https.createServer({ cert: dev.cert, key: dev.key, minVersion: 'TLSv1.2' }, router);
      boundListener(server, cfg.maxConnections ?? DEFAULT_HTTP_LIMITS.maxConnections);
      servers.push(server);
      tlsUrl = `https://127.0.0.1:${await listen(server, cfg.akvTlsPort ?? 0, '127.0.0.1')}`;
      caFile = dev.caFile;
    }
    const xks = createXksApi(xksBackend, { storePaths: (p) => xksBackend.storeExists(p), log });
    let xksUrl = tlsUrl;
    if (cfg.xksTlsCert && cfg.xksTlsKey) {
      const files = { cert: cfg.xksTlsCert, key: cfg.xksTlsKey, clientCa: cfg.xksClientCa, clientCommonNames: cfg.xksClientCns };
      const server = createXksServer(loadXksTlsOptions(files), (req, res) => { void xks.handler(req, res); });
      boundListener(server, cfg.maxConnections ?? DEFAULT_HTTP_LIMITS.maxConnections);
      servers.push(server);
      const host = cfg.xksHost ?? '127.0.0.1';
      xksUrl = `https://${host.includes(':') ? `[${host}]` : host}:${await listen(server, cfg.xksPort ?? 0, host)}`;
    }
    let akv: AkvApi | undefined;
    let akvInfo: CloudFaces['akv'];
    const authority = cfg.akvAuthority ?? tlsUrl;
    if (authority) {
      const tenant = cfg.akvTenant ?? (await hsm.status()).domain ?? 'inkan';
      const resource = cfg.akvResource ?? new URL(tlsUrl ?? authority).origin;
      akv = createAkvApi(akvBackend, { tenant, resource, authorityUrl: authority.replace(/\/$/, ''), log });
      akvInfo = { vaultUrl: tlsUrl ?? cfg.url, authorityHost: authority, tenantId: tenant, resource, caFile };
      log.info('key vault face', { vault: akvInfo.vaultUrl, authority, tenant, resource });
    } else {
      log.warn('the Key Vault face needs an https token authority: give --tls-cert/--tls-key, --akv-authority, or run --dev');
    }
    if (xksUrl) log.info('xks face', { endpoint: xksUrl, mutualTls: Boolean(cfg.xksClientCa) });
    return {
      akvBackend, akv: akvInfo, xks: xksUrl ? { endpoint: xksUrl, caFile: cfg.xksTlsCert ? undefined : caFile } : undefined,
      routeXks(req, res, path) {
        if (!xks.handles(path) || !requestOverTls(req)) return false;
        void xks.handler(req, res);
        return true;
      },
      route(req, res, path) {
        if (xks.handles(path) && requestOverTls(req)) { void xks.handler(req, res); return true; }
        const which = akv?.handles(path);
        if (!which || !akv) return false;
        void akv[which](req, res);
        return true;
      },
      async close() { for (const s of servers) await closeServer(s); },
    };
  } catch (err) {
    for (const s of servers) await closeServer(s);
    throw err;
  }
}
