// General-purpose, slot and token functions (PKCS#11 2.40 §5.4-§5.5): C_Initialize … C_GetMechanismInfo,
// C_InitToken and C_WaitForSlotEvent. One slot per partition (slots.ts).
import { HsmError } from '../../errors/hsm-error';
import { mechanism, mechanismInfo, offeredMechanisms } from '../../mechanisms/registry';
import { MAX_FAILED_LOGINS } from '../../core/users';
import { CKF } from '../../pkcs11/constants';
import {
  CK_EFFECTIVELY_INFINITE, CK_UNAVAILABLE_INFORMATION, fitUlongs, isRpcHandshake,
  type CkTokenInfo, type RequestArgs,
} from '../../protocol/p11rpc';
import {
  CKF_DONT_BLOCK, CKF_SLOT, CKF_TOKEN, CKU, CRYPTOKI_VERSION, LIBRARY_VERSION, MANUFACTURER, MAX_PIN_LEN, MIN_PIN_LEN,
} from './constants';
import type { P11Context } from './state';

type R = Promise<readonly unknown[]>;

/** §6.1: the request carries p11-kit's handshake string; the reference answers a mismatch with CKR_GENERAL_ERROR. */
export async function C_Initialize(ctx: P11Context, [handshake]: RequestArgs<'C_Initialize'>): R {
  if (!isRpcHandshake(handshake)) throw new HsmError('INTERNAL', 'bad p11-kit handshake string');
  if (ctx.conn.initialized) throw new HsmError('CRYPTOKI_ALREADY_INITIALIZED');
  ctx.conn.initialized = true;
  return [];
}

export async function C_Finalize(ctx: P11Context): R {
  ctx.conn.requireInitialized();
  ctx.conn.closeAll();
  ctx.conn.initialized = false;
  return [];
}

export async function C_GetInfo(ctx: P11Context): R {
  ctx.conn.requireInitialized();
  return [{
    cryptokiVersion: CRYPTOKI_VERSION, manufacturerID: MANUFACTURER, flags: 0,
    libraryDescription: 'Inkan HSM over p11-kit RPC', libraryVersion: LIBRARY_VERSION,
  }];
}

const tokenPresent = (ctx: P11Context) => ctx.hsm.state === 'unsealed';

export async function C_GetSlotList(ctx: P11Context, [onlyPresent, capacity]: RequestArgs<'C_GetSlotList'>): R {
  ctx.conn.requireInitialized();
  const slots = await ctx.conn.refreshSlots();
  const ids = onlyPresent && !tokenPresent(ctx) ? [] : slots.map((s) => s.id);
  return [fitUlongs(capacity, ids)];
}

export async function C_GetSlotInfo(ctx: P11Context, [slotId]: RequestArgs<'C_GetSlotInfo'>): R {
  const slot = await ctx.conn.freshSlot(slotId);
  return [{
    slotDescription: `Inkan partition ${slot.partition}`, manufacturerID: MANUFACTURER,
    flags: tokenPresent(ctx) ? CKF_SLOT.TOKEN_PRESENT : 0,
    hardwareVersion: LIBRARY_VERSION, firmwareVersion: LIBRARY_VERSION,
  }];
}

/** §3.2 CK_TOKEN_INFO PIN flags. The PIN is "username:password", so "the user PIN" is the account
 *  this connection logged in as or last tried: COUNT_LOW after a wrong PIN on this connection or a
 *  failed login of that account since its last success, FINAL_TRY before the lockout, LOCKED after it. */
async function pinFlags(ctx: P11Context, partition: string): Promise<number> {
  const login = ctx.conn.login;
  const who = login ? { userType: login.userType, username: login.principal.username, failed: false } : ctx.conn.lastLogin;
  if (!who) return 0;
  const so = who.userType === CKU.SO;
  const [low, final, locked] = so
    ? [CKF_TOKEN.SO_PIN_COUNT_LOW, CKF_TOKEN.SO_PIN_FINAL_TRY, CKF_TOKEN.SO_PIN_LOCKED]
    : [CKF_TOKEN.USER_PIN_COUNT_LOW, CKF_TOKEN.USER_PIN_FINAL_TRY, CKF_TOKEN.USER_PIN_LOCKED];
  const u = who.username === undefined ? undefined : await ctx.hsm.users.find(partition, who.username);
  if (u?.locked) return locked;
  const failures = u?.failedLogins ?? 0;
  let flags = who.failed || failures > 0 ? low : 0;
  if (failures >= MAX_FAILED_LOGINS - 1) flags |= final;
  return flags;
}

