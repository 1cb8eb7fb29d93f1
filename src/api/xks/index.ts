// The AWS KMS External Key Store (XKS) proxy face: the operation table and the request handler
// the composition root mounts under each key store's URI prefix (or on its own TLS listener,
// src/protocol/xks/listener.ts). It talks to the core only through the XksBackend port.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../../logger';
import { XksError, createXksHandler, type XksOperation, type XksRequest, type XksStorePaths } from '../../protocol/xks';
import type { XksBackend } from './backend';
import { toXksError } from './errors';
import { decrypt, encrypt, getHealthStatus, getKeyMetadata, type XksOpContext, type XksProduct } from './ops';

const OPERATIONS: Readonly<Record<XksOperation, (ctx: XksOpContext) => Promise<object>>> = Object.freeze({
  GetKeyMetadata: getKeyMetadata,
  Encrypt: encrypt,
  Decrypt: decrypt,
  GetHealthStatus: getHealthStatus,
});

export interface XksApiOptions {
  /** Key store URI prefixes before /kms/xks/v1, e.g. ['/keystores/ks1'] ('' = none), or the module's check. */
  storePaths: XksStorePaths;
  product?: Partial<XksProduct>;
  now?: () => number;
  log?: Logger;
}

export interface XksApi {
  handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
  /** True for paths under `/kms/xks/v1` (any prefix: unknown ones get InvalidUriPathException). */
  handles(path: string): boolean;
}

export function createXksApi<C>(backend: XksBackend<C>, opts: XksApiOptions): XksApi {
  const product: XksProduct = { vendor: 'Inkan', model: 'Inkan XKS proxy 0.1', ekmVendor: 'Inkan', fleetSize: 1, ...opts.product };
  const log = opts.log;
  const dispatch = async (req: XksRequest<C>): Promise<object> => {
    const started = Date.now();
    // Spec "Logging": log kmsRequestId (and the operation) for CloudTrail correlation; never data.
    const md = req.input.requestMetadata as Record<string, unknown> | undefined;
    const kmsRequestId = typeof md?.kmsRequestId === 'string' ? md.kmsRequestId.slice(0, 80) : undefined;
    try {
      const out = await OPERATIONS[req.operation]({ port: backend as XksBackend<unknown>, req, product });
      log?.info('xks request', { op: req.operation, key: req.keyId, kmsRequestId, requestId: req.requestId, status: 200, ms: Date.now() - started });
      return out;
    } catch (err) {
      const name = err instanceof XksError ? err.errorName : toXksError(err)?.errorName ?? 'InternalException';
      log?.info('xks request', { op: req.operation, key: req.keyId, kmsRequestId, requestId: req.requestId, error: name, ms: Date.now() - started });
      throw err;
    }
  };
  const handler = createXksHandler<C>({
    storePaths: opts.storePaths, now: opts.now, dispatch, mapError: toXksError,
    lookupSecret: async (storePath, akid) => {
      const found = await backend.lookupCredential(storePath, akid);
      return found && { secretAccessKey: found.secretAccessKey, principal: found.caller };
    },
    onInternalError: (err, requestId) => log?.error('xks internal error', {
      requestId, error: err instanceof Error ? `${err.name}: ${err.stack?.split('\n').slice(1, 4).join(' | ')}` : typeof err,
    }),
  });
  return { handler, handles: (path) => path.includes('/kms/xks/v1/') };
}
