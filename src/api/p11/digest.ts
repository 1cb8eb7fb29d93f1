// Message digesting functions (PKCS#11 2.40 §5.10). Digests need no login and no key.
import { HsmError } from '../../errors/hsm-error';
import { mechanism } from '../../mechanisms/registry';
import type { RequestArgs } from '../../protocol/p11rpc';
import { active, addPart, produce } from './operation';
import { mechFromWire } from './mechanism';
import type { P11Context } from './state';

type R = Promise<readonly unknown[]>;

export async function C_DigestInit(ctx: P11Context, [handle, m]: RequestArgs<'C_DigestInit'>): R {
  const s = ctx.conn.session(handle);
  if (s.ops.has('digest')) throw new HsmError('OPERATION_ACTIVE');
  const mech = mechFromWire(m);
  if (!mechanism(mech.type).digest) throw new HsmError('MECHANISM_INVALID', 'not a digest mechanism');
  s.ops.set('digest', { kind: 'digest', mech, parts: [], partsLength: 0 });
  return [];
}

export async function C_Digest(ctx: P11Context, [handle, data, hint]: RequestArgs<'C_Digest'>): R {
  const s = ctx.conn.session(handle);
  const op = active(s, 'digest');
  return [await produce(s, op, data ?? Buffer.alloc(0), hint, (d) => ctx.hsm.crypto.digest(ctx.conn.caller(s), op.mech.type, d))];
}

export async function C_DigestUpdate(ctx: P11Context, [handle, part]: RequestArgs<'C_DigestUpdate'>): R {
  const s = ctx.conn.session(handle);
  addPart(s, active(s, 'digest'), part);
  return [];
}

/** Keys are sealed and never digested in the clear (§5.10 allows CKR_KEY_INDIGESTIBLE). */
export async function C_DigestKey(ctx: P11Context, [handle, key]: RequestArgs<'C_DigestKey'>): R {
  const s = ctx.conn.session(handle);
  active(s, 'digest');
  await ctx.conn.key(s, key);
  throw new HsmError('KEY_INDIGESTIBLE');
}

export async function C_DigestFinal(ctx: P11Context, [handle, hint]: RequestArgs<'C_DigestFinal'>): R {
  const s = ctx.conn.session(handle);
  const op = active(s, 'digest');
  return [await produce(s, op, 'final', hint, (d) => ctx.hsm.crypto.digest(ctx.conn.caller(s), op.mech.type, d))];
}
