// DeleteImportedKeyMaterial: a key of EXTERNAL origin loses its material (the version objects are
// destroyed in the module) and waits in PendingImport for ImportKeyMaterial again. KeyMaterialId,
// if given, must name the key's current material.
import { HsmError } from '../../../errors/hsm-error';
import { optionalString } from '../../../protocol/kms';
import { arnOf, inputKey, type KmsOperation } from '../context';

export const deleteImportedKeyMaterial: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const materialId = optionalString(input, 'KeyMaterialId', { min: 1, max: 64 });
  if (key.record.origin !== 'EXTERNAL') throw new HsmError('NOT_SUPPORTED', `${key.id} does not have imported key material (its origin is ${key.record.origin}).`);
  if (key.record.state === 'PendingImport') throw new HsmError('KEY_STATE_INVALID', `${key.id} is pending import.`);
  const current = key.current?.materialId;
  if (materialId !== undefined && materialId !== current) throw new HsmError('KEY_NOT_FOUND', 'No such key material of this key.');
  await ctx.hsm.managed.versions.deleteImported(ctx.caller, key.managed);
  return { KeyId: arnOf(ctx, key), KeyMaterialId: current };
};
