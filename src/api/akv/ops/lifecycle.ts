// Soft delete, deleted-key reads, recover, purge, backup and restore ("Keys - Delete Key",
// "Get Deleted Key(s)", "Recover Deleted Key", "Purge Deleted Key", "Backup Key", "Restore Key").
import { requireBytes } from '../../../protocol/akv';
import { b64u } from '../../../protocol/akv';
import { deletedKeyBundle, deletedKeyItem, keyBundle } from '../bundle';
import { ok, pageBody, pageRequest, type AkvOperation } from '../context';

/** Key Vault backups of one key are a few KiB per version; this bounds a restore body. */
export const MAX_BACKUP_BYTES = 256 * 1024;

export const deleteKey: AkvOperation = async (ctx) =>
  ok(deletedKeyBundle(ctx.req.vaultUrl, await ctx.port.deleteKey(ctx.call, ctx.req.name!)));

export const getDeletedKey: AkvOperation = async (ctx) =>
  ok(deletedKeyBundle(ctx.req.vaultUrl, await ctx.port.getDeletedKey(ctx.call, ctx.req.name!)));

export const listDeletedKeys: AkvOperation = async (ctx) => {
  const page = pageRequest(ctx);
  const result = await ctx.port.listDeletedKeys(ctx.call, page);
  return pageBody(ctx, '/deletedkeys', result, page.limit, (d) => deletedKeyItem(ctx.req.vaultUrl, d));
};

export const recoverDeletedKey: AkvOperation = async (ctx) =>
  ok(keyBundle(ctx.req.vaultUrl, await ctx.port.recoverKey(ctx.call, ctx.req.name!)));

/** 204 No Content, as Key Vault answers a purge. */
export const purgeDeletedKey: AkvOperation = async (ctx) => {
  await ctx.port.purgeKey(ctx.call, ctx.req.name!);
  return { status: 204 };
};

export const backupKey: AkvOperation = async (ctx) =>
  ok({ value: b64u(await ctx.port.backupKey(ctx.call, ctx.req.name!)) });

export const restoreKey: AkvOperation = async (ctx) => {
  const blob = requireBytes(ctx.req.input, 'value', MAX_BACKUP_BYTES);
  return ok(keyBundle(ctx.req.vaultUrl, await ctx.port.restoreKey(ctx.call, blob)));
};
