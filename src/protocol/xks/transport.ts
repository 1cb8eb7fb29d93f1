// The XKS proxy face's trust boundary (aws-kms-xksproxy-api-spec v1.0.3): URI prefix and
// operation from the path, POST only, JSON body capped, SigV4 with service `kms-xks-proxy`
// (spec Appendix A, verified by the KMS face's verifier), then a typed XksRequest. Errors are
// the spec's {errorName, errorMessage} with its statuses. It knows no keys or crypto.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUuid } from '../../crypto/node-crypto';
import { identityEncoded, mediaType, readBoundedBody } from '../http/bounded-body';
import { KmsError, SigningKeyCache, verifySigV4 } from '../kms';
import { XksError, internalError, validation } from './xks-error';

/** Spec Appendix A: the service in the credential scope. */
export const XKS_SERVICE = 'kms-xks-proxy';
/** Spec Appendix A, Task 4: requests more than 5 minutes off SHOULD fail authentication. */
export const XKS_MAX_SKEW_MS = 5 * 60 * 1000;
/** Plaintext ≤ 4300 bytes and AAD ≤ 8192 bytes must be supported (spec "Encrypt"); base64 and metadata fit in this. */
export const XKS_MAX_BODY_BYTES = 64 * 1024;
/** XksProxyUriPath: at most 128 characters of a-z A-Z 0-9 / - _ (spec "API operations"). */
const STORE_PATH = /^(?:\/[A-Za-z0-9_-]+)*$/;
/** externalKeyId: at most 128 letters, digits, hyphens, periods and underscores. */
const KEY_ID = /^[A-Za-z0-9._-]{1,128}$/;
const API_PATH = '/kms/xks/v1';

export type XksOperation = 'GetKeyMetadata' | 'Encrypt' | 'Decrypt' | 'GetHealthStatus';
const BY_SUFFIX: Readonly<Record<string, XksOperation>> = Object.freeze({ metadata: 'GetKeyMetadata', encrypt: 'Encrypt', decrypt: 'Decrypt' });

export interface XksRequest<P> {
  operation: XksOperation;
  /** The key store's path prefix before /kms/xks/v1 ('' for none). */
  storePath: string;
  keyId?: string;
  input: Readonly<Record<string, unknown>>;
  principal: P;
  accessKeyId: string;
  region: string;
  requestId: string;
}

export type XksSecretLookup<P> = (storePath: string, accessKeyId: string) => Promise<{ secretAccessKey: string; principal: P } | undefined>;

/** The key stores served: a fixed list of path prefixes ('' or '/a/b', each ≤ 128 characters with
 *  /kms/xks/v1), or a check the module answers (stores come and go with their credentials). */
export type XksStorePaths = readonly string[] | ((storePath: string) => Promise<boolean>);

export interface XksHandlerOptions<P> {
  /** SigV4 signing keys reused across requests (createXksHandler makes one per handler). */
  signingKeys?: SigningKeyCache;
  storePaths: XksStorePaths;
  lookupSecret: XksSecretLookup<P>;
  dispatch: (request: XksRequest<P>) => Promise<object>;
  mapError?: (err: unknown) => XksError | undefined;
  onInternalError?: (err: unknown, requestId: string) => void;
  now?: () => number;
}

const invalidPath = () => new XksError('InvalidUriPathException', 'The request URI path is not valid for this XKS proxy.');

export function checkStorePath(p: string): void {
  if (!STORE_PATH.test(p) || p.length + API_PATH.length > 128) {
    throw new Error(`XKS path prefix '${p.slice(0, 40)}' must be /-separated letters, digits, - and _, and with ${API_PATH} at most 128 characters`);
  }
}

/** Splits `{storePath}/kms/xks/v1/{keys/<id>/<op> | health}`; unknown prefixes and shapes are InvalidUriPath.
 *  Without a list, any well-formed prefix passes here (the caller checks it is served). */
