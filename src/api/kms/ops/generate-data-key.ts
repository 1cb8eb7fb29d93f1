// GenerateDataKey(WithoutPlaintext) and GenerateDataKeyPair(WithoutPlaintext): fresh data keys
// from the module's generator, returned encrypted under a symmetric KMS key (and in plaintext
// unless the caller asked not to). Data keys are not stored in the module.
import { HsmError } from '../../../errors/hsm-error';
import { CKM } from '../../../pkcs11/constants';
import { CURVES, ED25519_OID } from '../../../mechanisms/key-types';
import { optionalEnum, optionalInteger, optionalStringList, requireEnum, writeBlob, type KmsInput } from '../../../protocol/kms';
import { arnOf, usableKey, type KmsOperation, type OpContext } from '../context';
import { encryptWith, readContext } from '../envelope';

function dataKeyLength(input: KmsInput): number {
  const spec = optionalEnum(input, 'KeySpec', ['AES_256', 'AES_128'] as const);
  const bytes = optionalInteger(input, 'NumberOfBytes', { min: 1, max: 1024 });
  if ((spec === undefined) === (bytes === undefined)) throw new HsmError('BAD_REQUEST', 'Please specify either number of bytes or key spec.');
  return spec === 'AES_128' ? 16 : spec === 'AES_256' ? 32 : bytes!;
}

async function dataKey(ctx: OpContext, input: KmsInput, withPlaintext: boolean) {
  optionalStringList(input, 'GrantTokens', { max: 10 });
  const key = await usableKey(ctx, input, 'ENCRYPT_DECRYPT');
  if (key.record.keySpec !== 'SYMMETRIC_DEFAULT') throw new HsmError('KEY_FUNCTION_NOT_PERMITTED', 'data keys are encrypted under symmetric keys only');
  const plaintext = await ctx.hsm.crypto.random(ctx.caller, dataKeyLength(input));
  try {
    const out = await encryptWith(ctx, key, undefined, plaintext, readContext(input, 'EncryptionContext'));
    return {
      CiphertextBlob: writeBlob(out.blob), Plaintext: withPlaintext ? writeBlob(plaintext) : undefined,
      KeyId: arnOf(ctx, key), KeyMaterialId: key.current?.materialId,
    };
  } finally { plaintext.fill(0); }
}

export const generateDataKey: KmsOperation = (ctx, input) => dataKey(ctx, input, true);
export const generateDataKeyWithoutPlaintext: KmsOperation = (ctx, input) => dataKey(ctx, input, false);

const PAIR_SPECS = ['RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521', 'ECC_SECG_P256K1',
  'ECC_NIST_EDWARDS25519', 'SM2'] as const;
const CURVE_OF: Record<string, string> = { ECC_NIST_P256: 'P-256', ECC_NIST_P384: 'P-384', ECC_NIST_P521: 'P-521', ECC_SECG_P256K1: 'secp256k1' };

/** The core's generation mechanism and parameters for a data key pair (generated in the module, never stored). */
function pairPlan(spec: typeof PAIR_SPECS[number]): { mech: number; params: { modulusBits?: number; ecParams?: Buffer } } {
  if (spec.startsWith('RSA_')) return { mech: CKM.RSA_PKCS_KEY_PAIR_GEN, params: { modulusBits: Number(spec.slice(4)) } };
  if (spec === 'ECC_NIST_EDWARDS25519') return { mech: CKM.EC_EDWARDS_KEY_PAIR_GEN, params: { ecParams: ED25519_OID } };
  const curve = CURVES.find((k) => k.name === CURVE_OF[spec]);
  if (!curve) throw new HsmError('NOT_SUPPORTED', `KeyPairSpec ${spec} is not supported`);
  return { mech: CKM.EC_KEY_PAIR_GEN, params: { ecParams: curve.oid } };
}

async function dataKeyPair(ctx: OpContext, input: KmsInput, withPlaintext: boolean) {
  optionalStringList(input, 'GrantTokens', { max: 10 });
  const spec = requireEnum(input, 'KeyPairSpec', PAIR_SPECS);
  const key = await usableKey(ctx, input, 'ENCRYPT_DECRYPT');
  if (key.record.keySpec !== 'SYMMETRIC_DEFAULT') throw new HsmError('KEY_FUNCTION_NOT_PERMITTED', 'data key pairs are encrypted under symmetric keys only');
  const context = readContext(input, 'EncryptionContext');
  const plan = pairPlan(spec);
  const { pkcs8, spki } = await ctx.hsm.crypto.generateDataKeyPair(ctx.caller, plan.mech, plan.params);
  try {
    const out = await encryptWith(ctx, key, undefined, pkcs8, context);
    return {
      PrivateKeyCiphertextBlob: writeBlob(out.blob), PrivateKeyPlaintext: withPlaintext ? writeBlob(pkcs8) : undefined,
      PublicKey: writeBlob(spki), KeyId: arnOf(ctx, key), KeyPairSpec: spec, KeyMaterialId: key.current?.materialId,
    };
  } finally { pkcs8.fill(0); }
}

export const generateDataKeyPair: KmsOperation = (ctx, input) => dataKeyPair(ctx, input, true);
export const generateDataKeyPairWithoutPlaintext: KmsOperation = (ctx, input) => dataKeyPair(ctx, input, false);
