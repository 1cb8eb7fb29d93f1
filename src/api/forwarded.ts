// Where an HTTP request really came from. Normally its own socket; for a request another worker
// of `inkan serve --workers` forwarded to the lead worker over the lead's private unix socket
// (runtime/workers.ts), what that worker saw: the client's address and whether it came over TLS.
// Only the lead's private listener records these, so a client cannot claim them with headers.
import type * as http from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface RequestOrigin { source: string; tls: boolean }

const origins = new WeakMap<http.IncomingMessage, RequestOrigin>();

/** The headers a forwarding worker sets (and strips from what clients send). */
export const FORWARDED_SOURCE = 'x-inkan-forwarded-source';
export const FORWARDED_TLS = 'x-inkan-forwarded-tls';

export function recordOrigin(req: http.IncomingMessage, origin: RequestOrigin): void {
  origins.set(req, origin);
}

/** The client's address (for throttling and audit context). */
export function requestSource(req: http.IncomingMessage): string {
  return origins.get(req)?.source ?? req.socket.remoteAddress ?? '';
}

/** Whether the client reached the server over TLS (secure cookies). */
export function requestOverTls(req: http.IncomingMessage): boolean {
  return origins.get(req)?.tls ?? (req.socket as TLSSocket).encrypted === true;
}
