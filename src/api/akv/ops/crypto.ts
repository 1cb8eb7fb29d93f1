// Encrypt, decrypt, wrapKey, unwrapKey, sign and verify ("Keys - Encrypt" … "Keys - Verify"),
// and "Get Random Bytes". Algorithm names map to the port's schemes in ../algorithms.ts; the
// module generates every GCM IV, so callers cannot reuse one.
import type { CipherAlgorithm } from '../../key-port';
import {
  badParameter, b64u, optionalBytes, optionalInteger, requireBytes, requireString, type AkvInput,
} from '../../../protocol/akv';
import { CIPHER_ALGORITHMS, DIGEST_BYTES, REFUSED_CIPHER, REFUSED_SIGN, SIGN_ALGORITHMS } from '../algorithms';
import { kidOf } from '../bundle';
import { ok, refOf, type AkvOperation, type OpContext } from '../context';

/** Largest `value` of one crypto call; Key Vault's own limits are far lower for RSA. */
export const MAX_VALUE_BYTES = 32 * 1024;
const GCM_IV_BYTES = 12;
const GCM_TAG_BYTES = 16;
const CBC_IV_BYTES = 16;

function cipherAlgorithm(input: AkvInput, endpoint: 'encrypt' | 'wrap'): CipherAlgorithm {
  const name = requireString(input, 'alg', 64);
  if (Object.prototype.hasOwnProperty.call(REFUSED_CIPHER, name)) throw badParameter(REFUSED_CIPHER[name]);
  const entry = Object.prototype.hasOwnProperty.call(CIPHER_ALGORITHMS, name) ? CIPHER_ALGORITHMS[name] : undefined;
  if (entry === undefined) throw badParameter('The algorithm is not a supported encryption algorithm.');
  if (!entry.for.includes(endpoint)) {
    throw badParameter(`${name} is for ${entry.for[0] === 'wrap' ? 'wrapKey and unwrapKey' : 'encrypt and decrypt'} only.`);
  }
  return entry.alg;
}

function checkIvAadTag(alg: CipherAlgorithm, iv?: Buffer, aad?: Buffer, tag?: Buffer, decrypting = false): void {
  if (alg.scheme !== 'aes-gcm' && (aad !== undefined || tag !== undefined)) throw badParameter("'aad' and 'tag' apply to AES-GCM only.");
  if (alg.scheme === 'aes-gcm') {
    if (!decrypting && iv !== undefined) throw badParameter('The module generates AES-GCM IVs; do not send one.');
    if (decrypting && (iv?.length !== GCM_IV_BYTES || tag?.length !== GCM_TAG_BYTES)) {
      throw badParameter(`AES-GCM decryption needs the ${GCM_IV_BYTES}-byte 'iv' and ${GCM_TAG_BYTES}-byte 'tag' from encryption.`);
    }
  } else if (alg.scheme === 'aes-cbc') {
    if ((decrypting || iv !== undefined) && iv?.length !== CBC_IV_BYTES) throw badParameter(`AES-CBC needs a ${CBC_IV_BYTES}-byte 'iv'.`);
  } else if (iv !== undefined) {
    throw badParameter(`'iv' does not apply to this algorithm.`);
  }
}

function encryptOp(endpoint: 'encrypt' | 'wrap'): AkvOperation {
  return async (ctx) => {
    const input = ctx.req.input;
    const alg = cipherAlgorithm(input, endpoint);
    const data = requireBytes(input, 'value', MAX_VALUE_BYTES);
    const iv = optionalBytes(input, 'iv', 64);
    const aad = optionalBytes(input, 'aad', MAX_VALUE_BYTES);
    checkIvAadTag(alg, iv, aad, optionalBytes(input, 'tag', 64));
    try {
      const out = await ctx.port.encrypt(ctx.call, refOf(ctx), endpoint, alg, { data, iv, aad });
      const body: Record<string, string> = { kid: kidOf(ctx.req.vaultUrl, ctx.req.name!, out.version), value: b64u(out.data) };
      if (out.iv) body.iv = b64u(out.iv);
      if (out.tag) body.tag = b64u(out.tag);
      if (aad) body.aad = b64u(aad);
      return ok(body);
    } finally {
      data.fill(0); // a plaintext or a key being wrapped
    }
  };
}

function decryptOp(endpoint: 'encrypt' | 'wrap'): AkvOperation {
  return async (ctx) => {
    const input = ctx.req.input;
    const alg = cipherAlgorithm(input, endpoint);
    const data = requireBytes(input, 'value', MAX_VALUE_BYTES);
    const iv = optionalBytes(input, 'iv', 64);
    const aad = optionalBytes(input, 'aad', MAX_VALUE_BYTES);
    const tag = optionalBytes(input, 'tag', 64);
    checkIvAadTag(alg, iv, aad, tag, true);
    const out = await ctx.port.decrypt(ctx.call, refOf(ctx), endpoint === 'encrypt' ? 'decrypt' : 'unwrap', alg, { data, iv, aad, tag });
    const body = { kid: kidOf(ctx.req.vaultUrl, ctx.req.name!, out.version), value: b64u(out.data) };
    out.data.fill(0);
    return ok(body);
  };
}

export const encrypt = encryptOp('encrypt');
export const decrypt = decryptOp('encrypt');
export const wrapKey = encryptOp('wrap');
export const unwrapKey = decryptOp('wrap');

function signAlgorithm(ctx: OpContext) {
  const name = requireString(ctx.req.input, 'alg', 64);
  if (Object.prototype.hasOwnProperty.call(REFUSED_SIGN, name)) throw badParameter(REFUSED_SIGN[name]);
  const alg = Object.prototype.hasOwnProperty.call(SIGN_ALGORITHMS, name) ? SIGN_ALGORITHMS[name] : undefined;
  if (alg === undefined) throw badParameter('The algorithm is not a supported signature algorithm.');
  return { name, alg };
}

function readDigest(input: AkvInput, member: string, name: string, bytes: number): Buffer {
  const digest = requireBytes(input, member, 64);
  if (digest.length !== bytes) throw badParameter(`${name} signs a ${bytes}-byte digest; '${member}' has ${digest.length} bytes.`);
  return digest;
}

export const sign: AkvOperation = async (ctx) => {
  const { name, alg } = signAlgorithm(ctx);
  const digest = readDigest(ctx.req.input, 'value', name, DIGEST_BYTES[alg.hash]);
  const out = await ctx.port.sign(ctx.call, refOf(ctx), alg, digest);
  return ok({ kid: kidOf(ctx.req.vaultUrl, ctx.req.name!, out.version), value: b64u(out.signature) });
};

export const verify: AkvOperation = async (ctx) => {
  const { name, alg } = signAlgorithm(ctx);
  const digest = readDigest(ctx.req.input, 'digest', name, DIGEST_BYTES[alg.hash]);
  const signature = requireBytes(ctx.req.input, 'value', 1024);
  const out = await ctx.port.verify(ctx.call, refOf(ctx), alg, digest, signature);
  return ok({ value: out.valid });
};

/** Key Vault serves 1 to 128 random bytes per call. */
export const getRandomBytes: AkvOperation = async (ctx) => {
  const count = optionalInteger(ctx.req.input, 'count', 1, 128);
  if (count === undefined) throw badParameter("Property 'count' is required.");
  return ok({ value: b64u(await ctx.port.randomBytes(ctx.call, count)) });
};
