// GetParametersForImport and ImportKeyMaterial for keys created with Origin EXTERNAL: the
// material arrives wrapped under an RSA key generated inside the module (RSAES-OAEP, or
// RSA-AES key wrap for material longer than OAEP can carry) and is unwrapped inside it.
import { CKA, CKK, CKO } from '../../../pkcs11/constants';
import { HsmError } from '../../../errors/hsm-error';
import { purposeOf, SPECS } from '../key-specs';
import { versionTemplate } from '../../../core/key-specs';
import { optionalEnum, optionalTimestamp, requireBlob, requireEnum, writeBlob, writeTimestamp } from '../../../protocol/kms';
import { WRAPPING_ALGORITHM_NAMES, WRAPPING_ALGORITHMS, WRAPPING_KEY_SPECS } from '../algorithms';
import { arnOf, inputKey, type KmsOperation } from '../context';

export const getParametersForImport: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const algorithm = requireEnum(input, 'WrappingAlgorithm', WRAPPING_ALGORITHM_NAMES);
  const spec = requireEnum(input, 'WrappingKeySpec', [...Object.keys(WRAPPING_KEY_SPECS), 'SM2']);
  if (!WRAPPING_ALGORITHMS[algorithm]) throw new HsmError('NOT_SUPPORTED', `WrappingAlgorithm ${algorithm} is not supported`);
  if (!WRAPPING_KEY_SPECS[spec]) throw new HsmError('NOT_SUPPORTED', `WrappingKeySpec ${spec} is not supported`);
  const out = await ctx.keys.beginImport(ctx.caller, key, WRAPPING_KEY_SPECS[spec], algorithm);
  return { KeyId: arnOf(ctx, key), ImportToken: writeBlob(Buffer.from(out.token, 'base64')), PublicKey: writeBlob(out.publicKey), ParametersValidTo: writeTimestamp(out.validTo) };
};

export const importKeyMaterial: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const token = requireBlob(input, 'ImportToken', { min: 1, max: 6144 });
  const wrapped = requireBlob(input, 'EncryptedKeyMaterial', { min: 1, max: 6144 });
  const model = optionalEnum(input, 'ExpirationModel', ['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'] as const);
  if (model === 'KEY_MATERIAL_EXPIRES' || optionalTimestamp(input, 'ValidTo') !== undefined) {
    throw new HsmError('NOT_SUPPORTED', 'expiring key material is not supported; use KEY_MATERIAL_DOES_NOT_EXPIRE');
  }
  const kind = SPECS[key.record.keySpec].core.kind;
  const secret = kind === 'aes' || kind === 'hmac';
  const cls = secret ? CKO.SECRET_KEY : CKO.PRIVATE_KEY;
  const t = versionTemplate(cls, purposeOf(key.record.keyUsage), key.id, Buffer.from(key.id.replace(/-/g, ''), 'hex'));
  t.set(CKA.CLASS, cls);
  if (secret) t.set(CKA.KEY_TYPE, kind === 'aes' ? CKK.AES : CKK.GENERIC_SECRET);
  const algorithm = key.record.importParams?.algorithm;
  const wrap = algorithm ? WRAPPING_ALGORITHMS[algorithm] : undefined;
  if (!wrap) throw new HsmError('IMPORT_TOKEN_INVALID');
  const after = await ctx.keys.finishImport(ctx.caller, key, token, { mechanism: wrap.mech, params: wrap.params as Record<string, unknown> }, wrapped, t);
  return { KeyId: arnOf(ctx, after), KeyMaterialId: after.current?.materialId };
};
