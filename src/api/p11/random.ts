// Random number generation functions (PKCS#11 2.40 §5.15).
import { HsmError } from '../../errors/hsm-error';
import type { RequestArgs } from '../../protocol/p11rpc';
import type { P11Context } from './state';

type R = Promise<readonly unknown[]>;

/** The module's generator is the operating system's; it takes no seed (§5.15 allows refusing). */
export async function C_SeedRandom(ctx: P11Context, [handle]: RequestArgs<'C_SeedRandom'>): R {
  ctx.conn.session(handle);
  throw new HsmError('RANDOM_SEED_NOT_SUPPORTED');
}

/** docs/p11kit-rpc.md §10: the capacity is the requested length; answer exactly that many bytes.
 *  Capacity 0 (a NULL buffer or a zero-length request: the same on the wire) gets 0 bytes, because
 *  `pkcs11-tool --test` asks for 0 bytes and expects CKR_OK (pkcs11test expects the opposite). */
export async function C_GenerateRandom(ctx: P11Context, [handle, hint]: RequestArgs<'C_GenerateRandom'>): R {
  const s = ctx.conn.session(handle);
  return [await ctx.hsm.crypto.random(ctx.conn.caller(s), hint.capacity)];
}
