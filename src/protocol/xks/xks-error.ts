// XksError: an error in the XKS proxy API's vocabulary, `{"errorName","errorMessage"}` with the
// HTTP status from the spec's error table (aws-kms-xksproxy-api-spec, "Error codes").

const STATUS_BY_NAME: Readonly<Record<string, number>> = Object.freeze({
  ValidationException: 400,
  InvalidStateException: 400,
  InvalidCiphertextException: 400,
  InvalidKeyUsageException: 400,
  AuthenticationFailedException: 401,
  AccessDeniedException: 403,
  KeyNotFoundException: 404,
  InvalidUriPathException: 404,
  ThrottlingException: 429,
  InternalException: 500,
  UnsupportedOperationException: 501,
  DependencyTimeoutException: 503,
});

export type XksErrorName = keyof typeof STATUS_BY_NAME;

/** Spec: errorMessage is under 512 characters of printable ASCII (0x20-0x7e). */
function printable(message: string): string {
  return message.replace(/[^\x20-\x7e]/g, '?').slice(0, 511);
}

/** The message must be safe to send: never plaintexts, keys or secrets. */
export class XksError extends Error {
  readonly errorName: string;
  readonly status: number;
  constructor(errorName: string, message: string, status?: number) {
    super(printable(message));
    this.name = 'XksError';
    this.errorName = errorName;
    this.status = status ?? STATUS_BY_NAME[errorName] ?? 500;
  }

  toJSON(): { errorName: string; errorMessage: string } {
    return { errorName: this.errorName, errorMessage: this.message };
  }
}

export const validation = (message: string): XksError => new XksError('ValidationException', message);

export function internalError(): XksError {
  return new XksError('InternalException', 'The request failed because of an internal error; the detail is in the proxy log.');
}
