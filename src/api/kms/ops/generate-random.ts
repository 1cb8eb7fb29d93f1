// GenerateRandom: 1-1024 bytes from the module's generator (the core's one rule says who may).
import { HsmError } from '../../../errors/hsm-error';
import { optionalInteger, optionalString, writeBlob } from '../../../protocol/kms';
import type { KmsOperation } from '../context';

export const generateRandom: KmsOperation = async (ctx, input) => {
  if (optionalString(input, 'CustomKeyStoreId') !== undefined) throw new HsmError('NOT_SUPPORTED', 'custom key stores are not supported');
  const n = optionalInteger(input, 'NumberOfBytes', { min: 1, max: 1024 });
  if (n === undefined) throw new HsmError('BAD_REQUEST', 'NumberOfBytes is required');
  return { Plaintext: writeBlob(await ctx.hsm.crypto.random(ctx.caller, n)) };
};
