// Compact JWS/JWT (RFC 7515, RFC 7519) for the access tokens Inkan issues to Key Vault clients:
// EdDSA over Ed25519 (RFC 8037) only, so `alg` confusion (none, HS256 with a public key) cannot
// happen. Signing and signature checks are done by the module's token key through callbacks;
// this file only frames and checks claims (exp, nbf, iss, aud).
import { randomUuid } from '../../crypto/node-crypto';

export const TOKEN_ALG = 'EdDSA';
/** Longest bearer token accepted: ours are ~450 bytes; the cap bounds work before any check. */
export const MAX_TOKEN_LENGTH = 4096;
/** Clock leeway for nbf and exp (RFC 7519 §4.1.4 allows "a small leeway"). */
export const CLOCK_LEEWAY_SECONDS = 30;

export interface TokenClaims {
  iss: string;
  aud: string;
  /** The subject the port returned for the authenticated client. */
  sub: string;
  tid: string;
  /** The OAuth client id that obtained the token (Entra ID's `azp`/`appid`). */
  azp: string;
  iat: number;
  nbf: number;
  exp: number;
  jti: string;
  ver: '2.0';
}

export type TokenSigner = (keyId: string, signingInput: Buffer) => Promise<Buffer>;
export type TokenVerifier = (keyId: string, signingInput: Buffer, signature: Buffer) => Promise<boolean>;

const json64 = (value: unknown): string => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');

export interface IssueRequest {
  keyId: string;
  issuer: string;
  audience: string;
  subject: string;
  tenant: string;
  clientId: string;
  lifetimeSeconds: number;
  nowMs: number;
}

export async function issueJwt(req: IssueRequest, sign: TokenSigner): Promise<{ token: string; claims: TokenClaims }> {
  const now = Math.floor(req.nowMs / 1000);
  const claims: TokenClaims = {
    iss: req.issuer, aud: req.audience, sub: req.subject, tid: req.tenant, azp: req.clientId,
    iat: now, nbf: now, exp: now + req.lifetimeSeconds, jti: randomUuid(), ver: '2.0',
  };
  const input = `${json64({ typ: 'JWT', alg: TOKEN_ALG, kid: req.keyId })}.${json64(claims)}`;
  const signature = await sign(req.keyId, Buffer.from(input, 'ascii'));
  return { token: `${input}.${signature.toString('base64url')}`, claims };
}

/** Why a token was refused; the transport words the 401 from it (never echoing the token). */
export class TokenRejected extends Error {
  constructor(readonly reason: 'malformed' | 'algorithm' | 'signature' | 'expired' | 'not-yet-valid' | 'issuer' | 'audience' | 'subject') {
    super(`token rejected: ${reason}`);
    this.name = 'TokenRejected';
  }
}

const SEGMENT = /^[A-Za-z0-9_-]+$/;

function parseSegment(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(text, 'base64url')));
  } catch {
    throw new TokenRejected('malformed');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new TokenRejected('malformed');
  return value as Record<string, unknown>;
}

function isClaims(c: Record<string, unknown>): c is Record<string, unknown> & TokenClaims {
  return ['iss', 'aud', 'sub', 'tid', 'azp', 'jti'].every((k) => typeof c[k] === 'string')
    && ['iat', 'nbf', 'exp'].every((k) => Number.isSafeInteger(c[k]));
}

export interface VerifyTokenOptions {
  verify: TokenVerifier;
  issuer: string;
  audience: string;
  nowMs: number;
}

/**
 * Structure, then header (alg must be EdDSA, kid present), then the signature, then the claims.
 * The signature comes before the claims so that nothing unauthenticated is trusted.
 */
export async function verifyJwt(token: string, opts: VerifyTokenOptions): Promise<TokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH) throw new TokenRejected('malformed');
  const parts = token.split('.');
  if (parts.length !== 3 || !parts.every((p) => SEGMENT.test(p))) throw new TokenRejected('malformed');
  const header = parseSegment(parts[0]);
  if (header.alg !== TOKEN_ALG) throw new TokenRejected('algorithm');
  if (typeof header.kid !== 'string' || header.kid.length === 0 || header.kid.length > 128 || 'crit' in header) {
    throw new TokenRejected('malformed');
  }
  const signature = Buffer.from(parts[2], 'base64url');
  if (signature.length !== 64) throw new TokenRejected('signature'); // Ed25519 signatures are 64 bytes
  const ok = await opts.verify(header.kid, Buffer.from(`${parts[0]}.${parts[1]}`, 'ascii'), signature);
  if (!ok) throw new TokenRejected('signature');
  const claims = parseSegment(parts[1]);
  if (!isClaims(claims)) throw new TokenRejected('malformed');
  const now = Math.floor(opts.nowMs / 1000);
  if (now >= claims.exp + CLOCK_LEEWAY_SECONDS) throw new TokenRejected('expired');
  if (now < claims.nbf - CLOCK_LEEWAY_SECONDS) throw new TokenRejected('not-yet-valid');
  if (claims.iss !== opts.issuer) throw new TokenRejected('issuer');
  if (claims.aud !== opts.audience) throw new TokenRejected('audience');
  return claims;
}
