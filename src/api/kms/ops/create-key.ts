// CreateKey: a new KMS key owned by the caller, generated inside the module as core objects
// (or, with Origin EXTERNAL, waiting for ImportKeyMaterial); a Policy becomes its access list (../key-policy.ts).
import { KEY_SPECS, KEY_USAGES, type KmsKeySpec } from '../key-specs';
import { HsmError } from '../../../errors/hsm-error';
import { optionalBoolean, optionalEnum, optionalString } from '../../../protocol/kms';
import { keyMetadata, type KmsOperation } from '../context';
import { readTags } from './tags';
import { parseKeyPolicy } from '../key-policy';
import { keyAccessAllows } from '../../../core/managed-keys';

const MODEL_KEY_SPECS = [...KEY_SPECS, 'SM2', 'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87'] as const;
const ORIGINS = ['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const;

export const createKey: KmsOperation = async (ctx, input) => {
  const policyText = optionalString(input, 'Policy', { min: 1, max: 32768 });
  const policy = policyText === undefined ? undefined : { text: policyText, access: await parseKeyPolicy(ctx, policyText) };
  if (policy && !optionalBoolean(input, 'BypassPolicyLockoutSafetyCheck') && !keyAccessAllows(policy.access, ctx.caller.principal?.id, 'manage')) {
    throw new HsmError('POLICY_INVALID', 'The new key policy will not allow you to update the key policy in the future.');
  }
  const description = optionalString(input, 'Description', { max: 8192 });
  const usage = optionalEnum(input, 'KeyUsage', KEY_USAGES) ?? 'ENCRYPT_DECRYPT';
  const spec = optionalEnum(input, 'KeySpec', MODEL_KEY_SPECS) ?? optionalEnum(input, 'CustomerMasterKeySpec', MODEL_KEY_SPECS) ?? 'SYMMETRIC_DEFAULT';
  const origin = optionalEnum(input, 'Origin', ORIGINS) ?? 'AWS_KMS';
  const tags = readTags(input);
  if (optionalBoolean(input, 'MultiRegion')) throw new HsmError('NOT_SUPPORTED', 'multi-Region keys are not supported');
  if (optionalString(input, 'CustomKeyStoreId') !== undefined || optionalString(input, 'XksKeyId') !== undefined) {
    throw new HsmError('NOT_SUPPORTED', 'custom key stores are not supported');
  }
  if (origin !== 'AWS_KMS' && origin !== 'EXTERNAL') throw new HsmError('NOT_SUPPORTED', `Origin ${origin} is not supported`);
  if (!(KEY_SPECS as readonly string[]).includes(spec)) throw new HsmError('NOT_SUPPORTED', `KeySpec ${spec} is not supported`);
  const key = await ctx.keys.create(ctx.caller, { keySpec: spec as KmsKeySpec, keyUsage: usage, description, tags, origin, policy });
  return { KeyMetadata: keyMetadata(ctx, key) };
};
