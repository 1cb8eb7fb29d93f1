// DescribeKey: the key's metadata, by key id, key ARN, alias name or alias ARN.
import { optionalStringList } from '../../../protocol/kms';
import { inputKey, keyMetadata, type KmsOperation } from '../context';

export const describeKey: KmsOperation = async (ctx, input) => {
  optionalStringList(input, 'GrantTokens', { max: 10 });
  return { KeyMetadata: keyMetadata(ctx, await inputKey(ctx, input)) };
};
