// The Azure Key Vault face: its route table (one line per operation, as the KMS face's table)
// and the two request handlers the composition root mounts: the vault (`/keys`, `/deletedkeys`,
// `/rng`) and the token issuer (`/{tenant}/…`). Everything below talks to the core only through
// the AkvBackend port.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../logger';
import {
  AkvError, TENANT, createAkvHandler, createBearerAuthenticator, createOAuthHandler, isOAuthPath,
  type AkvRequest, type AkvResult, type AkvRoute, type IdentityOptions,
} from '../../protocol/akv';
import type { AkvBackend } from './backend';
import type { AkvOperation } from './context';
import { toAkvError } from './errors';
import { createKey, getKey, importKey, listKeys, listKeyVersions, updateKey } from './ops/keys';
import { backupKey, deleteKey, getDeletedKey, listDeletedKeys, purgeDeletedKey, recoverDeletedKey, restoreKey } from './ops/lifecycle';
import { getRotationPolicy, rotateKey, updateRotationPolicy } from './ops/rotation';
import { decrypt, encrypt, getRandomBytes, sign, unwrapKey, verify, wrapKey } from './ops/crypto';

const KIB = 1024;
type Entry = AkvRoute & { run: AkvOperation };
const route = (method: AkvRoute['method'], path: string, operation: string, maxBodyBytes: number, run: AkvOperation): Entry =>
  ({ method, path, operation, maxBodyBytes, run });

/** Paths and body caps per operation (docs/azure-keyvault-wire.md §3.1). */
export const ROUTES: readonly Entry[] = [
  route('GET', '/keys', 'GetKeys', 0, listKeys),
  route('POST', '/keys/restore', 'RestoreKey', 512 * KIB, restoreKey),
  route('POST', '/keys/{name}/create', 'CreateKey', 4 * KIB, createKey),
  route('PUT', '/keys/{name}', 'ImportKey', 16 * KIB, importKey),
  route('GET', '/keys/{name}', 'GetKey', 0, getKey),
  route('GET', '/keys/{name}/{version}', 'GetKey', 0, getKey),
  route('PATCH', '/keys/{name}', 'UpdateKey', 8 * KIB, updateKey),
  route('PATCH', '/keys/{name}/{version}', 'UpdateKey', 8 * KIB, updateKey),
  route('DELETE', '/keys/{name}', 'DeleteKey', 0, deleteKey),
  route('GET', '/keys/{name}/versions', 'GetKeyVersions', 0, listKeyVersions),
  route('POST', '/keys/{name}/backup', 'BackupKey', 0, backupKey),
  route('POST', '/keys/{name}/rotate', 'RotateKey', 0, rotateKey),
  route('GET', '/keys/{name}/rotationpolicy', 'GetKeyRotationPolicy', 0, getRotationPolicy),
  route('PUT', '/keys/{name}/rotationpolicy', 'UpdateKeyRotationPolicy', 8 * KIB, updateRotationPolicy),
  route('POST', '/keys/{name}/{version}/encrypt', 'Encrypt', 96 * KIB, encrypt),
  route('POST', '/keys/{name}/{version}/decrypt', 'Decrypt', 96 * KIB, decrypt),
  route('POST', '/keys/{name}/{version}/wrapkey', 'WrapKey', 96 * KIB, wrapKey),
  route('POST', '/keys/{name}/{version}/unwrapkey', 'UnwrapKey', 96 * KIB, unwrapKey),
  route('POST', '/keys/{name}/{version}/sign', 'Sign', 4 * KIB, sign),
  route('POST', '/keys/{name}/{version}/verify', 'Verify', 8 * KIB, verify),
  route('GET', '/deletedkeys', 'GetDeletedKeys', 0, listDeletedKeys),
  route('GET', '/deletedkeys/{name}', 'GetDeletedKey', 0, getDeletedKey),
  route('DELETE', '/deletedkeys/{name}', 'PurgeDeletedKey', 0, purgeDeletedKey),
  route('POST', '/deletedkeys/{name}/recover', 'RecoverDeletedKey', 0, recoverDeletedKey),
  route('POST', '/rng', 'GetRandomBytes', 1 * KIB, getRandomBytes),
];

