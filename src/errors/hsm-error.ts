// HsmError: the one error type crossing layers. Its message is safe to show a caller:
// never put key bytes, plaintexts or passwords in it.
import { ERRORS, ErrorCode } from './catalog';

export class HsmError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message?: string) {
    super(message ?? ERRORS[code].message);
    this.name = 'HsmError';
    this.code = code;
  }
  get ckr(): number { return ERRORS[this.code].ckr; }
  get status(): number { return ERRORS[this.code].status; }
  get kmsType(): string { return ERRORS[this.code].kmsType; }
  get kmsStatus(): number { return ERRORS[this.code].kmsStatus; }
}

/** The one path for unexpected errors on every face: anything that is not an HsmError becomes
 *  INTERNAL, its detail left to the server log (the faces log it before answering). */
export function toHsmError(err: unknown): HsmError {
  if (err instanceof HsmError) return err;
  // The store's own "database unreachable / busy" (keystore/postgres): retryable, and said so.
  const code = (err as { code?: unknown } | undefined)?.code;
  if (code === 'STORE_UNAVAILABLE' || code === 'STORE_BUSY') return new HsmError('STORE_UNAVAILABLE');
  return new HsmError('INTERNAL');
}
