// GetKeyLastUsage: the newest successful cryptographic use of the key on any face, read from the
// module's audit trail (core/key-usage.ts, bounded). CloudTrailEventId names the audit record
// (chain:seq) that records it; Inkan keeps no KMS request ids.
import { writeTimestamp } from '../../../protocol/kms';
import { arnOf, inputKey, type KmsOperation } from '../context';
import { isHmac } from '../key-specs';

const OPERATION: Readonly<Record<string, [string, string?]>> = {
  'key.sign': ['Sign', 'GenerateMac'], 'key.verify': ['Verify', 'VerifyMac'], 'key.encrypt': ['Encrypt'], 'key.decrypt': ['Decrypt'],
  'key.wrap': ['Encrypt'], 'key.unwrap': ['Decrypt'], 'key.derive': ['DeriveSharedSecret'],
};

export const getKeyLastUsage: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const usage = await ctx.hsm.keyUsage.lastUse(ctx.caller, key.managed);
  const last = usage.last;
  const names = last && OPERATION[last.op];
  return {
    KeyId: arnOf(ctx, key),
    KeyLastUsage: last && names ? {
      Operation: isHmac(key.record.keySpec) && names[1] ? names[1] : names[0],
      Timestamp: writeTimestamp(Date.parse(last.time)), CloudTrailEventId: `inkan-audit:${last.chain}:${last.seq}`,
    } : {},
    TrackingStartDate: writeTimestamp(usage.trackedSince), KeyCreationDate: writeTimestamp(key.record.created),
  };
};
