// Encryption and decryption functions (PKCS#11 2.40 §5.8-§5.9) and the dual-function updates
// (§5.13). *Update returns the whole blocks of modes whose blocks stand alone (ECB) at once, and
// otherwise gathers input until *Final returns the whole result, which §5.8 allows. The dual
// functions are not offered.
import { HsmError } from '../../errors/hsm-error';
import { mechanism } from '../../mechanisms/registry';
import type { BytesOutput, OutputBufferHint, RequestArgs } from '../../protocol/p11rpc';
import { active, addPart, beginKeyed, produce, produceBlocks } from './operation';
import type { Operation, P11Context, Session } from './state';

type R = Promise<readonly unknown[]>;

const run = (ctx: P11Context, s: Session, op: Operation, dir: 'encrypt' | 'decrypt') => (data: Buffer) =>
  ctx.hsm.crypto[dir](ctx.conn.userCaller(s), op.key!, op.mech.type, op.mech.params, data);

export async function C_EncryptInit(ctx: P11Context, [handle, mech, key]: RequestArgs<'C_EncryptInit'>): R {
  await beginKeyed(ctx, ctx.conn.session(handle), 'encrypt', 'encrypt', mech, key);
  return [];
}

export async function C_Encrypt(ctx: P11Context, [handle, data, hint]: RequestArgs<'C_Encrypt'>): R {
  const s = ctx.conn.session(handle);
  const op = active(s, 'encrypt');
  return [await produce(s, op, data ?? Buffer.alloc(0), hint, run(ctx, s, op, 'encrypt'))];
}

/** Blocks that stand alone (ECB) come back as they are complete; other modes gather input until *Final. */
async function update(ctx: P11Context, s: Session, op: Operation, dir: 'encrypt' | 'decrypt', part: Buffer | null, hint: OutputBufferHint): Promise<BytesOutput> {
  const block = mechanism(op.mech.type).blockwise;
  if (block === undefined) {
    addPart(s, op, part);
    return Buffer.alloc(0);
  }
  return produceBlocks(s, op, part ?? Buffer.alloc(0), block, hint, run(ctx, s, op, dir));
}

export async function C_EncryptUpdate(ctx: P11Context, [handle, part, hint]: RequestArgs<'C_EncryptUpdate'>): R {
  const s = ctx.conn.session(handle);
  return [await update(ctx, s, active(s, 'encrypt'), 'encrypt', part, hint)];
}

export async function C_EncryptFinal(ctx: P11Context, [handle, hint]: RequestArgs<'C_EncryptFinal'>): R {
  const s = ctx.conn.session(handle);
  const op = active(s, 'encrypt');
  return [await produce(s, op, 'final', hint, run(ctx, s, op, 'encrypt'))];
}

export async function C_DecryptInit(ctx: P11Context, [handle, mech, key]: RequestArgs<'C_DecryptInit'>): R {
  await beginKeyed(ctx, ctx.conn.session(handle), 'decrypt', 'decrypt', mech, key);
  return [];
}

export async function C_Decrypt(ctx: P11Context, [handle, data, hint]: RequestArgs<'C_Decrypt'>): R {
  const s = ctx.conn.session(handle);
  const op = active(s, 'decrypt');
  return [await produce(s, op, data ?? Buffer.alloc(0), hint, run(ctx, s, op, 'decrypt'))];
}

export async function C_DecryptUpdate(ctx: P11Context, [handle, part, hint]: RequestArgs<'C_DecryptUpdate'>): R {
  const s = ctx.conn.session(handle);
  return [await update(ctx, s, active(s, 'decrypt'), 'decrypt', part, hint)];
}

export async function C_DecryptFinal(ctx: P11Context, [handle, hint]: RequestArgs<'C_DecryptFinal'>): R {
  const s = ctx.conn.session(handle);
  const op = active(s, 'decrypt');
  return [await produce(s, op, 'final', hint, run(ctx, s, op, 'decrypt'))];
}

async function dual(ctx: P11Context, handle: number): R {
  ctx.conn.session(handle);
  throw new HsmError('NOT_SUPPORTED', 'dual-function operations are not offered');
}
export const C_DigestEncryptUpdate = (ctx: P11Context, [h]: RequestArgs<'C_DigestEncryptUpdate'>): R => dual(ctx, h);
export const C_DecryptDigestUpdate = (ctx: P11Context, [h]: RequestArgs<'C_DecryptDigestUpdate'>): R => dual(ctx, h);
export const C_SignEncryptUpdate = (ctx: P11Context, [h]: RequestArgs<'C_SignEncryptUpdate'>): R => dual(ctx, h);
export const C_DecryptVerifyUpdate = (ctx: P11Context, [h]: RequestArgs<'C_DecryptVerifyUpdate'>): R => dual(ctx, h);
