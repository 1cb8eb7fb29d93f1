// The admin API request handler: routing; the login checked from the headers BEFORE any body is
// read (and bodies bounded: small for unauthenticated routes); the caller handed to the core,
// which authorises; error mapping. A session the core reports revoked is forgotten here.
// Internal errors are logged with their detail server-side and answered as INTERNAL.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HsmError, toHsmError } from '../../errors/hsm-error';
import type { Hsm } from '../../core/hsm';
import type { Logger } from '../../logger';
import { MAX_BODY, MAX_PUBLIC_BODY, readJson, sendError, sendJson, sendStream } from './http-util';
import { compile, match, RouteContext, RouteResult } from './router';
import { requestSource } from '../forwarded';
import { KEY_ROUTES } from './routes-keys';
import { MODULE_ROUTES } from './routes-module';
import { USER_ROUTES } from './routes-users';
import { AUDIT_ROUTES } from './routes-audit';
import { BACKUP_ROUTES } from './routes-backup';
import { ACCESS_KEY_ROUTES } from './routes-access-keys';
import { POLICY_ROUTES } from './routes-policy';
import { PARTITION_ROUTES } from './routes-partitions';
import { OBJECT_ROUTES } from './routes-objects';
import { QUORUM_ROUTES } from './routes-quorum';
import { AdminSessions } from './sessions';
import { BodyBudget } from '../body-budget';
import { cloudRoutes, type CloudWhere } from './routes-cloud';
import { ConsoleCookies } from './console/cookies';
import { createConsoleUi } from './console/ui';
import { clusterRoutes, type ClusterView } from './routes-cluster';

/** `cloud` says where the Key Vault and XKS faces are (they are mounted after the admin API). */
export function createAdminHandler(hsm: Hsm, log: Logger, sessions = new AdminSessions(), bodies = new BodyBudget(), cloud: () => CloudWhere = () => ({}),
  cluster?: ClusterView) {
  // The web console (/ and /ui/): its files and its cookie sign-in; its cookie works on /v1 below.
  const cookies = new ConsoleCookies();
  const ui = createConsoleUi(hsm, sessions, cookies, log, bodies);
  const routes = compile([...MODULE_ROUTES, ...USER_ROUTES, ...KEY_ROUTES, ...OBJECT_ROUTES, ...AUDIT_ROUTES, ...BACKUP_ROUTES, ...ACCESS_KEY_ROUTES, ...POLICY_ROUTES, ...PARTITION_ROUTES, ...QUORUM_ROUTES,
    ...cloudRoutes(cloud), ...clusterRoutes(cluster)]);

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const path = (req.url ?? '/').split('?')[0];
    if (ui.handles(path)) return ui.handle(req, res);
    let principalName: string | undefined;
    let token = '';
    try {
      const { route, params, pathKnown } = match(routes, req.method ?? 'GET', path);
      if (!route) throw new HsmError(pathKnown ? 'METHOD_NOT_ALLOWED' : 'NO_SUCH_ROUTE');
      const auth = req.headers.authorization ?? '';
      token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      // No bearer token: the console's session cookie, whose state-changing requests need the CSRF header.
      if (!token && (route.auth || route.raw)) { token = cookies.token(req); if (token) cookies.check(req, token); }
      let continued = false;
      const ctx: RouteContext = {
        hsm, sessions, req, params, body: {}, source: requestSource(req),
        caller: () => hsm.callerOf(ctx.principal!, 'admin', { source: ctx.source }),
        reading: {
          // `Expect: 100-continue` (curl sends it for large uploads) is answered only here, after the
          // login and the declared size were checked: a refused upload is never sent at all.
          proceed: () => { if (!continued && /^100-continue$/i.test(String(req.headers.expect ?? ''))) { continued = true; res.writeContinue(); } },
          hold: undefined,
        },
      };
      if (route.auth || (route.raw && token)) {
        hsm.requireUnsealed();
        ctx.principal = sessions.principal(token);
        ctx.token = token;
        principalName = ctx.principal.username;
      }
      const hold = bodies.hold(ctx.principal?.id);
      ctx.reading.hold = hold;
      res.once('close', () => hold.release());
      // Authenticated before a byte of the body is read; unauthenticated routes take small bodies only.
      const hasBody = !route.raw && req.method !== 'GET' && !(req.method === 'DELETE' && !req.headers['content-length']);
      if (hasBody) ctx.body = await readJson(req, ctx.principal ? MAX_BODY : MAX_PUBLIC_BODY, ctx.reading);
      const result = await route.handler(ctx);
      await send(res, result);
      log.info('admin request', { method: req.method, path: route.path, status: result.status ?? 200, user: principalName, ms: Date.now() - started });
    } catch (err) {
      const e = toHsmError(err);
      if (!(err instanceof HsmError)) log.error('internal error', { path: path.slice(0, 200), error: (err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') });
      if (e.code === 'SESSION_REVOKED' && token) sessions.close(token);
      if (!res.headersSent) sendError(res, e); else res.destroy();
      log.info('admin request', { method: req.method, path: path.slice(0, 200), status: e.status, code: e.code, user: principalName, ms: Date.now() - started });
    }
  };
}

async function send(res: ServerResponse, result: RouteResult): Promise<void> {
  if (result.binary) {
    res.writeHead(result.status ?? 200, { 'content-type': 'application/octet-stream', 'content-length': result.binary.length, 'cache-control': 'no-store' });
    res.end(result.binary);
    return;
  }
  if (result.stream) {
    await sendStream(res, result.status ?? 200, result.stream);
    return;
  }
  sendJson(res, result.status ?? 200, result.body);
}
