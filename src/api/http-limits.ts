// Limits of the HTTP listener that every HTTP face shares (admin, KMS, and the faces mounted
// beside them): connections open at once and request-body bytes held in memory. docs/limits.md.
import type * as http from 'node:http';
import { DEFAULT_BODY_BUDGET, DEFAULT_BODY_BUDGET_PER_USER } from './body-budget';

export interface HttpLimits {
  /** Connections open at once; more are closed as they arrive. */
  maxConnections: number;
  /** Body bytes held beyond each request's free 64 KiB: all requests together, and one user's. */
  bodyBytes: number;
  bodyBytesPerUser: number;
}

export const DEFAULT_HTTP_LIMITS: Readonly<HttpLimits> = Object.freeze({
  maxConnections: 1024, bodyBytes: DEFAULT_BODY_BUDGET, bodyBytesPerUser: DEFAULT_BODY_BUDGET_PER_USER,
});

/** Defaults overridden by whatever is given; a nonsensical value is refused at start-up. */
export function resolveHttpLimits(given: Partial<HttpLimits> = {}): HttpLimits {
  const limits: HttpLimits = { ...DEFAULT_HTTP_LIMITS };
  for (const [name, value] of Object.entries(given) as [keyof HttpLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`HTTP limit ${name} must be a whole number ≥ 0, got ${value}`);
    limits[name] = value;
  }
  if (limits.maxConnections < 1) throw new Error('HTTP limit maxConnections must be at least 1');
  return limits;
}

/** The timers and connection cap every HTTP(S) listener of the module gets (docs/limits.md): a
 *  slow or idle client cannot hold a connection, and no listener takes more than `maxConnections`. */
export function boundListener(server: http.Server, maxConnections: number): void {
  server.maxConnections = maxConnections;
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 120_000;
  server.headersTimeout = 30_000;
}
