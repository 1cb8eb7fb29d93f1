// The admin API request handler: routing, login check, unsealed check, error mapping.
// Internal errors are logged with their detail server-side and answered as INTERNAL.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HsmError } from '../../errors/hsm-error';
import type { Hsm } from '../../core/hsm';
import type { Logger } from '../../config/logger';
import { readJson, sendError, sendJson, sendStream } from './http-util';
import { compile, match, RouteContext } from './router';
import { KEY_ROUTES } from './routes-keys';
import { MODULE_ROUTES } from './routes-module';
import { AUDIT_ROUTES } from './routes-audit';
import { BACKUP_ROUTES } from './routes-backup';
import { ACCESS_KEY_ROUTES } from './routes-access-keys';
import { AdminSessions } from './sessions';

export function createAdminHandler(hsm: Hsm, log: Logger, sessions = new AdminSessions()) {
  const routes = compile([...MODULE_ROUTES, ...KEY_ROUTES, ...AUDIT_ROUTES, ...BACKUP_ROUTES, ...ACCESS_KEY_ROUTES]);

  return async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const path = (req.url ?? '/').split('?')[0];
    let principalName: string | undefined;
    try {
      const { route, params, pathKnown } = match(routes, req.method ?? 'GET', path);
      if (!route) throw new HsmError('BAD_REQUEST', pathKnown ? 'method not allowed' : 'no such route');
      const body = route.raw || req.method === 'GET' || req.method === 'DELETE' && !req.headers['content-length'] ? {} : await readJson(req);
      const ctx: RouteContext = {
        hsm, sessions, req, params, body,
        caller() { return { principal: this.principal!, face: 'admin' }; },
      };
      const auth = req.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7) : '';
      if (route.raw && token) {
        hsm.requireUnsealed();
        ctx.principal = sessions.principal(token);
        principalName = ctx.principal.username;
      }
      if (route.auth) {
        hsm.requireUnsealed();
        ctx.principal = sessions.principal(token);
        ctx.token = token;
        principalName = ctx.principal.username;
      }
      const result = await route.handler(ctx);
      if (result.stream) {
        await sendStream(res, result.status ?? 200, result.stream);
      } else if (result.binary) {
        res.writeHead(result.status ?? 200, { 'content-type': 'application/octet-stream', 'content-length': result.binary.length, 'cache-control': 'no-store' });
        res.end(result.binary);
      } else {
        sendJson(res, result.status ?? 200, result.body);
      }
      log.info('admin request', { method: req.method, path: route.path, status: result.status ?? 200, user: principalName, ms: Date.now() - started });
    } catch (err) {
      const e = err instanceof HsmError ? err : new HsmError('INTERNAL');
      if (!(err instanceof HsmError)) log.error('internal error', { path, error: (err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') });
      if (!res.headersSent) sendError(res, e);
      log.info('admin request', { method: req.method, path, status: e.status, code: e.code, user: principalName, ms: Date.now() - started });
    }
  };
}
