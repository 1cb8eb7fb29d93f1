// HsmError → the KMS wire error (`__type`, status) through the one catalog (errors/catalog.ts).
// Anything that is not an HsmError is left unmapped, so the transport answers the generic
// KMSInternalException and logs the detail server-side only.
import { KmsError } from '../protocol/kms';
import { HsmError } from './hsm-error';

export function toKmsError(err: unknown): KmsError | undefined {
  if (err instanceof KmsError) return err;
  if (!(err instanceof HsmError) || err.code === 'INTERNAL') return undefined;
  return new KmsError(err.kmsType, err.message, err.kmsStatus);
}
