// The lead worker's private HTTP socket and the other workers' forwarding to it (`inkan serve
// --workers`, docs/workers.md). The admin API, the console and the Key Vault face keep sessions
// and tokens in the memory of the process that issued them, so every worker but the lead passes
// those requests on, streamed both ways (nothing buffered: the lead authenticates before it reads
// a body, as it does for its own clients) over a unix socket in the 0700 data directory. The
// client's address and whether it used TLS travel in two headers that the forwarding worker
// strips from what clients send and that only the lead's private listener believes.
import * as fs from 'node:fs';
import * as http from 'node:http';
import { FORWARDED_SOURCE, FORWARDED_TLS, recordOrigin, requestOverTls, requestSource } from '../api/forwarded';
import { HsmError } from '../errors/hsm-error';
import { sendError } from '../api/admin/http-util';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

/** Connection headers are the hop's own; the rest go through unchanged. */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'upgrade', 'te', 'trailer']);

/** The lead's private listener: `handler` with each request's origin taken from the forwarding worker. */
export async function listenLead(socketPath: string, handler: Handler, maxConnections: number): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    recordOrigin(req, { source: String(req.headers[FORWARDED_SOURCE] ?? ''), tls: req.headers[FORWARDED_TLS] === '1' });
    handler(req, res);
  });
  server.on('checkContinue', (req, res) => server.emit('request', req, res));
  server.maxConnections = maxConnections;
  try { if (fs.lstatSync(socketPath).isSocket()) fs.unlinkSync(socketPath); } catch { /* none yet */ }
  // exclusive: bound by this process itself, not shared through the cluster primary.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path: socketPath, exclusive: true }, () => { server.off('error', reject); resolve(); });
  });
  fs.chmodSync(socketPath, 0o600);
  return server;
}

/** A worker's forwarder to the lead's private listener. */
export function leadForwarder(socketPath: string, maxSockets = 64): { forward: Handler; close(): void } {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const forward: Handler = (req, res) => {
    const headers: http.OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(req.headers)) if (!HOP.has(k) && k !== FORWARDED_SOURCE && k !== FORWARDED_TLS) headers[k] = v;
    headers[FORWARDED_SOURCE] = requestSource(req);
    headers[FORWARDED_TLS] = requestOverTls(req) ? '1' : '0';
    const up = http.request({ socketPath, agent, method: req.method, path: req.url, headers });
    up.on('continue', () => res.writeContinue());
    up.on('response', (answer) => {
      const out: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(answer.headers)) if (!HOP.has(k) && k !== 'transfer-encoding') out[k] = v;
      res.writeHead(answer.statusCode ?? 502, answer.statusMessage, out);
      answer.pipe(res);
      answer.on('error', () => res.destroy());
    });
    up.on('error', () => {
      if (res.headersSent) { res.destroy(); return; }
      sendError(res, new HsmError('WORKER_UNAVAILABLE'));
    });
    // The client went away: so does the forwarded request.
    res.on('close', () => { if (!res.writableFinished) up.destroy(); });
    req.pipe(up);
  };
  return { forward, close: () => agent.destroy() };
}
