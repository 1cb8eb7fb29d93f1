// GetPublicKey: the DER SubjectPublicKeyInfo of an asymmetric key, with what it may be used for.
import { HsmError } from '../../../errors/hsm-error';
import { optionalStringList, writeBlob } from '../../../protocol/kms';
import { algorithmsFor } from '../algorithms';
import { arnOf, inputKey, type KmsOperation } from '../context';

export const getPublicKey: KmsOperation = async (ctx, input) => {
  optionalStringList(input, 'GrantTokens', { max: 10 });
  const key = await inputKey(ctx, input);
  ctx.keys.requireUsable(key);
  const r = key.record;
  if (r.keySpec === 'SYMMETRIC_DEFAULT' || r.keySpec.startsWith('HMAC_')) throw new HsmError('NOT_SUPPORTED', `${key.id} is not an asymmetric key`);
  const spki = await ctx.hsm.lookup.exportPublic(ctx.caller, await ctx.keys.versionObject(ctx.caller, key));
  const algs = algorithmsFor(r.keySpec, r.keyUsage);
  return {
    KeyId: arnOf(ctx, key), PublicKey: writeBlob(spki), CustomerMasterKeySpec: r.keySpec, KeySpec: r.keySpec, KeyUsage: r.keyUsage,
    EncryptionAlgorithms: algs.encryption, SigningAlgorithms: algs.signing, KeyAgreementAlgorithms: algs.keyAgreement,
  };
};
