// TagResource, UntagResource, ListResourceTags: tags are KMS-only state kept on the core's key record.
import { HsmError } from '../../../errors/hsm-error';
import { KmsError, optionalInteger, optionalString, optionalStringList, validationError, type KmsInput } from '../../../protocol/kms';
import { inputKey, type KmsOperation } from '../context';

const MAX_TAGS = 50;

/** `Tags: [{TagKey, TagValue}]` (TagKey 1-128, TagValue 0-256 characters). */
export function readTags(input: KmsInput, name = 'Tags'): [string, string][] | undefined {
  const v = input[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw new KmsError('SerializationException', `Member '${name}' must be a JSON array of tags.`);
  return v.map((t) => {
    if (!t || typeof t !== 'object' || Array.isArray(t)) throw new KmsError('SerializationException', `Member '${name}' must be a JSON array of tags.`);
    const key = optionalString(t as KmsInput, 'TagKey', { min: 1, max: 128 });
    const value = optionalString(t as KmsInput, 'TagValue', { max: 256 });
    if (key === undefined) throw validationError('TagKey', 'Member must not be null', 'null');
    if (value === undefined) throw validationError('TagValue', 'Member must not be null', 'null');
    if (key.startsWith('aws:')) throw new HsmError('TAG_INVALID', 'Tag keys beginning with aws: are reserved.');
    return [key, value];
  });
}

/** Adds or replaces tags in order; more than 50 is a TagException as in AWS. */
export function mergeTags(current: [string, string][], added: [string, string][]): [string, string][] {
  const map = new Map(current);
  for (const [k, v] of added) map.set(k, v);
  if (map.size > MAX_TAGS) throw new HsmError('TAG_INVALID', `A key may have at most ${MAX_TAGS} tags.`);
  return [...map];
}

export const tagResource: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const tags = readTags(input);
  if (!tags) throw validationError('Tags', 'Member must not be null', 'null');
  if (key.record.state === 'PendingDeletion') throw new HsmError('KEY_PENDING_DELETION');
  await ctx.keys.update(ctx.caller, key, 'kms.tag-resource', (d) => { d.tags = mergeTags(d.tags, tags); });
  return undefined;
};

export const untagResource: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const names = optionalStringList(input, 'TagKeys', { item: { min: 1, max: 128 } });
  if (!names) throw validationError('TagKeys', 'Member must not be null', 'null');
  if (key.record.state === 'PendingDeletion') throw new HsmError('KEY_PENDING_DELETION');
  await ctx.keys.update(ctx.caller, key, 'kms.untag-resource', (d) => { d.tags = d.tags.filter(([k]) => !names.includes(k)); });
  return undefined;
};

export const listResourceTags: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const limit = optionalInteger(input, 'Limit', { min: 1, max: 50 }) ?? 50;
  const start = readMarker(input);
  const page = key.record.tags.slice(start, start + limit);
  const more = start + limit < key.record.tags.length;
  return { Tags: page.map(([TagKey, TagValue]) => ({ TagKey, TagValue })), Truncated: more, NextMarker: more ? String(start + limit) : undefined };
};

/** Offset markers for small lists kept in one record. */
export function readMarker(input: KmsInput): number {
  const m = optionalString(input, 'Marker', { min: 1, max: 1024 });
  if (m === undefined) return 0;
  if (!/^\d{1,6}$/.test(m)) throw new HsmError('MARKER_INVALID', 'The marker is not valid.');
  return Number(m);
}
