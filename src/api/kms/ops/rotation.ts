// EnableKeyRotation, DisableKeyRotation, GetKeyRotationStatus, RotateKeyOnDemand, ListKeyRotations.
// Each rotation is a new core secret key (a version); old versions keep decrypting.
import { HsmError } from '../../../errors/hsm-error';
import { optionalInteger, writeTimestamp } from '../../../protocol/kms';
import type { KmsKey } from '../kms-keys';
import { arnOf, inputKey, type KmsOperation } from '../context';
import { readMarker } from './tags';

const DAY_MS = 86_400_000;

function requireRotatable(key: KmsKey): void {
  if (key.record.keySpec !== 'SYMMETRIC_DEFAULT' || key.record.origin !== 'AWS_KMS') {
    throw new HsmError('NOT_SUPPORTED', 'only symmetric encryption keys with AWS_KMS origin rotate');
  }
}

export const enableKeyRotation: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const days = optionalInteger(input, 'RotationPeriodInDays', { min: 90, max: 2560 }) ?? 365;
  requireRotatable(key);
  ctx.keys.requireUsable(key);
  await ctx.keys.update(ctx.caller, key, 'kms.enable-key-rotation', (d) => { d.rotation = { ...d.rotation, enabled: true, periodDays: days, next: Date.now() + days * DAY_MS }; });
  return undefined;
};

export const disableKeyRotation: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  requireRotatable(key);
  ctx.keys.requireUsable(key);
  await ctx.keys.update(ctx.caller, key, 'kms.disable-key-rotation', (d) => { d.rotation = { ...d.rotation, enabled: false, next: undefined }; });
  return undefined;
};

export const getKeyRotationStatus: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const r = key.record.rotation;
  return {
    KeyRotationEnabled: r.enabled, KeyId: arnOf(ctx, key), RotationPeriodInDays: r.enabled ? r.periodDays : undefined,
    NextRotationDate: r.enabled && r.nextRotation ? writeTimestamp(r.nextRotation) : undefined,
    OnDemandRotationStartDate: r.onDemandStarted ? writeTimestamp(r.onDemandStarted) : undefined,
  };
};

export const rotateKeyOnDemand: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  requireRotatable(key);
  await ctx.keys.rotate(ctx.caller, key);
  return { KeyId: arnOf(ctx, key) };
};

export const listKeyRotations: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  requireRotatable(key);
  const limit = optionalInteger(input, 'Limit', { min: 1, max: 1000 }) ?? 100;
  const start = readMarker(input);
  const rotations = key.record.versions.slice(1);
  const page = rotations.slice(start, start + limit);
  const more = start + limit < rotations.length;
  return {
    Rotations: page.map((v) => ({ KeyId: key.id, RotationDate: writeTimestamp(v.created), RotationType: v.rotationType ?? 'AUTOMATIC', KeyMaterialId: v.materialId })),
    Truncated: more, NextMarker: more ? String(start + limit) : undefined,
  };
};
