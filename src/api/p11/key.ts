// Key management functions (PKCS#11 2.40 §5.14): generation, wrapping, unwrapping, derivation,
// all through the core (its policy gate, its templates, its sealed store).
import { CKA } from '../../pkcs11/constants';
import type { Template } from '../../core/templates';
import type { RequestArgs } from '../../protocol/p11rpc';
import { templateFromWire } from './attributes';
import { mechFromWire } from './mechanism';
import { produce } from './operation';
import type { P11Context, Session } from './state';

type R = Promise<readonly unknown[]>;

const isToken = (t: Template) => t.get(CKA.TOKEN) === true;

export async function C_GenerateKey(ctx: P11Context, [handle, m, template]: RequestArgs<'C_GenerateKey'>): R {
  const s = ctx.conn.session(handle);
  const caller = ctx.conn.userCaller(s);
  const mech = mechFromWire(m);
  const t = templateFromWire(template);
  ctx.conn.requireWritable(s, isToken(t));
  const obj = await ctx.hsm.keys.generateKey(caller, mech.type, t);
  return [ctx.conn.handles.handleOf(obj)];
}

export async function C_GenerateKeyPair(ctx: P11Context, [handle, m, pubT, privT]: RequestArgs<'C_GenerateKeyPair'>): R {
  const s = ctx.conn.session(handle);
  const caller = ctx.conn.userCaller(s);
  const mech = mechFromWire(m);
  const pub = templateFromWire(pubT);
  const priv = templateFromWire(privT);
  ctx.conn.requireWritable(s, isToken(pub) || isToken(priv));
  const pair = await ctx.hsm.keys.generateKeyPair(caller, mech.type, pub, priv);
  return [ctx.conn.handles.handleOf(pair.publicKey), ctx.conn.handles.handleOf(pair.privateKey)];
}

/** §5.14 C_WrapKey follows the §5.2 output convention: a size query keeps the wrapped bytes for the next call. */
export async function C_WrapKey(ctx: P11Context, [handle, m, wrappingKey, key, hint]: RequestArgs<'C_WrapKey'>): R {
  const s: Session = ctx.conn.session(handle);
  const caller = ctx.conn.userCaller(s);
  const mech = mechFromWire(m);
  const wrapping = await ctx.conn.key(s, wrappingKey, 'WRAPPING_KEY_HANDLE_INVALID');
  const target = await ctx.conn.key(s, key);
  const id = Buffer.from(`${mech.type}/${wrappingKey}/${key}`);
  const op = s.ops.get('wrap') ?? { kind: 'wrap' as const, mech, parts: [], partsLength: 0 };
  s.ops.set('wrap', op);
  return [await produce(s, op, id, hint, () => ctx.hsm.crypto.wrap(caller, wrapping, mech.type, mech.params, target))];
}

export async function C_UnwrapKey(ctx: P11Context, [handle, m, unwrappingKey, wrapped, template]: RequestArgs<'C_UnwrapKey'>): R {
  const s = ctx.conn.session(handle);
  const caller = ctx.conn.userCaller(s);
  const mech = mechFromWire(m);
  const key = await ctx.conn.key(s, unwrappingKey, 'UNWRAPPING_KEY_HANDLE_INVALID');
  const t = templateFromWire(template);
  ctx.conn.requireWritable(s, isToken(t));
  const obj = await ctx.hsm.crypto.unwrap(caller, key, mech.type, mech.params, Buffer.from(wrapped ?? Buffer.alloc(0)), t);
  return [ctx.conn.handles.handleOf(obj)];
}

export async function C_DeriveKey(ctx: P11Context, [handle, m, baseKey, template]: RequestArgs<'C_DeriveKey'>): R {
  const s = ctx.conn.session(handle);
  const caller = ctx.conn.userCaller(s);
  const mech = mechFromWire(m);
  const base = await ctx.conn.key(s, baseKey);
  const t = templateFromWire(template);
  ctx.conn.requireWritable(s, isToken(t));
  const obj = await ctx.hsm.crypto.derive(caller, base, mech.type, mech.params, t);
  return [ctx.conn.handles.handleOf(obj)];
}
