// DeriveSharedSecret: ECDH between a KEY_AGREEMENT key and a peer's public key (DER SPKI);
// the raw shared secret (the x-coordinate, as AWS returns it) goes back to the caller.
import * as c from '../../../crypto/node-crypto';
import { HsmError } from '../../../errors/hsm-error';
import { CKM } from '../../../pkcs11/constants';
import { CURVES, ecPointOf } from '../../../mechanisms/key-types';
import { optionalStringList, requireBlob, requireEnum, writeBlob } from '../../../protocol/kms';
import { arnOf, usableKey, type KmsOperation } from '../context';

export const deriveSharedSecret: KmsOperation = async (ctx, input) => {
  optionalStringList(input, 'GrantTokens', { max: 10 });
  const key = await usableKey(ctx, input, 'KEY_AGREEMENT');
  requireEnum(input, 'KeyAgreementAlgorithm', ['ECDH'] as const);
  const spki = requireBlob(input, 'PublicKey', { min: 1, max: 8192 });
  const obj = await ctx.keys.versionObject(ctx.caller, key);
  const curve = CURVES.find((k) => k.name === key.managed.data.spec.curve);
  if (!curve) throw new HsmError('KEY_FUNCTION_NOT_PERMITTED', `${key.id} is not an elliptic-curve key`);
  let peer: c.KeyObject;
  try { peer = c.publicKeyFromDer(spki); } catch { throw new HsmError('BAD_REQUEST', 'PublicKey must be a DER SubjectPublicKeyInfo'); }
  if (peer.asymmetricKeyType !== 'ec' || peer.asymmetricKeyDetails?.namedCurve !== curve.node) {
    throw new HsmError('BAD_REQUEST', 'PublicKey must be on the same curve as the key');
  }
  const secret = await ctx.hsm.crypto.deriveSecret(ctx.caller, obj, CKM.ECDH1_DERIVE, { publicData: ecPointOf(peer, curve.bits) }, 0);
  try {
    return { KeyId: arnOf(ctx, key), SharedSecret: writeBlob(secret), KeyAgreementAlgorithm: 'ECDH', KeyOrigin: key.record.origin };
  } finally { secret.fill(0); }
};
