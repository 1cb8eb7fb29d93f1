// Inkan as the token issuer for Key Vault clients: the OAuth2 client-credentials endpoint
// (RFC 6749 §4.4) and the OpenID metadata that @azure/identity's ClientSecretCredential (MSAL)
// reads when given `authorityHost` and `disableInstanceDiscovery: true`:
//   GET  {authority}/{tenant}/v2.0/.well-known/openid-configuration  (MSAL Authority.defaultOpenIdConfigurationEndpoint)
//   POST {authority}/{tenant}/oauth2/v2.0/token                        (its token_endpoint)
//   GET  {authority}/{tenant}/discovery/v2.0/keys                      (jwks_uri: the token keys, RFC 7517)
// MSAL requires https for the authority (UrlString.validateAsUri), so this is served over TLS.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUuid } from '../../crypto/node-crypto';
import { mediaType, readBoundedBody } from '../http/bounded-body';
import { DEFAULT_TOKEN_LIFETIME_SECONDS, MAX_TOKEN_LIFETIME_SECONDS, type IdentityOptions } from './identity';
import { issueJwt } from './jwt';

/** Token requests are a few hundred bytes; CAE adds a small `claims` JSON. */
const MAX_TOKEN_REQUEST_BYTES = 16 * 1024;
const CLIENT_ID = /^[0-9A-Za-z._-]{1,128}$/;
const IGNORED_SCOPES = new Set(['openid', 'profile', 'offline_access']);

class OAuthError extends Error {
  constructor(readonly status: number, readonly error: string, readonly description: string) { super(description); }
}

export type OAuthHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

/** True for the paths this handler serves (for the composition root's router). */
export function isOAuthPath(path: string, tenant: string): boolean {
  return path.startsWith(`/${tenant}/oauth2/`) || path.startsWith(`/${tenant}/v2.0/`) || path.startsWith(`/${tenant}/discovery/`);
}

function sendJson(res: ServerResponse, status: number, payload: object, close = false): void {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', 'application/json; charset=utf-8');
  res.setHeader('Content-Length', body.length);
  res.setHeader('Cache-Control', 'no-store'); // RFC 6749 §5.1
  res.setHeader('Pragma', 'no-cache');
  if (close) res.setHeader('Connection', 'close');
  res.end(body);
}

/** Entra ID's error body shape: MSAL reads `error` and `error_description` (RFC 6749 §5.2). */
function sendOAuthError(res: ServerResponse, err: OAuthError): void {
  const id = randomUuid();
  if (err.status === 401) res.setHeader('WWW-Authenticate', 'Basic realm="inkan"');
  sendJson(res, err.status, {
    error: err.error, error_description: err.description, timestamp: new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z',
    trace_id: id, correlation_id: id,
  }, !res.req?.complete);
}

function metadata<P>(opts: IdentityOptions<P>): object {
  const base = `${opts.authorityUrl}/${opts.tenant}`;
  return {
    issuer: opts.issuer,
    token_endpoint: `${base}/oauth2/v2.0/token`,
    // MSAL insists on an authorization endpoint in the metadata; Inkan offers none (client credentials only).
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    grant_types_supported: ['client_credentials'],
    response_types_supported: ['token'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    id_token_signing_alg_values_supported: ['EdDSA'],
    subject_types_supported: ['public'],
    tenant_region_scope: null,
  };
}

async function jwks<P>(opts: IdentityOptions<P>): Promise<object> {
  const keys = await opts.tokenKeys();
  return { keys: keys.map((k) => ({ kty: 'OKP', crv: 'Ed25519', x: k.publicKey.toString('base64url'), kid: k.keyId, use: 'sig', alg: 'EdDSA' })) };
}

/** One value per parameter (RFC 6749 §3.2: parameters MUST NOT be included more than once). */
function formParams(body: Buffer): Map<string, string> {
  let text: string;
  try { text = new TextDecoder('utf-8', { fatal: true }).decode(body); } catch { throw new OAuthError(400, 'invalid_request', 'The request body is not UTF-8.'); }
  const out = new Map<string, string>();
  for (const [k, v] of new URLSearchParams(text)) {
    if (out.has(k)) throw new OAuthError(400, 'invalid_request', `The parameter '${k.slice(0, 40)}' appears more than once.`);
    out.set(k, v);
  }
  return out;
}

/** client_secret_basic (RFC 6749 §2.3.1) or client_secret_post; never both. */
function clientCredentials(req: IncomingMessage, form: Map<string, string>): { clientId: string; secret: string } {
  const basic = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(req.headers.authorization ?? '');
  if (basic && form.has('client_secret')) throw new OAuthError(400, 'invalid_request', 'Use one client authentication method only.');
  let clientId = form.get('client_id');
  let secret = form.get('client_secret');
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError(401, 'invalid_client', 'The Basic credentials are malformed.');
    let id: string;
    try {
      id = decodeURIComponent(decoded.slice(0, colon));
      secret = decodeURIComponent(decoded.slice(colon + 1)); // RFC 6749 §2.3.1: form-encoded, then Basic
    } catch {
      throw new OAuthError(401, 'invalid_client', 'The Basic credentials are malformed.');
    }
    if (clientId !== undefined && clientId !== id) throw new OAuthError(400, 'invalid_request', 'client_id does not match the Basic credentials.');
    clientId = id;
  }
  if (clientId === undefined || !CLIENT_ID.test(clientId)) throw new OAuthError(400, 'invalid_request', 'A valid client_id is required.');
  if (secret === undefined || secret.length === 0 || secret.length > 512) {
    throw new OAuthError(401, 'invalid_client', 'The request must carry a client secret (client assertions are not supported).');
  }
  return { clientId, secret };
}

