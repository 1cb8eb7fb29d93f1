// The KMS face's trust boundary: turns an HTTP request into a typed, size-capped, SigV4-
// authenticated KmsRequest, and writes results and errors in the AWS JSON 1.1 envelope
// (docs/kms-wire.md §1.1). It knows no operations; the API layer dispatches on `operation`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomUuid } from '../../crypto/node-crypto';
import { KmsError, internalError } from './kms-error';
import { SecretLookup, SigningKeyCache, verifySigV4 } from './sigv4';

export const KMS_CONTENT_TYPE = 'application/x-amz-json-1.1';
/** `targetPrefix` of the KMS service model (botocore service-2.json). */
export const KMS_TARGET_PREFIX = 'TrentService.';
/** KMS bodies are small: Plaintext ≤ 4096 bytes, CiphertextBlob ≤ 6144, policies ≤ 32 KiB. */
export const DEFAULT_MAX_BODY_BYTES = 64 * 1024;

const OPERATION_NAME = /^[A-Z][A-Za-z0-9]{0,63}$/;

export interface KmsTransportOptions<P = unknown> {
  lookupSecret: SecretLookup<P>;
  maxBodyBytes?: number;
  /** When set, SigV4 credential scopes must name one of these regions. */
  regions?: readonly string[];
  /** Clock in epoch milliseconds, for the SigV4 skew check. */
  now?: () => number;
  /** SigV4 signing keys to reuse across requests (createKmsHandler makes one per handler). */
  signingKeys?: SigningKeyCache;
}

export interface KmsRequest<P = unknown> {
  /** The `X-Amz-Target` suffix, e.g. `GenerateRandom`; not yet checked against any operation table. */
  operation: string;
  input: Record<string, unknown>;
  principal: P;
  accessKeyId: string;
  region: string;
  requestId: string;
}

/** The API layer: runs one operation and returns its output shape (undefined = no output members). */
export type KmsDispatch<P = unknown> = (request: KmsRequest<P>) => Promise<object | undefined>;

export interface KmsHandlerOptions<P = unknown> extends KmsTransportOptions<P> {
  dispatch: KmsDispatch<P>;
  /** Maps the API layer's own errors (HsmError) to the wire; undefined or absent → KMSInternalException. */
  mapError?: (err: unknown) => KmsError | undefined;
  /** Server-side log of unexpected failures; the caller only ever sees the generic internal error. */
  onInternalError?: (err: unknown, requestId: string) => void;
  newRequestId?: () => string;
}

export function newRequestId(): string {
  return randomUuid();
}

/** Method, path, content type and target: checked before a byte of the body is read. */
export function checkEnvelope(req: IncomingMessage): string {
  const url = req.url ?? '';
  const q = url.indexOf('?');
  if ((q < 0 ? url : url.slice(0, q)) !== '/') {
    throw new KmsError('UnknownOperationException', 'KMS requests are sent to the path /.', 404);
  }
  if (req.method !== 'POST') {
    throw new KmsError('UnknownOperationException', 'KMS requests use the POST method.', 405);
  }
  const mediaType = (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (mediaType !== KMS_CONTENT_TYPE) {
    // Smithy's malformed-request tests answer an unexpected media type with 415.
    throw new KmsError('UnsupportedMediaTypeException', `Content-Type must be ${KMS_CONTENT_TYPE}.`, 415);
  }
  const encoding = (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase();
  if (encoding !== 'identity') {
    throw new KmsError('UnsupportedMediaTypeException', 'Content-Encoding is not supported.', 415);
  }
  const target = req.headers['x-amz-target'];
  const operation = typeof target === 'string' && target.startsWith(KMS_TARGET_PREFIX)
    ? target.slice(KMS_TARGET_PREFIX.length) : undefined;
  if (operation === undefined || !OPERATION_NAME.test(operation)) {
    throw new KmsError('UnknownOperationException',
      `X-Amz-Target must name an operation as ${KMS_TARGET_PREFIX}<Operation>.`);
  }
  return operation;
}

function tooLarge(maxBytes: number): KmsError {
  return new KmsError('ValidationException', `The request body exceeds the limit of ${maxBytes} bytes.`, 413);
}

/**
 * Reads the body, never holding more than `maxBytes`: a declared Content-Length over the cap is
 * refused before reading; a chunked body is refused (and the stream paused) as soon as it passes
 * the cap. The error response then closes the connection (see writeKmsError), so the rest is
 * never buffered.
 */
export function readBody(req: IncomingMessage, maxBytes: number = DEFAULT_MAX_BODY_BYTES): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = (): void => {
      req.off('data', onData); req.off('end', onEnd); req.off('error', onFail); req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxBytes) {
        chunks.length = 0;
        cleanup();
        req.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => { cleanup(); resolve(Buffer.concat(chunks, total)); };
    const onFail = (): void => { cleanup(); reject(new KmsError('ValidationException', 'The request body could not be read.')); };
    const onClose = (): void => { if (!req.complete) onFail(); };
    req.on('data', onData); req.on('end', onEnd); req.on('error', onFail); req.on('close', onClose);
  });
}

