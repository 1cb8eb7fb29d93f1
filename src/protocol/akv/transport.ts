// The Key Vault face's trust boundary: bearer authentication (answering the SDK's challenge
// handshake), api-version, route, size-capped JSON body → a typed AkvRequest; results and
// errors in Key Vault's JSON envelope. It knows the routes only as data from the API layer.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { randomUuid } from '../../crypto/node-crypto';
import { identityEncoded, readBoundedBody } from '../http/bounded-body';
import { AkvError, badParameter, internalError } from './akv-error';
import { checkApiVersion, type ApiVersion } from './api-version';
import { RouteTable, type AkvRoute } from './routes';

export interface AkvRequest<P> {
  operation: string;
  name?: string;
  version?: string;
  query: URLSearchParams;
  input: Readonly<Record<string, unknown>>;
  principal: P;
  /** `scheme://host[:port]` as the client called it: the base of every `kid`. */
  vaultUrl: string;
  apiVersion: ApiVersion;
  requestId: string;
}

/** What an operation answers: a JSON body with 200, or 204 without one. */
export type AkvResult = { status?: 200; body: object } | { status: 204 };
export type AkvDispatch<P> = (request: AkvRequest<P>) => Promise<AkvResult>;

export interface AkvAuthenticator<P> {
  /** Verifies `Authorization`; throws an AkvError 401 (no header → the challenge) or returns the caller. */
  authenticate(authorization: string | undefined): Promise<P>;
  /** The `WWW-Authenticate` value sent with every 401 (docs/azure-keyvault-wire.md §3.3). */
  challenge(req: IncomingMessage, err: AkvError): string;
}

export interface AkvHandlerOptions<P> {
  routes: readonly AkvRoute[];
  auth: AkvAuthenticator<P>;
  dispatch: AkvDispatch<P>;
  /** Maps the API layer's own errors to the wire; undefined → InternalServerError. */
  mapError?: (err: unknown) => AkvError | undefined;
  /** Server-side log of unexpected failures; the caller only sees the generic error. */
  onInternalError?: (err: unknown, requestId: string) => void;
}

const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,62})(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}))*|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** The vault URL from the Host header (RFC 9110 §7.2), refusing anything that is not a plain authority. */
export function vaultUrlOf(req: IncomingMessage): string {
  const host = req.headers.host ?? '';
  if (host.length > 260 || !HOST.test(host)) throw badParameter('The Host header is missing or not a valid host name.');
  const tls = (req.socket as TLSSocket).encrypted === true;
  return `${tls ? 'https' : 'http'}://${host.toLowerCase()}`;
}

function parseJson(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw badParameter('The request body is not valid UTF-8 JSON.');
  } finally {
    body.fill(0); // may carry a plaintext or key material; the parsed copy lives on in the request only
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw badParameter('The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

const bodyErrors = (max: number) => ({
  tooLarge: () => new AkvError('PayloadTooLarge', `The request body exceeds the limit of ${max} bytes for this operation.`),
  unreadable: () => badParameter('The request body could not be read.'),
});

/**
 * Order: authenticate (before a byte of the body is read, so an unauthenticated caller gets the
 * challenge and nothing else), api-version, route, body (capped per route), JSON.
 */
export async function readAkvRequest<P>(req: IncomingMessage, table: RouteTable, auth: AkvAuthenticator<P>,
  requestId: string): Promise<AkvRequest<P>> {
  const principal = await auth.authenticate(req.headers.authorization);
  const vaultUrl = vaultUrlOf(req);
  const url = new URL(req.url ?? '/', 'http://vault.invalid'); // only path and query are used
  const apiVersion = checkApiVersion(url.searchParams.get('api-version'));
  const match = table.match(req.method ?? '', url.pathname);
  if (!identityEncoded(req)) throw new AkvError('UnsupportedMediaType', 'Content-Encoding is not supported.');
  const declared = Number(req.headers['content-length'] ?? 0);
  if (match.route.maxBodyBytes === 0 && (declared > 0 || req.headers['transfer-encoding'] !== undefined)) {
    throw badParameter(`The operation ${match.route.operation} takes no request body.`);
  }
  const body = match.route.maxBodyBytes === 0 ? Buffer.alloc(0)
    : await readBoundedBody(req, match.route.maxBodyBytes, bodyErrors(match.route.maxBodyBytes));
  return {
    operation: match.route.operation, name: match.name, version: match.version, query: url.searchParams,
    input: parseJson(body), principal, vaultUrl, apiVersion, requestId,
  };
}

function send(res: ServerResponse, status: number, requestId: string, payload?: object, extra: Record<string, string> = {}): void {
  res.statusCode = status;
  res.setHeader('x-ms-request-id', requestId);
  res.setHeader('Cache-Control', 'no-cache');
  for (const [k, v] of Object.entries(extra)) res.setHeader(k, v);
  if (payload === undefined) { res.end(); return; }
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.end(body);
}

export function writeAkvError<P>(res: ServerResponse, requestId: string, err: AkvError, auth: AkvAuthenticator<P>): void {
  if (res.headersSent) { res.destroy(); return; }
  const extra: Record<string, string> = {};
  if (err.status === 401 && res.req) extra['WWW-Authenticate'] = auth.challenge(res.req, err);
  // A body we did not read (refused early, too large) must not be parsed as the next request.
  if (!res.req?.complete) extra.Connection = 'close';
  send(res, err.status, requestId, err.toJSON(), extra);
}

function toAkvError<P>(err: unknown, opts: AkvHandlerOptions<P>, requestId: string): AkvError {
  if (err instanceof AkvError) return err;
  let cause = err;
  try {
    const mapped = opts.mapError?.(err);
    if (mapped instanceof AkvError) return mapped;
  } catch (mapperFailure) {
    cause = mapperFailure;
  }
  try { opts.onInternalError?.(cause, requestId); } catch { /* logging is best effort */ }
  return internalError();
}

/** A node:http request listener for `/keys`, `/deletedkeys` and `/rng`; never throws. */
export function createAkvHandler<P>(opts: AkvHandlerOptions<P>): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const table = new RouteTable(opts.routes);
  return async (req, res) => {
    const requestId = randomUuid();
    try {
      const request = await readAkvRequest(req, table, opts.auth, requestId);
      const result = await opts.dispatch(request);
      if (result.status === 204) send(res, 204, requestId);
      else send(res, 200, requestId, result.body);
    } catch (err) {
      writeAkvError(res, requestId, toAkvError(err, opts, requestId), opts.auth);
    }
  };
}