export function parseXksPath(target: string, storePaths?: readonly string[]): { storePath: string; operation: XksOperation; keyId?: string } {
  const q = target.indexOf('?');
  if (q >= 0) throw invalidPath(); // no XKS API takes a query (spec Appendix A, Task 1)
  if (target.length > 512) throw invalidPath();
  const at = target.lastIndexOf(API_PATH + '/');
  if (at < 0) throw invalidPath();
  const storePath = target.slice(0, at);
  if (storePaths ? !storePaths.includes(storePath) : !STORE_PATH.test(storePath) || storePath.length + API_PATH.length > 128) throw invalidPath();
  const rest = target.slice(at + API_PATH.length + 1).split('/');
  if (rest.length === 1 && rest[0] === 'health') return { storePath, operation: 'GetHealthStatus' };
  if (rest.length === 3 && rest[0] === 'keys' && KEY_ID.test(rest[1]) && Object.prototype.hasOwnProperty.call(BY_SUFFIX, rest[2])) {
    return { storePath, operation: BY_SUFFIX[rest[2]], keyId: rest[1] };
  }
  throw invalidPath();
}

function parseJson(body: Buffer): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw validation('The request body is not valid UTF-8 JSON.');
  } finally {
    body.fill(0); // it may hold a plaintext
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw validation('The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

/** Any SigV4 failure (missing, malformed, unknown key, wrong service, skew, mismatch) is one XKS error. */
function authFailed(err: KmsError): XksError {
  return new XksError('AuthenticationFailedException', `SigV4 authentication failed: ${err.message}`);
}

/** Path → method → media type → body (capped) → SigV4 → JSON. Nothing is parsed before it is authenticated. */
export async function readXksRequest<P>(req: IncomingMessage, opts: XksHandlerOptions<P>, requestId: string): Promise<XksRequest<P>> {
  const target = req.url ?? '/';
  const dynamic = typeof opts.storePaths === 'function' ? opts.storePaths : undefined;
  const route = parseXksPath(target, dynamic ? undefined : opts.storePaths as readonly string[]);
  if (dynamic && !(await dynamic(route.storePath))) throw invalidPath();
  if (req.method !== 'POST') throw new XksError('ValidationException', 'XKS API requests use POST (spec: GET is refused with 405).', 405);
  if (mediaType(req) !== 'application/json') throw validation('Content-Type must be application/json.');
  if (!identityEncoded(req)) throw validation('Content-Encoding is not supported.');
  const body = await readBoundedBody(req, XKS_MAX_BODY_BYTES, {
    tooLarge: () => new XksError('UnsupportedOperationException', `The request body exceeds ${XKS_MAX_BODY_BYTES} bytes.`),
    unreadable: () => validation('The request body could not be read.'),
  });
  let caller;
  try {
    caller = await verifySigV4({ method: 'POST', target, rawHeaders: req.rawHeaders, body }, {
      service: XKS_SERVICE, now: opts.now, maxSkewMs: XKS_MAX_SKEW_MS, signingKeys: opts.signingKeys,
      lookupSecret: async (akid) => {
        const found = await opts.lookupSecret(route.storePath, akid);
        return found && { secretAccessKey: found.secretAccessKey, principal: found.principal };
      },
    });
  } catch (err) {
    body.fill(0);
    if (err instanceof KmsError) throw authFailed(err);
    throw err;
  }
  const input = parseJson(body);
  return { ...route, input, principal: caller.principal, accessKeyId: caller.accessKeyId, region: caller.region, requestId };
}

function send(res: ServerResponse, status: number, payload: object, requestId: string): void {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', body.length);
  res.setHeader('x-request-id', requestId);
  if (status >= 400 && !res.req?.complete) res.setHeader('Connection', 'close');
  res.end(body);
}

function toXksError<P>(err: unknown, opts: XksHandlerOptions<P>, requestId: string): XksError {
  if (err instanceof XksError) return err;
  let cause = err;
  try {
    const mapped = opts.mapError?.(err);
    if (mapped instanceof XksError) return mapped;
  } catch (mapperFailure) {
    cause = mapperFailure;
  }
  try { opts.onInternalError?.(cause, requestId); } catch { /* best effort */ }
  return internalError();
}

/** A node:http request listener for every path under the configured XKS prefixes; never throws. */
export function createXksHandler<P>(given: XksHandlerOptions<P>): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const opts: XksHandlerOptions<P> = { ...given, signingKeys: given.signingKeys ?? new SigningKeyCache() };
  if (typeof opts.storePaths !== 'function') opts.storePaths.forEach(checkStorePath);
  return async (req, res) => {
    const requestId = randomUuid();
    try {
      const request = await readXksRequest(req, opts, requestId);
      send(res, 200, await opts.dispatch(request), requestId);
    } catch (err) {
      if (res.headersSent) { res.destroy(); return; }
      const e = toXksError(err, opts, requestId);
      send(res, e.status, e.toJSON(), requestId);
    }
  };
}
