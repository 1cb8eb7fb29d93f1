// The admin API's explicit route table and dispatcher: every route names its method, path
// pattern, whether it needs a login, and one handler. No reflection.
import type { IncomingMessage } from 'node:http';
import { HsmError } from '../../errors/hsm-error';
import type { Hsm } from '../../core/hsm';
import type { Caller, Principal } from '../../core/principal';
import type { AdminSessions } from './sessions';
import type { BodyOptions } from './http-util';

export interface RouteContext {
  hsm: Hsm;
  sessions: AdminSessions;
  req: IncomingMessage;
  params: Record<string, string>;
  body: Record<string, unknown>;
  /** Set on routes that need a login (and on raw routes when the request carries one). */
  principal?: Principal;
  token?: string;
  /** The caller of the logged-in principal through this face. */
  caller(): Caller;
  /** Where the request came from (the peer address), for throttling. */
  source: string;
  /** How raw routes read their body: charged to the memory budget, `100 Continue` sent when reading starts. */
  reading: BodyOptions;
}

export interface RouteResult {
  status?: number;
  body: unknown;
  /** Sent as application/octet-stream instead of JSON. */
  binary?: Buffer;
  /** Streamed as it is produced (NDJSON exports), with backpressure. */
  stream?: AsyncIterable<string>;
}

export interface Route {
  method: 'GET' | 'POST' | 'DELETE' | 'PATCH';
  path: string;
  auth: boolean;
  /** The handler reads the (binary) body itself; the login is optional and checked by the handler. */
  raw?: boolean;
  handler(ctx: RouteContext): Promise<RouteResult>;
}

export interface CompiledRoute extends Route { regex: RegExp; names: string[] }

export function compile(routes: Route[]): CompiledRoute[] {
  return routes.map((r) => {
    const names: string[] = [];
    const pattern = r.path.replace(/:([a-zA-Z]+)/g, (_, n: string) => { names.push(n); return '([^/]+)'; });
    return { ...r, regex: new RegExp(`^${pattern}$`), names };
  });
}

export function match(routes: CompiledRoute[], method: string, path: string): { route?: CompiledRoute; params: Record<string, string>; pathKnown: boolean } {
  let pathKnown = false;
  for (const r of routes) {
    const m = r.regex.exec(path);
    if (!m) continue;
    pathKnown = true;
    if (r.method !== method) continue;
    const params: Record<string, string> = {};
    // A malformed %-escape is the caller's error (BAD_REQUEST), not an internal one.
    try { r.names.forEach((n, i) => { params[n] = decodeURIComponent(m[i + 1]); }); } catch { throw new HsmError('BAD_REQUEST', 'the path is not valid percent-encoding'); }
    return { route: r, params, pathKnown };
  }
  return { params: {}, pathKnown };
}
