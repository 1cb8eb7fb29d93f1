// Public surface of the Azure Key Vault transport: what src/api/akv and the composition root may use.
export { AkvError, badParameter, internalError, statusForCode } from './akv-error';
export { API_VERSIONS, LATEST_API_VERSION, checkApiVersion } from './api-version';
export type { ApiVersion } from './api-version';
export { KEY_NAME, RouteTable } from './routes';
export type { AkvMethod, AkvRoute, RouteMatch } from './routes';
export { createAkvHandler, readAkvRequest, writeAkvError, vaultUrlOf } from './transport';
export type { AkvRequest, AkvResult, AkvDispatch, AkvAuthenticator, AkvHandlerOptions } from './transport';
export { createBearerAuthenticator } from './bearer';
export { createOAuthHandler, isOAuthPath } from './oauth';
export type { OAuthHandler } from './oauth';
export { DEFAULT_TOKEN_LIFETIME_SECONDS, MAX_TOKEN_LIFETIME_SECONDS, TENANT } from './identity';
export type { IdentityOptions, TokenKey } from './identity';
export { issueJwt, verifyJwt, TokenRejected, TOKEN_ALG, MAX_TOKEN_LENGTH, CLOCK_LEEWAY_SECONDS } from './jwt';
export type { TokenClaims, TokenSigner, TokenVerifier } from './jwt';
export * from './shapes';
