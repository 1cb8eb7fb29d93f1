// Session and login functions (PKCS#11 2.40 §5.6-§5.7). User login is a crypto user and SO
// login a crypto officer, each with the PIN written "username:password" (CloudHSM's form).
// Login state belongs to the connection: every session of the application shares it (§5.7).
import { HsmError } from '../../errors/hsm-error';
import type { Principal } from '../../core/principal';
import type { RequestArgs } from '../../protocol/p11rpc';
import { CKF_SESSION, CKU, MAX_PIN_LEN } from './constants';
import { CKA } from '../../pkcs11/constants';
import type { P11Context, Session } from './state';

type R = Promise<readonly unknown[]>;

/** "username:password" → its halves; anything else is a wrong PIN (the core counts only real users' failures). */
export function parsePin(pin: Buffer | null): { username: string; password: string } {
  if (pin === null) throw new HsmError('BAD_REQUEST', 'a PIN is required (no protected authentication path)');
  if (pin.length > MAX_PIN_LEN) throw new HsmError('LOGIN_FAILED');
  const text = pin.toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) throw new HsmError('LOGIN_FAILED', 'the PIN is "username:password"');
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

export async function C_OpenSession(ctx: P11Context, [slotId, flags]: RequestArgs<'C_OpenSession'>): R {
  const slot = await ctx.conn.freshSlot(slotId);
  if (!(flags & CKF_SESSION.SERIAL_SESSION)) throw new HsmError('SESSION_PARALLEL_NOT_SUPPORTED');
  ctx.hsm.requireUnsealed();
  if (ctx.conn.login?.userType === CKU.SO && !(flags & CKF_SESSION.RW_SESSION)) throw new HsmError('SESSION_READ_WRITE_SO_EXISTS');
  return [ctx.conn.openSession(slot, flags).handle];
}

export async function C_CloseSession(ctx: P11Context, [handle]: RequestArgs<'C_CloseSession'>): R {
  ctx.conn.closeSession(ctx.conn.session(handle));
  return [];
}

export async function C_CloseAllSessions(ctx: P11Context, [slotId]: RequestArgs<'C_CloseAllSessions'>): R {
  const slot = ctx.conn.slot(slotId);
  for (const s of [...ctx.conn.sessions.values()]) if (s.slot === slot) ctx.conn.closeSession(s);
  return [];
}

export async function C_GetSessionInfo(ctx: P11Context, [handle]: RequestArgs<'C_GetSessionInfo'>): R {
  const s = ctx.conn.session(handle);
  return [{ slotID: s.slot.id, state: ctx.conn.state(s), flags: s.flags, ulDeviceError: 0 }];
}

const ROLE_OF: Record<number, Principal['role']> = { [CKU.SO]: 'officer', [CKU.USER]: 'user' };

export async function C_Login(ctx: P11Context, [handle, userType, pin]: RequestArgs<'C_Login'>): R {
  const s = ctx.conn.session(handle);
  const current = ctx.conn.login;
  if (userType === CKU.CONTEXT_SPECIFIC) return contextLogin(ctx, s, pin);
  const role = ROLE_OF[userType];
  if (!role) throw new HsmError('USER_TYPE_INVALID');
  // A login revoked since (user deleted, locked, password changed) is no login: the application may log in again.
  if (current && await ctx.hsm.isRevoked(current.principal, 'p11')) forgetLogin(ctx);
  if (ctx.conn.login) throw new HsmError(ctx.conn.login.userType === userType ? 'USER_ALREADY_LOGGED_IN' : 'USER_ANOTHER_ALREADY_LOGGED_IN');
  if (userType === CKU.SO && [...ctx.conn.sessions.values()].some((o) => o.slot === s.slot && !o.rw)) throw new HsmError('SESSION_READ_ONLY_EXISTS');
  // Remembered for C_GetTokenInfo's PIN flags (§3.2: COUNT_LOW after a wrong PIN, until a login succeeds).
  ctx.conn.lastLogin = { userType, failed: true };
  const { username, password } = parsePin(pin);
  ctx.conn.lastLogin = { userType, username, failed: true };
  const principal = await ctx.hsm.login(username, password, 'p11', { partition: s.slot.partition, source: ctx.conn.id });
  // A correct password for the wrong kind of user is still the wrong PIN for this user type.
  if (principal.role !== role) throw new HsmError('LOGIN_FAILED');
  ctx.conn.login = { userType, principal };
  ctx.conn.lastLogin = { userType, username, failed: false };
  return [];
}

