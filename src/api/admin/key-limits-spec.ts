// The admin API's form of per-key authorisation and use limits (docs/operators.md): `limits` and
// `keyPin` in a key's creation body, `ops` and `context` in a share, and the key PIN of a key with
// CKA_ALWAYS_AUTHENTICATE in the `X-Inkan-Key-Pin` header of each request that uses it (a header,
// so no body field of an operation changes meaning; it is never logged or recorded).
import { CKA } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import type { AttrValue } from '../../core/attributes';
import type { HsmObject } from '../../core/hsm-object';
import type { Caller } from '../../core/principal';
import { int, obj, str, strList } from './http-util';
import type { RouteContext } from './router';

export const KEY_PIN_HEADER = 'x-inkan-key-pin';

const PERIOD_FIELDS: readonly [string, number][] = [
  ['useNotBefore', CKA.INKAN_USE_NOT_BEFORE], ['useNotAfter', CKA.INKAN_USE_NOT_AFTER],
  ['processNotBefore', CKA.INKAN_PROCESS_NOT_BEFORE], ['processNotAfter', CKA.INKAN_PROCESS_NOT_AFTER],
];

/** A time as ISO 8601 or seconds since 1970, as the vendor attributes hold it (seconds). */
function seconds(body: Record<string, unknown>, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  const ms = typeof v === 'number' ? v * 1000 : typeof v === 'string' ? Date.parse(v) : NaN;
  if (!Number.isFinite(ms) || ms <= 0) throw new HsmError('BAD_REQUEST', `limits.${name} is an ISO 8601 time or seconds since 1970`);
  return Math.floor(ms / 1000);
}

/** Adds `limits` ({maxUses, useNotBefore, useNotAfter, processNotBefore, processNotAfter}) and
 *  `keyPin` to a private or secret key's template. */
export function applyLimits(body: Record<string, unknown>, t: Map<number, AttrValue>): void {
  const limits = obj(body, 'limits');
  const max = int(limits, 'maxUses');
  if (max !== undefined) {
    if (max < 1) throw new HsmError('BAD_REQUEST', 'limits.maxUses is at least 1');
    t.set(CKA.INKAN_MAX_USES, max);
  }
  for (const [name, type] of PERIOD_FIELDS) {
    const s = seconds(limits, name);
    if (s !== undefined) t.set(type, s);
  }
  const pin = str(body, 'keyPin', false);
  if (pin !== undefined) t.set(CKA.INKAN_KEY_PIN, pin);
}

/** A share's scope: `ops` (uses) and `context` (an encryption context of text pairs). */
export function shareScope(body: Record<string, unknown>): { ops?: any[]; context?: Record<string, string> } | undefined {
  const ops = strList(body, 'ops');
  const context = body.context === undefined ? undefined : obj(body, 'context');
  if (context && Object.values(context).some((v) => typeof v !== 'string')) throw new HsmError('BAD_REQUEST', 'context values are strings');
  if (!ops && !context) return undefined;
  return { ops: ops?.map((o) => o.toLowerCase()), context: context as Record<string, string> | undefined };
}

/** The caller for a use of `key`: with the header's key PIN verified first when the request has one. */
export async function keyCaller(ctx: RouteContext, key: HsmObject): Promise<Caller> {
  const raw = ctx.req.headers[KEY_PIN_HEADER];
  const caller = ctx.caller();
  if (raw === undefined) return caller;
  if (Array.isArray(raw) || raw.length > 256) throw new HsmError('BAD_REQUEST', `one ${KEY_PIN_HEADER} header of at most 256 characters`);
  return { ...caller, keyAuth: await ctx.hsm.limits.authenticate(caller, key, raw) };
}
