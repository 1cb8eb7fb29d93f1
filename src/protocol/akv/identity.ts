// What the Key Vault face's token issuer and bearer check need from the module, as callbacks
// (the API layer wires them to its port): client secrets are checked, tokens signed and
// verified, and callers minted inside the module; this layer only frames OAuth2 and JWTs.
import type { TokenSigner, TokenVerifier } from './jwt';

export interface TokenKey {
  keyId: string;
  /** Raw 32-byte Ed25519 public key (RFC 8037 `x`). */
  publicKey: Buffer;
}

export interface IdentityOptions<P> {
  /** The tenant id this face serves (the first path segment of the authority, as Entra ID). */
  tenant: string;
  /**
   * `iss` of every token and the metadata's `issuer`. MSAL requires it to share scheme and host
   * with the authority (msal-common Authority.validateIssuer), so it is `${authorityUrl}/${tenant}/v2.0`
   * as Entra ID's v2 issuer is.
   */
  issuer: string;
  /** The audience: the challenge's `resource`; clients ask for scope `${resource}/.default`. */
  resource: string;
  /**
   * Base URL of the token endpoints (https, no trailing slash) as clients reach it: the SDK's
   * `authorityHost`. It goes into the challenge and the metadata; fixed so tokens can be checked.
   */
  authorityUrl: string;
  tokenLifetimeSeconds?: number;
  now?: () => number;
  /** Current key first. */
  tokenKeys: () => Promise<readonly TokenKey[]>;
  signToken: TokenSigner;
  verifyTokenSignature: TokenVerifier;
  /** Checks a client id and secret; undefined for either wrong (the module counts failures). */
  authenticateClient: (clientId: string, secret: string) => Promise<{ subject: string } | undefined>;
  /** The caller for a verified token's subject; undefined when it may no longer act. */
  callerFor: (subject: string, tokenId: string) => Promise<P | undefined>;
}

/** Entra ID's default for client-credential tokens is 60-90 minutes; Inkan's are short. */
export const DEFAULT_TOKEN_LIFETIME_SECONDS = 900;
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;
/** Entra ID tenant ids are GUIDs or domain names; the SDK parses the tenant from the challenge URL path. */
export const TENANT = /^[0-9A-Za-z][0-9A-Za-z.-]{0,63}$/;
