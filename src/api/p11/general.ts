// General-purpose, slot and token functions (PKCS#11 2.40 §5.4-§5.5): C_Initialize … C_GetMechanismInfo,
// C_InitToken and C_WaitForSlotEvent. One slot per partition (slots.ts).
import { HsmError } from '../../errors/hsm-error';
import { allMechanisms, mechanism } from '../../mechanisms/registry';
import { CKF } from '../../pkcs11/constants';
import {
  CK_EFFECTIVELY_INFINITE, CK_UNAVAILABLE_INFORMATION, fitUlongs, isRpcHandshake,
  type CkTokenInfo, type RequestArgs,
} from '../../protocol/p11rpc';
import {
  CKF_DONT_BLOCK, CKF_SLOT, CKF_TOKEN, CRYPTOKI_VERSION, LIBRARY_VERSION, MANUFACTURER, MAX_PIN_LEN, MIN_PIN_LEN,
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
  const ids = onlyPresent && !tokenPresent(ctx) ? [] : ctx.conn.slots.map((s) => s.id);
  return [fitUlongs(capacity, ids)];
}

export async function C_GetSlotInfo(ctx: P11Context, [slotId]: RequestArgs<'C_GetSlotInfo'>): R {
  const slot = ctx.conn.slot(slotId);
  return [{
    slotDescription: `Inkan partition ${slot.partition}`, manufacturerID: MANUFACTURER,
    flags: tokenPresent(ctx) ? CKF_SLOT.TOKEN_PRESENT : 0,
    hardwareVersion: LIBRARY_VERSION, firmwareVersion: LIBRARY_VERSION,
  }];
}

export async function C_GetTokenInfo(ctx: P11Context, [slotId]: RequestArgs<'C_GetTokenInfo'>): R {
  const slot = ctx.conn.slot(slotId);
  ctx.hsm.requireUnsealed();
  const open = [...ctx.conn.sessions.values()].filter((s) => s.slot === slot);
  const info: CkTokenInfo = {
    label: slot.label, manufacturerID: MANUFACTURER, model: 'Inkan software', serialNumber: ctx.hsm.node.slice(0, 16),
    flags: CKF_TOKEN.RNG | CKF_TOKEN.LOGIN_REQUIRED | CKF_TOKEN.USER_PIN_INITIALIZED | CKF_TOKEN.TOKEN_INITIALIZED,
    ulMaxSessionCount: CK_EFFECTIVELY_INFINITE, ulSessionCount: open.length,
    ulMaxRwSessionCount: CK_EFFECTIVELY_INFINITE, ulRwSessionCount: open.filter((s) => s.rw).length,
    ulMaxPinLen: MAX_PIN_LEN, ulMinPinLen: MIN_PIN_LEN,
    ulTotalPublicMemory: CK_UNAVAILABLE_INFORMATION, ulFreePublicMemory: CK_UNAVAILABLE_INFORMATION,
    ulTotalPrivateMemory: CK_UNAVAILABLE_INFORMATION, ulFreePrivateMemory: CK_UNAVAILABLE_INFORMATION,
    hardwareVersion: LIBRARY_VERSION, firmwareVersion: LIBRARY_VERSION, utcTime: '',
  };
  return [info];
}

/** Every registered mechanism; the 0.24.1 client hides those it cannot carry (§5.6). */
export async function C_GetMechanismList(ctx: P11Context, [slotId, capacity]: RequestArgs<'C_GetMechanismList'>): R {
  ctx.conn.slot(slotId);
  const types = allMechanisms().map((m) => m.type);
  return [fitUlongs(capacity, types)];
}

export async function C_GetMechanismInfo(ctx: P11Context, [slotId, type]: RequestArgs<'C_GetMechanismInfo'>): R {
  ctx.conn.slot(slotId);
  const m = mechanism(type);
  // CKF_HW: the operation runs inside the module, not in the calling library (pkcs11-tool --test looks for it).
  return [{ ulMinKeySize: m.minKeySize, ulMaxKeySize: m.maxKeySize, flags: m.flags | CKF.HW }];
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
