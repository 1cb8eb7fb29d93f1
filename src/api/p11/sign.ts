// Signing and verifying functions (PKCS#11 2.40 §5.11-§5.12). Multi-part input is gathered
// and signed at *Final (the core signs whole messages); recovery mechanisms are not offered.
import { HsmError } from '../../errors/hsm-error';
import type { RequestArgs } from '../../protocol/p11rpc';
import { active, addPart, beginKeyed, enterMode, produce, takeParts } from './operation';
import type { Operation, P11Context, Session } from './state';

type R = Promise<readonly unknown[]>;

const signer = (ctx: P11Context, s: Session, op: Operation) => (data: Buffer) =>
  ctx.hsm.crypto.sign(ctx.conn.userCaller(s), op.key!, op.mech.type, op.mech.params, data);

export async function C_SignInit(ctx: P11Context, [handle, mech, key]: RequestArgs<'C_SignInit'>): R {
  await beginKeyed(ctx, ctx.conn.session(handle), 'sign', 'sign', mech, key);
  return [];
}

export async function C_Sign(ctx: P11Context, [handle, data, hint]: RequestArgs<'C_Sign'>): R {
  const s = ctx.conn.session(handle);
  const op = active(s, 'sign');
  return [await produce(s, op, data ?? Buffer.alloc(0), hint, signer(ctx, s, op))];
}

export async function C_SignUpdate(ctx: P11Context, [handle, part]: RequestArgs<'C_SignUpdate'>): R {
  const s = ctx.conn.session(handle);
  addPart(s, active(s, 'sign'), part);
  return [];
}

export async function C_SignFinal(ctx: P11Context, [handle, hint]: RequestArgs<'C_SignFinal'>): R {
  const s = ctx.conn.session(handle);
  const op = active(s, 'sign');
  return [await produce(s, op, 'final', hint, signer(ctx, s, op))];
}

export async function C_VerifyInit(ctx: P11Context, [handle, mech, key]: RequestArgs<'C_VerifyInit'>): R {
  await beginKeyed(ctx, ctx.conn.session(handle), 'verify', 'verify', mech, key);
  return [];
}

async function finishVerify(ctx: P11Context, s: Session, op: Operation, data: Buffer, signature: Buffer | null): Promise<void> {
  s.ops.delete('verify');
  const ok = await ctx.hsm.crypto.verify(ctx.conn.userCaller(s), op.key!, op.mech.type, op.mech.params, data, signature ?? Buffer.alloc(0));
  if (!ok) throw new HsmError('SIGNATURE_INVALID');
}

export async function C_Verify(ctx: P11Context, [handle, data, signature]: RequestArgs<'C_Verify'>): R {
  const s = ctx.conn.session(handle);
  const op = active(s, 'verify');
  enterMode(s, op, 'single');
  await finishVerify(ctx, s, op, data ?? Buffer.alloc(0), signature);
  return [];
}

export async function C_VerifyUpdate(ctx: P11Context, [handle, part]: RequestArgs<'C_VerifyUpdate'>): R {
  const s = ctx.conn.session(handle);
  addPart(s, active(s, 'verify'), part);
  return [];
}

export async function C_VerifyFinal(ctx: P11Context, [handle, signature]: RequestArgs<'C_VerifyFinal'>): R {
  const s = ctx.conn.session(handle);
  const op = active(s, 'verify');
  enterMode(s, op, 'multi');
  await finishVerify(ctx, s, op, takeParts(op), signature);
  return [];
}

/** No mechanism with message recovery is offered (§5.11: CKR_MECHANISM_INVALID for the Init). */
export async function C_SignRecoverInit(ctx: P11Context, [handle]: RequestArgs<'C_SignRecoverInit'>): R {
  ctx.conn.session(handle);
  throw new HsmError('MECHANISM_INVALID', 'no signature-with-recovery mechanism is offered');
}

export async function C_SignRecover(ctx: P11Context, [handle]: RequestArgs<'C_SignRecover'>): R {
  ctx.conn.session(handle);
  throw new HsmError('OPERATION_NOT_INITIALIZED');
}

export async function C_VerifyRecoverInit(ctx: P11Context, [handle]: RequestArgs<'C_VerifyRecoverInit'>): R {
  ctx.conn.session(handle);
  throw new HsmError('MECHANISM_INVALID', 'no signature-with-recovery mechanism is offered');
}

export async function C_VerifyRecover(ctx: P11Context, [handle]: RequestArgs<'C_VerifyRecover'>): R {
  ctx.conn.session(handle);
  throw new HsmError('OPERATION_NOT_INITIALIZED');
}
