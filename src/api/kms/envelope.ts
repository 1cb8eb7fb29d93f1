// Encryption under a KMS key and decryption of its ciphertexts, shared by Encrypt, Decrypt,
// ReEncrypt and the GenerateDataKey family. Symmetric keys: AES-256-GCM with the newest version,
// the blob naming key and version (ciphertext.ts). RSA keys: RSAES-OAEP, the raw RSA output.
import type { KmsKey } from './kms-keys';
import { HsmError } from '../../errors/hsm-error';
import { CKM } from '../../pkcs11/constants';
import { optionalStringMap, type KmsInput } from '../../protocol/kms';
import { RSA_OAEP } from './algorithms';
import { aadFor, blobHeader, IV_LEN, parseBlob } from './ciphertext';
import { requireUsage, resolveKey, type OpContext } from './context';

/** EncryptionContext members: string → string, as the model's EncryptionContextType. */
export function readContext(input: KmsInput, name: string): Record<string, string> | undefined {
  return optionalStringMap(input, name, { maxEntries: 64, key: { min: 1, max: 2048 }, value: { max: 2048 } });
}

const wrongAlgorithm = (key: KmsKey, alg: string) =>
  new HsmError('KEY_FUNCTION_NOT_PERMITTED', `The encryption algorithm ${alg} is not valid for ${key.id}.`);

/** The caller with the request's EncryptionContext, which a share scoped to a context requires
 *  (the core checks it: docs/operators.md "Scoped sharing"); it is also bound as AAD. */
const withContext = (ctx: OpContext, context: Record<string, string> | undefined): OpContext['caller'] =>
  ({ ...ctx.caller, encryptionContext: context ?? {} });

export async function encryptWith(ctx: OpContext, key: KmsKey, algorithm: string | undefined, plaintext: Buffer,
  context: Record<string, string> | undefined): Promise<{ blob: Buffer; algorithm: string }> {
  ctx.keys.requireUsable(key);
  requireUsage(key, 'ENCRYPT_DECRYPT');
  if (key.record.keySpec === 'SYMMETRIC_DEFAULT') {
    if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') throw wrongAlgorithm(key, algorithm);
    const index = key.record.versions.length - 1;
    const obj = await ctx.keys.versionObject(ctx.caller, key, index);
    const header = blobHeader(key.id, index);
    const iv = await ctx.hsm.crypto.random(ctx.caller, IV_LEN);
    const sealed = await ctx.hsm.crypto.encrypt(withContext(ctx, context), obj, CKM.AES_GCM, { iv, aad: aadFor(header, context), tagBits: 128 }, plaintext);
    return { blob: Buffer.concat([header, iv, sealed]), algorithm: 'SYMMETRIC_DEFAULT' };
  }
  if (algorithm === undefined) throw new HsmError('BAD_REQUEST', 'EncryptionAlgorithm is required for asymmetric keys');
  const params = RSA_OAEP[algorithm];
  if (!params) throw wrongAlgorithm(key, algorithm);
  if (context && Object.keys(context).length) throw new HsmError('BAD_REQUEST', 'EncryptionContext is not supported with asymmetric keys');
  const obj = await ctx.keys.versionObject(ctx.caller, key);
  return { blob: await ctx.hsm.crypto.encrypt(ctx.caller, obj, CKM.RSA_PKCS_OAEP, params, plaintext), algorithm };
}

export interface Decrypted { key: KmsKey; plaintext: Buffer; algorithm: string; version: number }

/** Symmetric blobs name their key; an RSA ciphertext needs `keyRef`. A given `keyRef` must match the blob's key. */
export async function decryptBlob(ctx: OpContext, blob: Buffer, keyRef: string | undefined, algorithm: string | undefined,
  context: Record<string, string> | undefined): Promise<Decrypted> {
  const parsed = parseBlob(blob);
  if (parsed && (algorithm === undefined || algorithm === 'SYMMETRIC_DEFAULT')) {
    const key = await ctx.keys.get(ctx.caller, parsed.keyId).catch((err) => {
      if (err instanceof HsmError && err.code === 'KEY_NOT_FOUND') throw new HsmError('ENCRYPTED_DATA_INVALID');
      throw err;
    });
    if (keyRef !== undefined && (await resolveKey(ctx, keyRef)).id !== key.id) {
      throw new HsmError('INCORRECT_KEY', 'The key ID in the request does not identify the key that encrypted the ciphertext.');
    }
    ctx.keys.requireUsable(key);
    requireUsage(key, 'ENCRYPT_DECRYPT');
    if (key.record.keySpec !== 'SYMMETRIC_DEFAULT' || parsed.version >= key.record.versions.length) throw new HsmError('ENCRYPTED_DATA_INVALID');
    const obj = await ctx.keys.versionObject(ctx.caller, key, parsed.version);
    const plaintext = await ctx.hsm.crypto.decrypt(withContext(ctx, context), obj, CKM.AES_GCM,
      { iv: parsed.iv, aad: aadFor(parsed.header, context), tagBits: 128 }, parsed.body);
    return { key, plaintext, algorithm: 'SYMMETRIC_DEFAULT', version: parsed.version };
  }
  if (keyRef === undefined) throw new HsmError('ENCRYPTED_DATA_INVALID');
  const key = await resolveKey(ctx, keyRef);
  ctx.keys.requireUsable(key);
  requireUsage(key, 'ENCRYPT_DECRYPT');
  if (key.record.keySpec === 'SYMMETRIC_DEFAULT') {
    if (algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') throw wrongAlgorithm(key, algorithm);
    throw new HsmError('ENCRYPTED_DATA_INVALID');
  }
  if (algorithm === undefined) throw new HsmError('BAD_REQUEST', 'EncryptionAlgorithm is required for asymmetric keys');
  const params = RSA_OAEP[algorithm];
  if (!params) throw wrongAlgorithm(key, algorithm);
  const obj = await ctx.keys.versionObject(ctx.caller, key);
  try {
    const plaintext = await ctx.hsm.crypto.decrypt(ctx.caller, obj, CKM.RSA_PKCS_OAEP, params, blob);
    return { key, plaintext, algorithm, version: 0 };
  } catch (err) {
    if (err instanceof HsmError && (err.code === 'ENCRYPTED_DATA_LEN_RANGE' || err.code === 'DATA_LEN_RANGE')) throw new HsmError('ENCRYPTED_DATA_INVALID');
    throw err;
  }
}
