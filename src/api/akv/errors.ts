// The port's refusals in Key Vault's vocabulary: one table of code → (Key Vault code, inner
// code), the way errors/to-kms.ts does it for the KMS face.
import { AkvError } from '../../protocol/akv';
import { KeyPortError, type KeyPortErrorCode } from '../key-port';

const TABLE: Readonly<Record<KeyPortErrorCode, { code: string; inner?: string; status?: number }>> = Object.freeze({
  'not-found': { code: 'KeyNotFound' },
  deleted: { code: 'Conflict', inner: 'ObjectIsDeletedButRecoverable' },
  exists: { code: 'Conflict', inner: 'ObjectAlreadyExists' },
  forbidden: { code: 'Forbidden', inner: 'AccessDenied' },
  disabled: { code: 'Forbidden', inner: 'KeyDisabled' },
  expired: { code: 'Forbidden', inner: 'KeyExpired' },
  'not-yet-valid': { code: 'Forbidden', inner: 'KeyNotYetValid' },
  'use-not-permitted': { code: 'Forbidden', inner: 'KeyOperationForbidden' },
  'algorithm-mismatch': { code: 'BadParameter' },
  'invalid-input': { code: 'BadParameter' },
  'decrypt-failed': { code: 'BadParameter', inner: 'DecryptionFailed' },
  'purge-protected': { code: 'Forbidden', inner: 'PurgeProtected' },
  'invalid-backup': { code: 'BadParameter', inner: 'InvalidBackup' },
  throttled: { code: 'Throttled' },
  unavailable: { code: 'ServiceUnavailable' },
});

export function toAkvError(err: unknown): AkvError | undefined {
  if (!(err instanceof KeyPortError)) return undefined;
  const entry = TABLE[err.code];
  return entry ? new AkvError(entry.code, err.message, { inner: entry.inner, status: entry.status }) : undefined;
}