const OPERATIONS: ReadonlyMap<string, AkvOperation> = new Map(ROUTES.map((r) => [r.operation, r.run]));

export interface AkvApiOptions {
  /** The one tenant id served (the SDK takes it from the challenge; ClientSecretCredential must name it). */
  tenant: string;
  /** The token audience and the challenge's `resource`, e.g. https://vault.example.com for vaults at *.vault.example.com. */
  resource: string;
  /** Public https base URL of the token endpoints, as clients reach it: the SDK's `authorityHost`. */
  authorityUrl: string;
  tokenLifetimeSeconds?: number;
  now?: () => number;
  log?: Logger;
}

export type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface AkvApi {
  /** `/keys…`, `/deletedkeys…`, `/rng` */
  vault: Handler;
  /** `/{tenant}/oauth2/…`, `/{tenant}/v2.0/…`, `/{tenant}/discovery/…` */
  oauth: Handler;
  /** Which handler answers a path, for the front router; undefined: not this face. */
  handles(path: string): 'vault' | 'oauth' | undefined;
}

const VAULT_PATH = /^\/(keys|deletedkeys|rng)(\/|$|\?)/;

export function createAkvApi<C>(backend: AkvBackend<C>, opts: AkvApiOptions): AkvApi {
  if (!TENANT.test(opts.tenant)) throw new Error('the Key Vault tenant id must be letters, digits, dots and dashes');
  if (!/^https?:\/\/[^/\s"]+$/.test(opts.resource)) throw new Error('the Key Vault resource must be a scheme://host URL without a path');
  // MSAL refuses an authority that is not https (msal-common UrlString.validateAsUri).
  if (!/^https:\/\/[^\s"]+[^/]$/.test(opts.authorityUrl)) throw new Error('the token authority URL must be https:// without a trailing slash');
  const identity: IdentityOptions<C> = {
    tenant: opts.tenant, resource: opts.resource, issuer: `${opts.authorityUrl}/${opts.tenant}/v2.0`,
    authorityUrl: opts.authorityUrl, tokenLifetimeSeconds: opts.tokenLifetimeSeconds, now: opts.now,
    tokenKeys: () => backend.tokenKeys(),
    signToken: (kid, input) => backend.signToken(kid, input),
    verifyTokenSignature: (kid, input, sig) => backend.verifyTokenSignature(kid, input, sig),
    authenticateClient: (id, secret) => backend.authenticateClient(id, secret),
    callerFor: (subject, tokenId) => backend.callerFor(subject, tokenId),
  };
  const log = opts.log;
  const dispatch = async (req: AkvRequest<C>): Promise<AkvResult> => {
    const started = Date.now();
    const run = OPERATIONS.get(req.operation);
    try {
      if (!run) throw new AkvError('NotFound', 'Unknown operation.');
      const out = await run({ port: backend as AkvBackend<unknown>, call: { caller: req.principal, face: 'akv', requestId: req.requestId }, req });
      log?.info('akv request', { op: req.operation, requestId: req.requestId, status: out.status ?? 200, ms: Date.now() - started });
      return out;
    } catch (err) {
      const code = err instanceof AkvError ? err.code : toAkvError(err)?.code ?? 'InternalServerError';
      log?.info('akv request', { op: req.operation, requestId: req.requestId, error: code, ms: Date.now() - started });
      throw err;
    }
  };
  const onInternalError = (err: unknown, requestId?: string) => log?.error('akv internal error', {
    requestId, error: err instanceof Error ? `${err.name}: ${err.stack?.split('\n').slice(1, 4).join(' | ')}` : typeof err,
  });
  return {
    vault: createAkvHandler<C>({ routes: ROUTES, auth: createBearerAuthenticator(identity), dispatch, mapError: toAkvError, onInternalError }),
    oauth: createOAuthHandler(identity, onInternalError),
    handles(path) {
      if (VAULT_PATH.test(path)) return 'vault';
      return isOAuthPath(path, opts.tenant) ? 'oauth' : undefined;
    },
  };
}
