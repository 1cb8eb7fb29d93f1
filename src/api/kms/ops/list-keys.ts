// ListKeys: the caller's keys in key-id order, paged with Limit (1-1000, default 100) and an
// opaque Marker (the last key id returned).
import { HsmError } from '../../../errors/hsm-error';
import { optionalInteger, optionalString } from '../../../protocol/kms';
import { arnOf, type KmsOperation } from '../context';

export const listKeys: KmsOperation = async (ctx, input) => {
  const limit = optionalInteger(input, 'Limit', { min: 1, max: 1000 }) ?? 100;
  const marker = decodeMarker(optionalString(input, 'Marker', { min: 1, max: 1024 }));
  const keys = (await ctx.keys.list(ctx.caller)).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const rest = marker === undefined ? keys : keys.filter((k) => k.id > marker);
  const page = rest.slice(0, limit);
  const truncated = rest.length > limit;
  return {
    Keys: page.map((k) => ({ KeyId: k.id, KeyArn: arnOf(ctx, k) })),
    Truncated: truncated, NextMarker: truncated ? encodeMarker(page[page.length - 1].id) : undefined,
  };
};

export const encodeMarker = (last: string) => Buffer.from(`inkan:${last}`, 'utf8').toString('base64url');
export function decodeMarker(marker: string | undefined): string | undefined {
  if (marker === undefined) return undefined;
  const text = Buffer.from(marker, 'base64url').toString('utf8');
  if (!text.startsWith('inkan:') || encodeMarker(text.slice(6)) !== marker) throw new HsmError('MARKER_INVALID', 'The marker is not valid.');
  return text.slice(6);
}
