// HsmError → the KMS wire error (`__type`, status) through the one catalog (errors/catalog.ts).
// Anything that is not an HsmError is left unmapped, so the transport answers the generic
// KMSInternalException and logs the detail server-side only.
import { KmsError } from '../../protocol/kms';
import { toHsmError } from '../../errors/hsm-error';

export function toKmsError(err: unknown): KmsError | undefined {
  if (err instanceof KmsError) return err;
  const e = toHsmError(err);
  if (e.code === 'INTERNAL') return undefined;
  return new KmsError(e.kmsType, e.message, e.kmsStatus);
}