function checkScope<P>(opts: IdentityOptions<P>, scope: string | undefined): void {
  const wanted = `${opts.resource}/.default`;
  const scopes = (scope ?? '').split(' ').filter((s) => s !== '' && !IGNORED_SCOPES.has(s));
  const ok = scopes.length === 1 && (scopes[0] === wanted || scopes[0] === `${opts.resource}//.default`);
  if (!ok) {
    throw new OAuthError(400, 'invalid_scope', `The scope must be '${wanted}': tokens are issued for this vault only.`);
  }
}

async function token<P>(opts: IdentityOptions<P>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'POST') throw new OAuthError(405, 'invalid_request', 'The token endpoint accepts POST only.');
  if (mediaType(req) !== 'application/x-www-form-urlencoded') {
    throw new OAuthError(400, 'invalid_request', 'The body must be application/x-www-form-urlencoded.');
  }
  const body = await readBoundedBody(req, MAX_TOKEN_REQUEST_BYTES, {
    tooLarge: () => new OAuthError(413, 'invalid_request', 'The request body is too large.'),
    unreadable: () => new OAuthError(400, 'invalid_request', 'The request body could not be read.'),
  });
  const form = formParams(body);
  body.fill(0); // it held the client secret
  if (form.get('grant_type') !== 'client_credentials') {
    throw new OAuthError(400, 'unsupported_grant_type', 'Only the client_credentials grant is supported.');
  }
  const { clientId, secret } = clientCredentials(req, form);
  checkScope(opts, form.get('scope'));
  const client = await opts.authenticateClient(clientId, secret);
  if (client === undefined) {
    // One answer for an unknown client and a wrong secret, so ids cannot be probed.
    throw new OAuthError(401, 'invalid_client', 'AADSTS7000215: Invalid client secret provided.');
  }
  const keys = await opts.tokenKeys();
  if (keys.length === 0) throw new OAuthError(503, 'temporarily_unavailable', 'No token key is available.');
  const lifetime = Math.min(opts.tokenLifetimeSeconds ?? DEFAULT_TOKEN_LIFETIME_SECONDS, MAX_TOKEN_LIFETIME_SECONDS);
  const issued = await issueJwt({
    keyId: keys[0].keyId, issuer: opts.issuer, audience: opts.resource, subject: client.subject, tenant: opts.tenant,
    clientId, lifetimeSeconds: lifetime, nowMs: (opts.now ?? Date.now)(),
  }, opts.signToken);
  sendJson(res, 200, { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: issued.token });
}

async function route<P>(opts: IdentityOptions<P>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://issuer.invalid').pathname;
  const prefix = `/${opts.tenant}/`;
  if (!path.startsWith(prefix)) throw new OAuthError(400, 'invalid_tenant', 'AADSTS90002: Tenant not found.');
  const rest = path.slice(prefix.length);
  if (rest === 'oauth2/v2.0/token') return token(opts, req, res);
  if (req.method !== 'GET') throw new OAuthError(405, 'invalid_request', 'This endpoint accepts GET only.');
  if (rest === 'v2.0/.well-known/openid-configuration') return sendJson(res, 200, metadata(opts));
  if (rest === 'discovery/v2.0/keys') return sendJson(res, 200, await jwks(opts));
  if (rest === 'oauth2/v2.0/authorize') throw new OAuthError(400, 'unsupported_response_type', 'Inkan issues tokens by client credentials only.');
  throw new OAuthError(404, 'invalid_request', 'No such endpoint.');
}

/** The node:http listener for `/{tenant}/…`; never throws. Unexpected failures go to `onInternalError`. */
export function createOAuthHandler<P>(opts: IdentityOptions<P>, onInternalError?: (err: unknown) => void): OAuthHandler {
  return async (req, res) => {
    try {
      await route(opts, req, res);
    } catch (err) {
      if (!(err instanceof OAuthError)) {
        try { onInternalError?.(err); } catch { /* best effort */ }
      }
      if (res.headersSent) { res.destroy(); return; }
      sendOAuthError(res, err instanceof OAuthError ? err : new OAuthError(500, 'server_error', 'The token could not be issued.'));
    }
  };
}

