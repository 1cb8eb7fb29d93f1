// AkvError: an error already in Azure Key Vault's wire vocabulary. The body is Key Vault's
// envelope {"error":{"code","message","innererror"?:{"code"}}}; the SDK turns it into a
// RestError with `code` and `statusCode` (docs/azure-keyvault-wire.md §3.2).

/** Status per top-level code, as Key Vault answers them (learn.microsoft.com "REST API error codes"). */
const STATUS_BY_CODE: Readonly<Record<string, number>> = Object.freeze({
  BadParameter: 400,
  Unauthorized: 401,
  Forbidden: 403,
  KeyNotFound: 404,
  NotFound: 404,
  MethodNotAllowed: 405,
  Conflict: 409,
  PayloadTooLarge: 413,
  UnsupportedMediaType: 415,
  Throttled: 429,
  InternalServerError: 500,
  ServiceUnavailable: 503,
});

export function statusForCode(code: string): number {
  return Object.prototype.hasOwnProperty.call(STATUS_BY_CODE, code) ? STATUS_BY_CODE[code] : 400;
}

/** The message must be safe to send: never key bytes, plaintexts, secrets or tokens. */
export class AkvError extends Error {
  readonly code: string;
  readonly status: number;
  /** Key Vault's `innererror.code`, a finer reason (e.g. KeyDisabled under Forbidden). */
  readonly inner?: string;
  constructor(code: string, message: string, opts: { status?: number; inner?: string } = {}) {
    super(message);
    this.name = 'AkvError';
    this.code = code;
    this.status = opts.status ?? statusForCode(code);
    this.inner = opts.inner;
  }

  toJSON(): { error: { code: string; message: string; innererror?: { code: string } } } {
    const error: { code: string; message: string; innererror?: { code: string } } = { code: this.code, message: this.message };
    if (this.inner !== undefined) error.innererror = { code: this.inner };
    return { error };
  }
}

export const badParameter = (message: string, inner?: string): AkvError => new AkvError('BadParameter', message, { inner });

/** The generic answer for anything unexpected; the detail stays in the server log. */
export function internalError(): AkvError {
  return new AkvError('InternalServerError', 'An unexpected error occurred while processing the request.');
}
