// KmsError: an error already in AWS KMS's wire vocabulary (`__type`, message, HTTP status).
// The transport throws only these; the API layer maps HsmError to them (api/kms/errors.ts).

/**
 * Status per error type, from the `httpError` traits of the KMS model
 * (docs/kms-wire.md §1.1); every type not listed is a client error, 400.
 */
const STATUS_BY_TYPE: Readonly<Record<string, number>> = Object.freeze({
  NotFoundException: 404,
  AlreadyExistsException: 409,
  DisabledException: 409,
  KMSInvalidStateException: 409,
  DryRunOperationException: 412,
  KMSInternalException: 500,
  KeyUnavailableException: 500,
  DependencyTimeoutException: 503,
});

export function statusForType(type: string): number {
  return Object.prototype.hasOwnProperty.call(STATUS_BY_TYPE, type) ? STATUS_BY_TYPE[type] : 400;
}

/** The message must be safe to send to the caller: never key bytes, plaintexts or secrets. */
export class KmsError extends Error {
  readonly type: string;
  readonly status: number;
  constructor(type: string, message: string, status: number = statusForType(type)) {
    super(message);
    this.name = 'KmsError';
    this.type = type;
    this.status = status;
  }
}

/** AWS's wording for an unexpected failure; the detail stays in the server log. */
export function internalError(): KmsError {
  return new KmsError('KMSInternalException',
    'The request was rejected because an internal exception occurred. The request can be retried.');
}
