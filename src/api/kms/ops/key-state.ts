// EnableKey, DisableKey, ScheduleKeyDeletion, CancelKeyDeletion, UpdateKeyDescription: the key
// lifecycle. State lives in the core's managed key, which the gate consults on every face.
import { optionalInteger, requireString, writeTimestamp } from '../../../protocol/kms';
import { arnOf, inputKey, type KmsOperation } from '../context';

export const enableKey: KmsOperation = async (ctx, input) => {
  await ctx.keys.setEnabled(ctx.caller, await inputKey(ctx, input, 'KeyId', false), true);
  return undefined;
};

export const disableKey: KmsOperation = async (ctx, input) => {
  await ctx.keys.setEnabled(ctx.caller, await inputKey(ctx, input, 'KeyId', false), false);
  return undefined;
};

export const scheduleKeyDeletion: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const days = optionalInteger(input, 'PendingWindowInDays', { min: 7, max: 30 }) ?? 30;
  const after = await ctx.keys.scheduleDeletion(ctx.caller, key, days);
  return { KeyId: arnOf(ctx, after), DeletionDate: writeTimestamp(after.record.deletionDate!), KeyState: after.record.state, PendingWindowInDays: days };
};

export const cancelKeyDeletion: KmsOperation = async (ctx, input) => {
  const key = await ctx.keys.cancelDeletion(ctx.caller, await inputKey(ctx, input, 'KeyId', false));
  return { KeyId: arnOf(ctx, key) };
};

export const updateKeyDescription: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const description = requireString(input, 'Description', { max: 8192 });
  await ctx.keys.update(ctx.caller, key, 'kms.update-key-description', (d) => { d.description = description; });
  return undefined;
};
