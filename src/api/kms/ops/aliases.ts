// CreateAlias, UpdateAlias, DeleteAlias, ListAliases: names for keys, per partition (the account),
// kept by the core's NameService; the AWS rules for alias names are this face's.
import { HsmError } from '../../../errors/hsm-error';
import { optionalInteger, optionalString, requireString, writeTimestamp } from '../../../protocol/kms';
import { aliasArn, parseKeyRef } from '../arns';
import { ALIAS_KIND, inputKey, resolveKey, type KmsOperation, type OpContext } from '../context';
import { decodeMarker, encodeMarker } from './list-keys';

const NAME = { min: 1, max: 256, pattern: /^[a-zA-Z0-9:/_-]+$/ };
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]+$/;

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

/** `alias/` + letters, digits, /, _ and -; `alias/aws/` is AWS's (NotAuthorizedException there, as AWS answers). */
function checkName(name: string): void {
  if (!ALIAS_NAME.test(name) || name.length > 256) throw new HsmError('BAD_REQUEST', 'alias names are alias/ followed by letters, digits, /, _ and -');
  if (name.startsWith('alias/aws/')) throw new HsmError('ALIAS_RESERVED', 'alias names beginning with alias/aws/ are reserved for AWS managed keys');
}

export const createAlias: KmsOperation = async (ctx, input) => {
  const name = aliasName(input);
  checkName(name);
  await ctx.hsm.names.create(ctx.caller, ALIAS_KIND, name, (await target(ctx, input)).managed);
  return undefined;
};

/** UpdateAlias: the new target must have the same key type and usage as the old (AWS rule). */
export const updateAlias: KmsOperation = async (ctx, input) => {
  const name = aliasName(input);
  checkName(name);
  const key = await target(ctx, input);
  await ctx.hsm.names.update(ctx.caller, ALIAS_KIND, name, key.managed, async (oldId) => {
    const old = await ctx.keys.get(ctx.caller, oldId).catch(() => undefined);
    if (old && ((old.record.keySpec === 'SYMMETRIC_DEFAULT') !== (key.record.keySpec === 'SYMMETRIC_DEFAULT') || old.record.keyUsage !== key.record.keyUsage)) {
      throw new HsmError('BAD_REQUEST', 'the new target key must have the same key type and key usage as the current one');
    }
  });
  return undefined;
};

export const deleteAlias: KmsOperation = async (ctx, input) => {
  const name = aliasName(input);
  if (name.startsWith('alias/aws/')) throw new HsmError('ALIAS_RESERVED', 'alias names beginning with alias/aws/ are reserved for AWS managed keys');
  await ctx.hsm.names.delete(ctx.caller, ALIAS_KIND, name);
  return undefined;
};

export const listAliases: KmsOperation = async (ctx, input) => {
  const keyId = optionalString(input, 'KeyId', { min: 1, max: 2048 });
  const limit = optionalInteger(input, 'Limit', { min: 1, max: 1000 }) ?? 100;
  const marker = decodeMarker(optionalString(input, 'Marker', { min: 1, max: 1024 }));
  const filter = keyId === undefined ? undefined : (await inputKey(ctx, input)).id;
  const all = await ctx.hsm.names.list(ctx.caller, ALIAS_KIND, filter);
  const rest = marker === undefined ? all : all.filter((a) => a.name > marker);
  const page = rest.slice(0, limit);
  const truncated = rest.length > limit;
  return {
    Aliases: page.map((a) => ({
      AliasName: a.name, AliasArn: aliasArn(ctx.region, ctx.account, a.name), TargetKeyId: a.target,
      CreationDate: writeTimestamp(a.created), LastUpdatedDate: writeTimestamp(a.updated),
    })),
    Truncated: truncated, NextMarker: truncated ? encodeMarker(page[page.length - 1].name) : undefined,
  };
};
