// GenerateMac and VerifyMac with HMAC keys (HMAC_224..512); a MAC that does not verify is
// KMSInvalidMacException, never MacValid false.
import { HsmError } from '../../../errors/hsm-error';
import { optionalStringList, requireBlob, requireEnum, writeBlob, type KmsInput } from '../../../protocol/kms';
import { MAC_ALGORITHMS } from '../algorithms';
import { arnOf, usableKey, type OpContext, type KmsOperation } from '../context';

async function prepare(ctx: OpContext, input: KmsInput) {
  optionalStringList(input, 'GrantTokens', { max: 10 });
  const key = await usableKey(ctx, input, 'GENERATE_VERIFY_MAC');
  const message = requireBlob(input, 'Message', { min: 1, max: 4096 });
  const name = requireEnum(input, 'MacAlgorithm', Object.keys(MAC_ALGORITHMS));
  if (MAC_ALGORITHMS[name].spec !== key.record.keySpec) throw new HsmError('KEY_FUNCTION_NOT_PERMITTED', `The MAC algorithm ${name} is not valid for ${key.id}.`);
  return { key, message, name, obj: await ctx.keys.versionObject(ctx.caller, key) };
}

export const generateMac: KmsOperation = async (ctx, input) => {
  const p = await prepare(ctx, input);
  const mac = await ctx.hsm.crypto.sign(ctx.caller, p.obj, MAC_ALGORITHMS[p.name].mech, {}, p.message);
  return { Mac: writeBlob(mac), MacAlgorithm: p.name, KeyId: arnOf(ctx, p.key) };
};

export const verifyMac: KmsOperation = async (ctx, input) => {
  const p = await prepare(ctx, input);
  const mac = requireBlob(input, 'Mac', { min: 1, max: 6144 });
  const ok = await ctx.hsm.crypto.verify(ctx.caller, p.obj, MAC_ALGORITHMS[p.name].mech, {}, p.message, mac).catch((err) => {
    if (err instanceof HsmError && err.code === 'SIGNATURE_LEN_RANGE') return false;
    throw err;
  });
  if (!ok) throw new HsmError('MAC_INVALID');
  return { KeyId: arnOf(ctx, p.key), MacValid: true, MacAlgorithm: p.name };
};
