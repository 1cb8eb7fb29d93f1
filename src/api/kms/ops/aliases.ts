// CreateAlias, UpdateAlias, DeleteAlias, ListAliases: names for keys, per crypto user.
import { HsmError } from '../../../errors/hsm-error';
import { optionalInteger, optionalString, requireString, writeTimestamp } from '../../../protocol/kms';
import { aliasArn, parseKeyRef } from '../arns';
import { inputKey, resolveKey, type KmsOperation, type OpContext } from '../context';
import { decodeMarker, encodeMarker } from './list-keys';

const NAME = { min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ };

/** AliasName must be an alias name (an alias ARN is accepted where AWS accepts one). */
function aliasName(input: Record<string, unknown>): string {
  const raw = requireString(input, 'AliasName', NAME);
  const ref = parseKeyRef(raw);
  if (!ref || ref.kind !== 'alias') throw new HsmError('BAD_REQUEST', 'AliasName must begin with alias/');
  return ref.name;
}

async function target(ctx: OpContext, input: Record<string, unknown>) {
  const ref = requireString(input, 'TargetKeyId', { min: 1, max: 2048 });
  if (parseKeyRef(ref)?.kind === 'alias') throw new HsmError('BAD_REQUEST', 'TargetKeyId must be a key id or key ARN, not an alias');
  const key = await resolveKey(ctx, ref);
  if (key.record.state === 'PendingDeletion') throw new HsmError('KEY_PENDING_DELETION');
  return key;
}

export const createAlias: KmsOperation = async (ctx, input) => {
  const name = aliasName(input);
  await ctx.hsm.kmsAliases.create(ctx.caller, name, await target(ctx, input));
  return undefined;
};

export const updateAlias: KmsOperation = async (ctx, input) => {
  const name = aliasName(input);
  const key = await target(ctx, input);
  const old = await resolveKey(ctx, name).catch(() => undefined);
  await ctx.hsm.kmsAliases.update(ctx.caller, name, key, old);
  return undefined;
};

export const deleteAlias: KmsOperation = async (ctx, input) => {
  await ctx.hsm.kmsAliases.delete(ctx.caller, aliasName(input));
  return undefined;
};

export const listAliases: KmsOperation = async (ctx, input) => {
  const keyId = optionalString(input, 'KeyId', { min: 1, max: 2048 });
  const limit = optionalInteger(input, 'Limit', { min: 1, max: 1000 }) ?? 100;
  const marker = decodeMarker(optionalString(input, 'Marker', { min: 1, max: 1024 }));
  const filter = keyId === undefined ? undefined : (await inputKey(ctx, input)).id;
  const all = await ctx.hsm.kmsAliases.list(ctx.caller, filter);
  const rest = marker === undefined ? all : all.filter((a) => a.name > marker);
  const page = rest.slice(0, limit);
  const truncated = rest.length > limit;
  return {
    Aliases: page.map((a) => ({
      AliasName: a.name, AliasArn: aliasArn(ctx.region, ctx.caller.principal.id, a.name), TargetKeyId: a.targetKeyId,
      CreationDate: writeTimestamp(a.created), LastUpdatedDate: writeTimestamp(a.updated),
    })),
    Truncated: truncated, NextMarker: truncated ? encodeMarker(page[page.length - 1].name) : undefined,
  };
};
