// Sign and Verify (RAW: hash-and-sign; DIGEST: the caller hashed; Ed25519ph both). ECDSA signatures are DER,
// as AWS returns them; the core's mechanisms speak PKCS#11's raw r‖s. A signature that does not
// verify is KMSInvalidSignatureException, never SignatureValid false.
import { HsmError } from '../../../errors/hsm-error';
import { optionalEnum, optionalStringList, requireBlob, requireEnum, writeBlob, type KmsInput } from '../../../protocol/kms';
import { digestInfo, digestLength, SIGNING_ALGORITHM_NAMES, SIGNING_ALGORITHMS, algorithmsFor } from '../algorithms';
import { arnOf, usableKey, type KmsOperation, type OpContext } from '../context';

const MESSAGE_TYPES = ['RAW', 'DIGEST', 'EXTERNAL_MU'] as const;

async function prepare(ctx: OpContext, input: KmsInput) {
  optionalStringList(input, 'GrantTokens', { max: 10 });
  const key = await usableKey(ctx, input, 'SIGN_VERIFY');
  const message = requireBlob(input, 'Message', { min: 1, max: 4096 });
  const type = optionalEnum(input, 'MessageType', MESSAGE_TYPES) ?? 'RAW';
  const name = requireEnum(input, 'SigningAlgorithm', SIGNING_ALGORITHM_NAMES);
  const alg = SIGNING_ALGORITHMS[name];
  if (!alg || !(algorithmsFor(key.record.keySpec, 'SIGN_VERIFY').signing ?? []).includes(name)) {
    throw new HsmError('KEY_FUNCTION_NOT_PERMITTED', `The signing algorithm ${name} is not valid for ${key.id}.`);
  }
  if (type === 'EXTERNAL_MU') throw new HsmError('BAD_REQUEST', 'MessageType EXTERNAL_MU is for ML-DSA keys only');
  let mech = alg.raw;
  let data = message;
  let params = alg.params;
  if (type === 'DIGEST') {
    if (alg.digest === undefined) throw new HsmError('BAD_REQUEST', `${name} does not accept MessageType DIGEST`);
    if (message.length !== digestLength(alg)) throw new HsmError('BAD_REQUEST', `a ${alg.hash} digest is ${digestLength(alg)} bytes`);
    mech = alg.digest;
    params = alg.digestParams ?? alg.params;
    if (alg.digestInfo) data = Buffer.concat([digestInfo(alg), message]);
  }
  const obj = await ctx.keys.versionObject(ctx.caller, key);
  return { key, obj, name, alg, mech, data, params };
}

export const sign: KmsOperation = async (ctx, input) => {
  const p = await prepare(ctx, input);
  const sig = await ctx.hsm.crypto.sign(ctx.caller, p.obj, p.mech, p.params, p.data, { signatureFormat: p.alg.der ? 'der' : 'raw' });
  return { KeyId: arnOf(ctx, p.key), Signature: writeBlob(sig), SigningAlgorithm: p.name };
};

export const verify: KmsOperation = async (ctx, input) => {
  const p = await prepare(ctx, input);
  const sig = requireBlob(input, 'Signature', { min: 1, max: 6144 });
  let ok = false;
  try {
    ok = await ctx.hsm.crypto.verify(ctx.caller, p.obj, p.mech, p.params, p.data, sig, { signatureFormat: p.alg.der ? 'der' : 'raw' });
  } catch (err) {
    if (!(err instanceof HsmError) || err.code !== 'SIGNATURE_LEN_RANGE') throw err;
  }
  if (!ok) throw new HsmError('SIGNATURE_INVALID');
  return { KeyId: arnOf(ctx, p.key), SignatureValid: true, SigningAlgorithm: p.name };
};