/** The model field says the partition's mode (Luna: "NOT in FIPS approved operation mode"). */
const modelOf = (approvedOnly: boolean) => (approvedOnly ? 'Inkan approved' : 'Inkan legacy ok');

/** Flags from the partition's policy (docs/partitions.md): a partition holding its max-objects is
 *  CKF_WRITE_PROTECTED (no token object can be made); one that shows no public objects before
 *  login says so with CKF_LOGIN_REQUIRED, which every Inkan token sets anyway (keys need a login). */
async function policyFlags(ctx: P11Context, partition: string, maxObjects: number): Promise<number> {
  const held = await ctx.hsm.store.count('objects', { partition });
  return held >= maxObjects ? CKF_TOKEN.WRITE_PROTECTED : 0;
}

export async function C_GetTokenInfo(ctx: P11Context, [slotId]: RequestArgs<'C_GetTokenInfo'>): R {
  const slot = await ctx.conn.freshSlot(slotId);
  ctx.hsm.requireUnsealed();
  const open = [...ctx.conn.sessions.values()].filter((s) => s.slot === slot);
  const policy = await ctx.hsm.partitions.policy(slot.partition);
  const info: CkTokenInfo = {
    label: slot.label, manufacturerID: MANUFACTURER, model: modelOf(policy.approvedOnly), serialNumber: slot.serial,
    flags: CKF_TOKEN.RNG | CKF_TOKEN.LOGIN_REQUIRED | CKF_TOKEN.USER_PIN_INITIALIZED | CKF_TOKEN.TOKEN_INITIALIZED | await pinFlags(ctx, slot.partition)
      | await policyFlags(ctx, slot.partition, policy.maxObjects),
    ulMaxSessionCount: CK_EFFECTIVELY_INFINITE, ulSessionCount: open.length,
    ulMaxRwSessionCount: CK_EFFECTIVELY_INFINITE, ulRwSessionCount: open.filter((s) => s.rw).length,
    ulMaxPinLen: MAX_PIN_LEN, ulMinPinLen: MIN_PIN_LEN,
    ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION, ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
    ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION, ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
    hardwareVersion: LIBRARY_VERSION, firmwareVersion: LIBRARY_VERSION, utcTime: '',
  };
  return [info];
}

/** The registry's mechanisms the partition offers (approved-only leaves out DES3); the 0.24.1 client
 *  hides those it cannot carry (§5.6). */
export async function C_GetMechanismList(ctx: P11Context, [slotId, capacity]: RequestArgs<'C_GetMechanismList'>): R {
  const slot = ctx.conn.slot(slotId);
  const { approvedOnly } = await ctx.hsm.partitions.policy(slot.partition);
  return [fitUlongs(capacity, offeredMechanisms(approvedOnly).map((m) => m.type))];
}

export async function C_GetMechanismInfo(ctx: P11Context, [slotId, type]: RequestArgs<'C_GetMechanismInfo'>): R {
  const slot = ctx.conn.slot(slotId);
  const { approvedOnly } = await ctx.hsm.partitions.policy(slot.partition);
  const info = mechanismInfo(mechanism(type), approvedOnly);
  // CKF_HW: the operation runs inside the module, not in the calling library (pkcs11-tool --test looks for it).
  return [{ ulMinKeySize: info.minKeySize, ulMaxKeySize: info.maxKeySize, flags: info.flags | CKF.HW }];
}

/** Tokens are partitions made by crypto officers through the admin face, never re-initialised over PKCS#11. */
export async function C_InitToken(ctx: P11Context, [slotId]: RequestArgs<'C_InitToken'>): R {
  ctx.conn.slot(slotId);
  throw new HsmError('NOT_SUPPORTED', 'tokens are initialised with `inkan init`');
}

/** §10: never block the connection; with CKF_DONT_BLOCK there is simply no event. */
export async function C_WaitForSlotEvent(ctx: P11Context, [flags]: RequestArgs<'C_WaitForSlotEvent'>): R {
  ctx.conn.requireInitialized();
  if (flags & CKF_DONT_BLOCK) throw new HsmError('NO_EVENT');
  throw new HsmError('NOT_SUPPORTED', 'blocking slot events are not supported');
}
