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
  return err instanceof HsmError ? err : new HsmError('INTERNAL');
}
