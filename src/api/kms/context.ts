// What every KMS operation receives: the module, the authenticated caller, its account (the
// partition's) and region, and helpers that resolve key references and describe keys in the
// KMS model's shapes.
import type { Hsm } from '../../core/hsm';
import type { Caller } from '../../core/principal';
import { HsmError } from '../../errors/hsm-error';
import { requireString, writeTimestamp, type KmsInput } from '../../protocol/kms';
import { algorithmsFor } from './algorithms';
import { arnAccount, keyArn, parseKeyRef } from './arns';
import type { KmsKeyUsage } from './key-specs';
import type { KmsKey, KmsKeys } from './kms-keys';

export const ALIAS_KIND = 'kms-alias';

export interface OpContext {
  hsm: Hsm;
  keys: KmsKeys;
  caller: Caller;
  region: string;
  /** The 12-digit account id of the caller's partition. */
  account: string;
}

export type KmsOperation = (ctx: OpContext, input: KmsInput) => Promise<object | undefined>;

const notFound = (ref: string) => new HsmError('KEY_NOT_FOUND', `Key '${ref.slice(0, 2048)}' does not exist`);

/** Resolves a key id, key ARN, alias name or alias ARN to a KMS key the caller can see. */
export async function resolveKey(ctx: OpContext, ref: string, allowAlias = true): Promise<KmsKey> {
  const parsed = parseKeyRef(ref);
  if (!parsed) throw new HsmError('KEY_NOT_FOUND', 'Invalid keyId');
  // An ARN of another account (another partition) names nothing here, whatever its key id.
  const account = arnAccount(ref);
  if (account !== undefined && account !== ctx.account) throw notFound(ref);
  if (parsed.kind === 'alias' && !allowAlias) throw new HsmError('KEY_NOT_FOUND', 'Invalid keyId: name the key by its id or ARN');
  const id = parsed.kind === 'key' ? parsed.id : await ctx.hsm.names.resolve(ctx.caller, ALIAS_KIND, parsed.name);
  try {
    return await ctx.keys.get(ctx.caller, id);
  } catch (err) {
    if (err instanceof HsmError && err.code === 'KEY_NOT_FOUND') throw notFound(ref);
    throw err;
  }
}

/** The KeyId member, resolved. */
export function inputKey(ctx: OpContext, input: KmsInput, name = 'KeyId', allowAlias = true): Promise<KmsKey> {
  return resolveKey(ctx, requireString(input, name, { min: 1, max: 2048 }), allowAlias);
}

export const arnOf = (ctx: OpContext, key: KmsKey) => keyArn(ctx.region, ctx.account, key.id);

/** KMS refuses keys of another usage with InvalidKeyUsageException. */
export function requireUsage(key: KmsKey, usage: KmsKeyUsage): void {
  if (!key.usages.includes(usage)) {
    throw new HsmError('KEY_FUNCTION_NOT_PERMITTED', `${key.id} key usage is ${key.record.keyUsage}, which is not valid for this operation.`);
  }
}

/** Resolve, check state and usage: the start of every cryptographic operation. */
export async function usableKey(ctx: OpContext, input: KmsInput, usage: KmsKeyUsage, name = 'KeyId'): Promise<KmsKey> {
  const key = await inputKey(ctx, input, name);
  ctx.keys.requireUsable(key);
  requireUsage(key, usage);
  return key;
}

/** KeyMetadata (docs/kms-wire.md §3). */
export function keyMetadata(ctx: OpContext, key: KmsKey): Record<string, unknown> {
  const r = key.record;
  const algs = algorithmsFor(r.keySpec, r.keyUsage);
  return {
    AWSAccountId: ctx.account, KeyId: r.id, Arn: arnOf(ctx, key), CreationDate: writeTimestamp(r.created),
    Enabled: r.state === 'Enabled', Description: r.description, KeyUsage: r.keyUsage, KeyState: r.state,
    DeletionDate: r.deletionDate === undefined ? undefined : writeTimestamp(r.deletionDate),
    PendingDeletionWindowInDays: r.pendingWindowDays, Origin: r.origin, KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: r.keySpec, KeySpec: r.keySpec,
    EncryptionAlgorithms: algs.encryption, SigningAlgorithms: algs.signing, MacAlgorithms: algs.mac,
    KeyAgreementAlgorithms: algs.keyAgreement, MultiRegion: false,
    ExpirationModel: r.origin === 'EXTERNAL' ? 'KEY_MATERIAL_DOES_NOT_EXPIRE' : undefined,
    CurrentKeyMaterialId: key.current?.materialId,
  };
}
