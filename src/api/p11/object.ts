// Object management functions (PKCS#11 2.40 §5.7): create, destroy, attribute reads and
// changes, and searches. Objects are the core's objects; handles are per connection.
import { CKA, CKR } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import type { AttrRead } from '../../core/key-reads';
import {
  CK_UNAVAILABLE_INFORMATION, unavailableAttribute, UNTRANSPORTABLE_ATTRIBUTE_TYPES,
  type AttributeOut, type AttributeRequest, type RequestArgs,
} from '../../protocol/p11rpc';
import { templateFromWire, valueToWire, wireSize } from './attributes';
import { CKU } from './constants';
import type { P11Context } from './state';

type R = Promise<readonly unknown[]>;

export async function C_CreateObject(ctx: P11Context, [handle, template]: RequestArgs<'C_CreateObject'>): R {
  const s = ctx.conn.session(handle);
  const caller = ctx.conn.userCaller(s);
  const t = templateFromWire(template);
  ctx.conn.requireWritable(s, t.get(CKA.TOKEN) === true);
  const obj = await ctx.hsm.keys.createObject(caller, t);
  return [ctx.conn.handles.handleOf(obj)];
}

/** §5.7 C_CopyObject: the core applies the copy rules (CKA_COPYABLE, which attributes may change). */
export async function C_CopyObject(ctx: P11Context, [handle, object, template]: RequestArgs<'C_CopyObject'>): R {
  const s = ctx.conn.session(handle);
  const caller = ctx.conn.userCaller(s);
  const obj = await ctx.conn.object(s, object);
  const t = templateFromWire(template);
  ctx.conn.requireWritable(s, t.get(CKA.TOKEN) === true || (t.get(CKA.TOKEN) === undefined && obj.token));
  const copy = await ctx.hsm.keys.copyObject(caller, obj, t);
  return [ctx.conn.handles.handleOf(copy)];
}

export async function C_DestroyObject(ctx: P11Context, [handle, object]: RequestArgs<'C_DestroyObject'>): R {
  const s = ctx.conn.session(handle);
  const caller = ctx.conn.userCaller(s);
  const obj = await ctx.conn.object(s, object);
  ctx.conn.requireWritable(s, obj.token);
  await ctx.hsm.keys.destroy(caller, obj);
  ctx.conn.handles.forget(object);
  return [];
}

/** §5.7: the size may be unavailable. */
export async function C_GetObjectSize(ctx: P11Context, [handle, object]: RequestArgs<'C_GetObjectSize'>): R {
  const s = ctx.conn.session(handle);
  await ctx.conn.object(s, object);
  return [CK_UNAVAILABLE_INFORMATION];
}

/** §4.8: a key that was not generated in the module has CKA_KEY_GEN_MECHANISM = CK_UNAVAILABLE_INFORMATION
 *  (~0, beyond a JS number: the codec writes the bigint; AttributeOut types CK_ULONG values as numbers). */
const KEY_GEN_UNAVAILABLE = { type: CKA.KEY_GEN_MECHANISM, kind: 'ulong', length: 8, value: CK_UNAVAILABLE_INFORMATION as unknown as number } as const;

/** One entry of docs/p11kit-rpc.md §8.2's table, and the rv it contributes. */
function entry(req: AttributeRequest, read: AttrRead | undefined, isKey: boolean): { out: AttributeOut; rv: number } {
  if (isKey && req.type === CKA.KEY_GEN_MECHANISM && read && 'error' in read && read.error === 'invalid') {
    if (req.length !== 0 && req.length < 8) return { out: unavailableAttribute(req.type), rv: CKR.BUFFER_TOO_SMALL };
    return { out: KEY_GEN_UNAVAILABLE, rv: CKR.OK };
  }
  if (!read || 'error' in read) {
    const rv = read?.error === 'sensitive' ? CKR.ATTRIBUTE_SENSITIVE : CKR.ATTRIBUTE_TYPE_INVALID;
    return { out: unavailableAttribute(req.type), rv };
  }
  const out = valueToWire(req.type, read.value);
  const size = wireSize(out);
  if (req.length !== 0 && req.length < size) return { out: unavailableAttribute(req.type), rv: CKR.BUFFER_TOO_SMALL };
  // A size query (length 0) still carries the whole value: the client must be able to decode it (§8.3).
  return { out: { ...out, length: size } as AttributeOut, rv: CKR.OK };
}

/** §5.7 C_GetAttributeValue: per-attribute results; the call's rv is one of the failures, if any (§8.2). */
export async function C_GetAttributeValue(ctx: P11Context, [handle, object, requests]: RequestArgs<'C_GetAttributeValue'>): R {
  const s = ctx.conn.session(handle);
  if (requests.some((r) => UNTRANSPORTABLE_ATTRIBUTE_TYPES.has(r.type))) throw new HsmError('ATTRIBUTE_TYPE_INVALID');
  const obj = await ctx.conn.object(s, object);
  const reads = await ctx.hsm.lookup.readAttributes(ctx.conn.caller(s), obj, requests.map((r) => r.type));
  let rv: number = CKR.OK;
  const out: AttributeOut[] = [];
  for (const req of requests) {
    const e = entry(req, reads.get(req.type), obj.isKey);
    out.push(e.out);
    if (e.rv !== CKR.OK) rv = e.rv;
  }
  return [out, rv];
}

export async function C_SetAttributeValue(ctx: P11Context, [handle, object, template]: RequestArgs<'C_SetAttributeValue'>): R {
  const s = ctx.conn.session(handle);
  const caller = ctx.conn.userCaller(s);
  const obj = await ctx.conn.object(s, object);
  ctx.conn.requireWritable(s, obj.token);
  await ctx.hsm.keys.setAttributes(caller, obj, templateFromWire(template));
  return [];
}

export async function C_FindObjectsInit(ctx: P11Context, [handle, template]: RequestArgs<'C_FindObjectsInit'>): R {
  const s = ctx.conn.session(handle);
  if (s.ops.has('find')) throw new HsmError('OPERATION_ACTIVE');
  const filter = templateFromWire(template);
  // What a session sees is the core's access matrix: a crypto user its own and shared objects, a
  // public session public objects; an SO (who manages users, never keys) nothing.
  const objects = ctx.conn.loginFor(s)?.userType === CKU.SO ? [] : await ctx.hsm.lookup.find(ctx.conn.caller(s), filter);
  const found = objects.map((o) => ctx.conn.handles.handleOf(o));
  s.ops.set('find', { kind: 'find', mech: { type: 0, params: {} }, parts: [], partsLength: 0, found });
  return [];
}

/** §7.2: always the handles themselves, at most `capacity`, never a count-only answer. The 0.24.1
 *  client sends a NULL array as capacity 0, and asking for at most 0 handles finds nothing either:
 *  both are CKR_ARGUMENTS_BAD (§5.7), and the search stays active. */
export async function C_FindObjects(ctx: P11Context, [handle, capacity]: RequestArgs<'C_FindObjects'>): R {
  const s = ctx.conn.session(handle);
  const op = s.ops.get('find');
  if (!op?.found) throw new HsmError('OPERATION_NOT_INITIALIZED');
  if (capacity.capacity === 0) throw new HsmError('BAD_REQUEST', 'C_FindObjects needs room for at least one handle');
  return [op.found.splice(0, capacity.capacity)];
}

export async function C_FindObjectsFinal(ctx: P11Context, [handle]: RequestArgs<'C_FindObjectsFinal'>): R {
  const s = ctx.conn.session(handle);
  if (!s.ops.delete('find')) throw new HsmError('OPERATION_NOT_INITIALIZED');
  return [];
}
