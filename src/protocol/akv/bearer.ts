// Bearer authentication for Key Vault requests (RFC 6750): the 401 challenge the SDK's
// keyVaultAuthenticationPolicy answers, and verification of the tokens our issuer minted.
import { AkvError } from './akv-error';
import { type IdentityOptions } from './identity';
import { TokenRejected, verifyJwt } from './jwt';
import type { AkvAuthenticator } from './transport';

const MESSAGES: Record<TokenRejected['reason'], string> = {
  malformed: 'The access token is malformed.',
  algorithm: 'The access token is not signed with an accepted algorithm.',
  signature: 'The access token signature is invalid.',
  expired: 'The access token has expired.',
  'not-yet-valid': 'The access token is not yet valid.',
  issuer: 'The access token was not issued by this module.',
  audience: 'The access token audience is not this vault.',
  subject: 'The client the access token was issued to may no longer use this vault.',
};

const unauthorized = (message: string, tokenError: boolean) =>
  new AkvError('Unauthorized', message, { inner: tokenError ? 'invalid_token' : undefined });

export function createBearerAuthenticator<P>(opts: IdentityOptions<P>): AkvAuthenticator<P> {
  const now = opts.now ?? Date.now;
  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') {
        throw unauthorized('AKV10000: Request is missing a Bearer or PoP token.', false);
      }
      const m = /^Bearer +([A-Za-z0-9._-]+)\s*$/i.exec(authorization);
      if (!m) throw unauthorized('The Authorization header must be of the form Bearer <token>.', true);
      try {
        const claims = await verifyJwt(m[1], {
          verify: opts.verifyTokenSignature, issuer: opts.issuer, audience: opts.resource, nowMs: now(),
        });
        if (claims.tid !== opts.tenant) throw new TokenRejected('issuer');
        const caller = await opts.callerFor(claims.sub, claims.jti);
        if (caller === undefined) throw new TokenRejected('subject');
        return caller;
      } catch (err) {
        if (err instanceof TokenRejected) throw unauthorized(MESSAGES[err.reason], true);
        throw err;
      }
    },
    challenge(_req, err) {
      // RFC 6750 §3: error="invalid_token" when a token was sent but refused. The SDK reads
      // `authorization` (its path is the tenant) and `resource` (scope = resource + "/.default").
      const base = `Bearer authorization="${opts.authorityUrl}/${opts.tenant}", resource="${opts.resource}"`;
      return err.inner === 'invalid_token' ? `${base}, error="invalid_token"` : base;
    },
  };
}
