// GetKeyPolicy, PutKeyPolicy, ListKeyPolicies: the key policy document is kept with the key's KMS
// data; what it means is the core's access list for the key (../key-policy.ts), which the gate
// consults on every face. PutKeyPolicy refuses a policy that would stop the caller from changing
// it again, unless BypassPolicyLockoutSafetyCheck is true (as AWS does).
import { keyAccessAllows } from '../../../core/managed-keys';
import { HsmError } from '../../../errors/hsm-error';
import { optionalBoolean, optionalInteger, optionalString, requireString } from '../../../protocol/kms';
import { arnOf, inputKey, type KmsOperation } from '../context';
import { defaultPolicy, parseKeyPolicy } from '../key-policy';

const POLICY_NAME = 'default';
const policyName = (name: string | undefined) => {
  if (name !== undefined && name !== POLICY_NAME) throw new HsmError('KEY_NOT_FOUND', `The key has no policy named ${name.slice(0, 64)}; its one policy is named default.`);
};
const stored = (d: { face: Record<string, unknown> }) => (d.face.kms as { policy?: string } | undefined)?.policy;

export const getKeyPolicy: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  policyName(optionalString(input, 'PolicyName', { min: 1, max: 128 }));
  return { Policy: stored(key.managed.data) ?? defaultPolicy(ctx.account), PolicyName: POLICY_NAME };
};

export const listKeyPolicies: KmsOperation = async (ctx, input) => {
  await inputKey(ctx, input, 'KeyId', false);
  optionalInteger(input, 'Limit', { min: 1, max: 1000 });
  optionalString(input, 'Marker', { min: 1, max: 320 });
  return { PolicyNames: [POLICY_NAME], Truncated: false };
};

export const putKeyPolicy: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  policyName(optionalString(input, 'PolicyName', { min: 1, max: 128 }));
  const text = requireString(input, 'Policy', { min: 1, max: 32768 });
  const bypass = optionalBoolean(input, 'BypassPolicyLockoutSafetyCheck') ?? false;
  const access = await parseKeyPolicy(ctx, text, arnOf(ctx, key));
  if (!bypass && !keyAccessAllows(access, ctx.caller.principal?.id, 'manage')) {
    throw new HsmError('POLICY_INVALID', 'The new key policy will not allow you to update the key policy in the future.');
  }
  await ctx.keys.update(ctx.caller, key, 'kms.put-key-policy', (d) => {
    d.access = access;
    d.face.kms = { ...(d.face.kms as object | undefined), policy: text };
  });
  return undefined;
};
