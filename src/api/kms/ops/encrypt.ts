// Encrypt, Decrypt, ReEncrypt: EncryptionContext is bound as AAD; the symmetric blob carries
// key id and key-material version, so Decrypt needs no KeyId and old versions keep decrypting.
import { optionalEnum, optionalString, requireBlob, requireString, writeBlob } from '../../../protocol/kms';
import { ENCRYPTION_ALGORITHM_NAMES } from '../algorithms';
import { arnOf, inputKey, resolveKey, type KmsOperation } from '../context';
import { decryptBlob, encryptWith, readContext } from '../envelope';

export const PLAINTEXT = { min: 1, max: 4096 };
export const CIPHERTEXT = { min: 1, max: 6144 };

export const encrypt: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input);
  const plaintext = requireBlob(input, 'Plaintext', PLAINTEXT);
  try {
    const out = await encryptWith(ctx, key, optionalEnum(input, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHM_NAMES),
      plaintext, readContext(input, 'EncryptionContext'));
    return { CiphertextBlob: writeBlob(out.blob), KeyId: arnOf(ctx, key), EncryptionAlgorithm: out.algorithm };
  } finally { plaintext.fill(0); }
};

export const decrypt: KmsOperation = async (ctx, input) => {
  const blob = requireBlob(input, 'CiphertextBlob', CIPHERTEXT);
  const keyRef = optionalString(input, 'KeyId', { min: 1, max: 2048 });
  const out = await decryptBlob(ctx, blob, keyRef, optionalEnum(input, 'EncryptionAlgorithm', ENCRYPTION_ALGORITHM_NAMES),
    readContext(input, 'EncryptionContext'));
  try {
    return { KeyId: arnOf(ctx, out.key), Plaintext: writeBlob(out.plaintext), EncryptionAlgorithm: out.algorithm,
      KeyMaterialId: out.key.record.versions[out.version]?.materialId };
  } finally { out.plaintext.fill(0); }
};

export const reEncrypt: KmsOperation = async (ctx, input) => {
  const blob = requireBlob(input, 'CiphertextBlob', CIPHERTEXT);
  const destination = await resolveKey(ctx, requireString(input, 'DestinationKeyId', { min: 1, max: 2048 }));
  const source = await decryptBlob(ctx, blob, optionalString(input, 'SourceKeyId', { min: 1, max: 2048 }),
    optionalEnum(input, 'SourceEncryptionAlgorithm', ENCRYPTION_ALGORITHM_NAMES), readContext(input, 'SourceEncryptionContext'));
  try {
    const out = await encryptWith(ctx, destination, optionalEnum(input, 'DestinationEncryptionAlgorithm', ENCRYPTION_ALGORITHM_NAMES),
      source.plaintext, readContext(input, 'DestinationEncryptionContext'));
    return {
      CiphertextBlob: writeBlob(out.blob), SourceKeyId: arnOf(ctx, source.key), KeyId: arnOf(ctx, destination),
      SourceEncryptionAlgorithm: source.algorithm, DestinationEncryptionAlgorithm: out.algorithm,
      SourceKeyMaterialId: source.key.record.versions[source.version]?.materialId, DestinationKeyMaterialId: destination.current?.materialId,
    };
  } finally { source.plaintext.fill(0); }
};

