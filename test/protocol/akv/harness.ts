// Shared fixtures for the Key Vault face tests: the face (src/api/akv) over the in-memory test
// port, served by a real HTTPS server on 127.0.0.1 with a throw-away CA (openssl CLI), and the
// real @azure/keyvault-keys + @azure/identity clients. The vault is reached as
// https://vault1.inkan.test:<port> and tokens at https://login.inkan.test:<port>; an https.Agent
// resolves *.inkan.test to 127.0.0.1 (what DNS would do) and trusts the test CA, so the SDK's
// challenge-resource check (host must end in .inkan.test) runs for real.
import * as http from 'node:http';
import * as https from 'node:https';
import type { AddressInfo, LookupFunction } from 'node:net';
import { ClientSecretCredential } from '@azure/identity';
import { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import { createAkvApi, type AkvApi, type AkvApiOptions } from '../../../src/api/akv';
import { InMemoryKeyPort, type MemoryPortOptions, type Role } from '../../helpers/memory-port';
import { makeTestPki, type TestPki } from '../../helpers/test-ca';

export const TENANT = 'inkan-test-tenant';
export const RESOURCE = 'https://inkan.test';
export const CLIENT_ID = 'app-alice';
export const CLIENT_SECRET = 'alice-secret-Zm9vYmFyYmF6cXV4';

/** Resolves every *.inkan.test name to loopback (Node 20 asks with `all: true`). */
export const loopbackLookup: LookupFunction = (hostname, options, callback) => {
  const ok = hostname === 'inkan.test' || hostname.endsWith('.inkan.test') || hostname === '127.0.0.1' || hostname === 'localhost';
  const cb = callback as unknown as (err: NodeJS.ErrnoException | null, address: unknown, family?: number) => void;
  if (!ok) { cb(Object.assign(new Error(`test lookup: ${hostname} not found`), { code: 'ENOTFOUND' }), undefined); return; }
  if ((options as { all?: boolean }).all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
  else cb(null, '127.0.0.1', 4);
};

/** What the SDK tests need of a vault, whichever backend serves it (this file's memory port, or
 *  the real server: test/api/akv/fixture.ts). */
export interface AkvTarget {
  agent: https.Agent;
  tlsPort: number;
  /** The host name requests are addressed to (and the TLS server name). */
  vaultHost: string;
  vaultUrl: string;
  authorityHost: string;
  /** The token audience: scopes are `${resource}/.default`. */
  resource: string;
  credential(clientId?: string, secret?: string): ClientSecretCredential;
  keyClient(clientId?: string, secret?: string): KeyClient;
  cryptoClient(keyId: string, clientId?: string, secret?: string): CryptographyClient;
  /** A client of that role whose id and secret the tests name (the real server maps them to its own). */
  addClient(clientId: string, secret: string, role: Role): void | Promise<void>;
  close(): Promise<void>;
}

export interface AkvFixture extends AkvTarget {
  port: InMemoryKeyPort;
  api: AkvApi;
  pki: TestPki;
  /** The same handler on plain HTTP (for the brief's allowInsecureConnection configuration). */
  httpPort: number;
  /** Mutable clock (epoch ms) the face and the port share. */
  clock: { now: number | undefined };
  addClient(clientId: string, secret: string, role: Role): void;
}

let sharedPki: TestPki | undefined;
/** One PKI per test process: openssl key generation is the slow part. */
export function pki(): TestPki {
  sharedPki ??= makeTestPki(['vault1.inkan.test', 'login.inkan.test', 'localhost']);
  return sharedPki;
}

const listen = (server: http.Server): Promise<number> =>
  new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));

export async function startAkv(opts: { port?: MemoryPortOptions; api?: Partial<AkvApiOptions> } = {}): Promise<AkvFixture> {
  const clock: { now: number | undefined } = { now: undefined };
  const now = () => clock.now ?? Date.now();
  const port = new InMemoryKeyPort({ now, ...opts.port });
  port.addClient(CLIENT_ID, CLIENT_SECRET, 'user');
  const the = pki();
  let api: AkvApi | undefined; // made once the port is known: the authority URL names it
  const handler = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!api) { res.statusCode = 503; res.end(); return; }
    const path = (req.url ?? '/').split('?')[0];
    const which = api.handles(path);
    if (which === 'vault') void api.vault(req, res);
    else if (which === 'oauth') void api.oauth(req, res);
    else { res.statusCode = 404; res.end(); }
  };
  const tls = https.createServer({ cert: the.server.cert, key: the.server.key }, handler);
  const plain = http.createServer(handler);
  const tlsPort = await listen(tls);
  const httpPort = await listen(plain);
  api = createAkvApi(port, { tenant: TENANT, resource: RESOURCE, now, authorityUrl: `https://login.inkan.test:${tlsPort}`, ...opts.api });
  const agent = new https.Agent({ ca: the.ca, lookup: loopbackLookup, keepAlive: true });
  const vaultUrl = `https://vault1.inkan.test:${tlsPort}`;
  const authorityHost = `https://login.inkan.test:${tlsPort}`;
  const credential = (id = CLIENT_ID, secret = CLIENT_SECRET) =>
    new ClientSecretCredential(TENANT, id, secret, { authorityHost, disableInstanceDiscovery: true, agent });
  return {
    port, api, pki: the, agent, tlsPort, httpPort, vaultUrl, authorityHost, clock, credential, vaultHost: 'vault1.inkan.test', resource: RESOURCE,
    keyClient: (id, secret) => new KeyClient(vaultUrl, credential(id, secret), { agent }),
    cryptoClient: (keyId, id, secret) => new CryptographyClient(keyId, credential(id, secret), { agent }),
    addClient: (id, secret, role) => port.addClient(id, secret, role),
    async close() {
      agent.destroy();
      for (const s of [tls, plain]) {
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
    },
  };
}

/** A raw HTTPS request to the fixture (for bad input the SDK never sends). */
export function raw(f: AkvTarget, method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer; host?: string } = {}):
  Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string; json: () => any }> {
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: opts.host ?? f.vaultHost, servername: (opts.host ?? f.vaultHost) === '127.0.0.1' ? '' : opts.host ?? f.vaultHost, port: f.tlsPort, method, path, agent: f.agent,
      // Content-Length always: node sends a GET body unframed otherwise.
      headers: { ...(opts.body !== undefined ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(opts.body)) } : {}), ...opts.headers },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A bearer token the way the SDK gets one (through @azure/identity and our issuer). */
export async function token(f: AkvTarget, clientId = CLIENT_ID, secret = CLIENT_SECRET): Promise<string> {
  const t = await f.credential(clientId, secret).getToken(`${f.resource}/.default`);
  return t.token;
}

export const API = 'api-version=2025-07-01';