/** CKU_CONTEXT_SPECIFIC (§5.6, §4.9 CKA_ALWAYS_AUTHENTICATE): right after an *Init with such a key,
 *  the key's own PIN (or, for a key without one, the user's "username:password" again) authorises
 *  that one operation. Wrong PINs are CKR_PIN_INCORRECT, throttled and locked like user PINs. */
async function contextLogin(ctx: P11Context, s: Session, pin: Buffer | null): R {
  const current = ctx.conn.login;
  if (!current || current.userType !== CKU.USER) throw new HsmError('AUTH_REQUIRED');
  const op = [...s.ops.values()].find((o) => o.key?.bool(CKA.ALWAYS_AUTHENTICATE));
  if (!op?.key) throw new HsmError('OPERATION_NOT_INITIALIZED', 'a context-specific login follows the *Init of an operation with a CKA_ALWAYS_AUTHENTICATE key');
  let secret: string;
  if (ctx.hsm.limits.hasKeyPin(op.key)) {
    if (pin === null || pin.length > MAX_PIN_LEN) throw new HsmError('KEY_PIN_INCORRECT');
    secret = pin.toString('utf8');
  }
  else {
    const { username, password } = parsePin(pin);
    if (username !== current.principal.username) throw new HsmError('LOGIN_FAILED');
    secret = password;
  }
  s.keyAuth = undefined;
  s.keyAuth = await ctx.hsm.limits.authenticate(ctx.conn.caller(s), op.key, secret);
  return [];
}

/** The connection's sessions return to the public state: no login, no operation in progress. */
export function forgetLogin(ctx: P11Context): void {
  ctx.conn.login = undefined;
  for (const s of ctx.conn.sessions.values()) s.ops.clear();
}

export async function C_Logout(ctx: P11Context, [handle]: RequestArgs<'C_Logout'>): R {
  ctx.conn.session(handle);
  if (!ctx.conn.login) throw new HsmError('AUTH_REQUIRED');
  forgetLogin(ctx);
  return [];
}

/** The SO sets a user's PIN: creates the crypto user "username" or resets its password. */
export async function C_InitPIN(ctx: P11Context, [handle, pin]: RequestArgs<'C_InitPIN'>): R {
  const s = ctx.conn.session(handle);
  const login = ctx.conn.loginFor(s);
  if (login?.userType !== CKU.SO) throw new HsmError('AUTH_REQUIRED');
  const { username, password } = parsePin(pin);
  const caller = ctx.conn.caller(s);
  if (await ctx.hsm.users.find(s.slot.partition, username)) await ctx.hsm.users.setPassword(caller, username, password);
  else await ctx.hsm.users.create(caller, username, 'user', password);
  return [];
}

/** The logged-in user changes its own password; the new PIN may repeat "username:" or give the password alone. */
export async function C_SetPIN(ctx: P11Context, [handle, oldPin, newPin]: RequestArgs<'C_SetPIN'>): R {
  const s = ctx.conn.session(handle);
  const login = ctx.conn.loginFor(s);
  if (!login) throw new HsmError('AUTH_REQUIRED');
  const old = parsePin(oldPin);
  if (old.username !== login.principal.username) throw new HsmError('LOGIN_FAILED');
  if (newPin === null) throw new HsmError('BAD_REQUEST');
  const text = newPin.toString('utf8');
  const prefix = `${login.principal.username}:`;
  const password = text.startsWith(prefix) ? text.slice(prefix.length) : text;
  await ctx.hsm.users.setPassword(ctx.conn.caller(s), login.principal.username, password, old.password);
  // The change ended every session of the user on every face; this application stays logged in
  // with the new password, as PKCS#11 expects after C_SetPIN.
  ctx.conn.login = { userType: login.userType, principal: await ctx.hsm.login(login.principal.username, password, 'p11', { partition: s.slot.partition, source: ctx.conn.id }) };
  return [];
}

/** Operation state holds unsealed key references; it is never handed out (§5.6 allows refusing). */
export async function C_GetOperationState(ctx: P11Context, [handle]: RequestArgs<'C_GetOperationState'>): R {
  ctx.conn.session(handle);
  throw new HsmError('NOT_SUPPORTED');
}

export async function C_SetOperationState(ctx: P11Context, [handle]: RequestArgs<'C_SetOperationState'>): R {
  ctx.conn.session(handle);
  throw new HsmError('NOT_SUPPORTED');
}