/**
 * Decodes the JSON 1.1 body. Smithy's malformed-request tests make undecodable bodies a 400
 * SerializationException. The SDK always sends `{}` for empty input; an empty body is read the same.
 */
export function parseJsonInput(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch {
    throw new KmsError('SerializationException', 'The request body is not valid UTF-8 JSON.');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new KmsError('SerializationException', 'The request body must be a JSON object.');
  }
  return value as Record<string, unknown>;
}

/**
 * Envelope → body (capped) → SigV4 → JSON. Authentication precedes parsing so an unauthenticated
 * caller learns nothing about how its input would have been read.
 */
export async function readKmsRequest<P>(req: IncomingMessage, opts: KmsTransportOptions<P>,
  requestId: string = newRequestId()): Promise<KmsRequest<P>> {
  const operation = checkEnvelope(req);
  const body = await readBody(req, opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES);
  const caller = await verifySigV4({ method: 'POST', target: req.url ?? '/', rawHeaders: req.rawHeaders, body }, {
    lookupSecret: opts.lookupSecret, service: 'kms', regions: opts.regions, now: opts.now, signingKeys: opts.signingKeys,
    requiredSignedHeaders: ['x-amz-target'], // the operation is chosen by this header alone
  });
  const input = parseJsonInput(body);
  return { operation, input, principal: caller.principal, accessKeyId: caller.accessKeyId, region: caller.region, requestId };
}

function send(res: ServerResponse, status: number, requestId: string, payload: string, errorType?: string): void {
  const body = Buffer.from(payload, 'utf8');
  res.statusCode = status;
  res.setHeader('Content-Type', KMS_CONTENT_TYPE);
  res.setHeader('Content-Length', body.length);
  res.setHeader('x-amzn-RequestId', requestId); // the SDK copies it to $metadata.requestId
  if (errorType !== undefined) res.setHeader('x-amzn-ErrorType', errorType);
  res.end(body);
}

/** 200 with the output shape as JSON; `{}` for operations without output. */
export function writeKmsResponse(res: ServerResponse, requestId: string, output?: object): void {
  send(res, 200, requestId, JSON.stringify(output ?? {}));
}

/**
 * `{"__type","message"}` with the type's status. The SDK reads the type from x-amzn-ErrorType
 * first, then `__type` (docs/kms-wire.md §1.1). If the request body was not fully read (too
 * large, refused early) the connection is closed, so the unread remainder is never processed.
 */
export function writeKmsError(res: ServerResponse, requestId: string, err: KmsError): void {
  if (res.headersSent) { res.destroy(); return; }
  if (!res.req?.complete) res.setHeader('Connection', 'close');
  send(res, err.status, requestId, JSON.stringify({ __type: err.type, message: err.message }), err.type);
}

/** Never throws: a failing mapper or logger must not leave the caller without an answer. */
function toKmsError<P>(err: unknown, opts: KmsHandlerOptions<P>, requestId: string): KmsError {
  if (err instanceof KmsError) return err;
  let cause = err;
  try {
    const mapped = opts.mapError?.(err);
    if (mapped instanceof KmsError) return mapped;
  } catch (mapperFailure) {
    cause = mapperFailure;
  }
  try { opts.onInternalError?.(cause, requestId); } catch { /* logging is best effort */ }
  return internalError();
}

/** A node:http request listener for the whole KMS face: read, dispatch, write; never throws. */
export function createKmsHandler<P>(given: KmsHandlerOptions<P>): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const opts: KmsHandlerOptions<P> = { ...given, signingKeys: given.signingKeys ?? new SigningKeyCache() };
  return async (req, res) => {
    const requestId = (opts.newRequestId ?? newRequestId)();
    try {
      const request = await readKmsRequest(req, opts, requestId);
      writeKmsResponse(res, requestId, await opts.dispatch(request));
    } catch (err) {
      writeKmsError(res, requestId, toKmsError(err, opts, requestId));
    }
  };
}
