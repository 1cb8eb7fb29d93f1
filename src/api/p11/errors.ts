// Errors → CK_RV for the PKCS#11 face. HsmError carries its CKR in the catalog; a codec error
// means the client sent something the protocol forbids (CKR_DEVICE_ERROR, or
// CKR_FUNCTION_NOT_SUPPORTED for an unknown call, docs/p11kit-rpc.md §11); anything else
// is a server bug: CKR_GENERAL_ERROR, with the detail left to the server log.
import { CKR } from '../../pkcs11/constants';
import { ProtocolError } from '../../protocol/p11rpc/protocol-error';
import { HsmError, toHsmError } from '../../errors/hsm-error';

export function toCkr(err: unknown): number {
  if (err instanceof ProtocolError) return err.kind === 'unknown-call' ? CKR.FUNCTION_NOT_SUPPORTED : CKR.DEVICE_ERROR;
  return toHsmError(err).ckr;
}

/** True when the error is expected (a refusal), false when it should be logged as a fault. */
export function isExpected(err: unknown): boolean {
  return err instanceof HsmError ? err.code !== 'INTERNAL' : err instanceof ProtocolError && err.kind !== 'encode';
}
