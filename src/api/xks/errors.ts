// The port's refusals in the XKS spec's error names (spec "Error codes").
import { XksError } from '../../protocol/xks';
import { KeyPortError, type KeyPortErrorCode } from '../key-port';

const TABLE: Readonly<Record<KeyPortErrorCode, string>> = Object.freeze({
  'not-found': 'KeyNotFoundException',
  deleted: 'KeyNotFoundException',
  exists: 'ValidationException',
  forbidden: 'AccessDeniedException',
  disabled: 'InvalidStateException',
  expired: 'InvalidStateException',
  'not-yet-valid': 'InvalidStateException',
  'use-not-permitted': 'InvalidKeyUsageException',
  'algorithm-mismatch': 'InvalidKeyUsageException',
  'invalid-input': 'ValidationException',
  'decrypt-failed': 'InvalidCiphertextException',
  'purge-protected': 'InvalidStateException',
  'invalid-backup': 'ValidationException',
  throttled: 'ThrottlingException',
  unavailable: 'InvalidStateException',
});

export function toXksError(err: unknown): XksError | undefined {
  if (!(err instanceof KeyPortError)) return undefined;
  return new XksError(TABLE[err.code], err.message);
}
