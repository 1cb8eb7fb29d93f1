// Operational endpoints on the admin/KMS listener, unauthenticated like most exporters and
// load-balancer probes, so they answer with nothing secret: GET /metrics (Prometheus text),
// /healthz (200 while the process serves) and /readyz (200 only when keys can be served).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hsm } from '../../core/hsm';
import type { Logger } from '../../logger';
import { sendJson } from '../admin/http-util';
import type { ServerMetrics } from './metrics';

export const OPS_PATHS: ReadonlySet<string> = new Set(['/metrics', '/healthz', '/readyz']);

export interface Readiness { ready: boolean; state: string; reasons: string[] }

/** Ready = unsealed, every self-test passed and the last audit write did not fail. */
export async function readiness(hsm: Hsm): Promise<Readiness> {
  let st;
  try {
    st = await hsm.status();
  } catch {
    return { ready: false, state: hsm.state, reasons: ['the key store cannot be read'] };
  }
  const reasons: string[] = [];
  if (!st.selfTests.passed) reasons.push('self-tests failed');
  if (st.state !== 'unsealed' && st.state !== 'error') reasons.push(`module is ${st.state}`);
  // The store's error text stays in status (authenticated); a probe only learns that it failed.
  if (st.audit.lastFailure) reasons.push('the last audit write failed');
  if (st.problem) reasons.push('the module found its store tampered with and refuses to serve');
  return { ready: reasons.length === 0, state: st.state, reasons };
}

/** Returns a handler that answers the operational paths and returns false for every other. */
export function createOpsHandler(hsm: Hsm, metrics: ServerMetrics, log: Logger) {
  const answer = async (path: string, res: ServerResponse): Promise<void> => {
    if (path === '/healthz') { sendJson(res, 200, { status: 'ok' }); return; }
    if (path === '/readyz') {
      const r = await readiness(hsm);
      sendJson(res, r.ready ? 200 : 503, r.ready ? { ready: true, state: r.state }
        : { ready: false, state: r.state, reason: r.reasons.join('; '), reasons: r.reasons });
      return;
    }
    const text = await metrics.scrape(hsm);
    res.writeHead(200, { 'content-type': metrics.contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
    res.end(text);
  };

  return function handleOps(req: IncomingMessage, res: ServerResponse): boolean {
    const path = (req.url ?? '/').split('?')[0];
    if (!OPS_PATHS.has(path)) return false;
    req.resume(); // no body is read on these paths
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      sendJson(res, 405, { error: { code: 'BAD_REQUEST', message: 'method not allowed' } });
      return true;
    }
    answer(path, res).catch((err: unknown) => {
      log.error('internal error', { path, error: (err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') });
      if (!res.headersSent) sendJson(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
    });
    return true;
  };
}
