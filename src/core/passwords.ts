// Password hashing (scrypt, N=2^15 r=8 p=1: about 32 MiB and tens of ms, OWASP's floor) and the
// password policy. Passwords are never stored, logged or compared except through these.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';

const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

export async function hashPassword(password: string): Promise<string> {
  const salt = c.randomBytes(16);
  const hash = await c.scrypt(Buffer.from(password, 'utf8'), salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = String(stored).split('$');
  if (scheme !== 'scrypt' || Number(n) > SCRYPT.N * 4 || Number(r) > 16 || Number(p) > 4) return false;
  const expected = Buffer.from(hash ?? '', 'base64');
  const got = await c.scrypt(Buffer.from(password, 'utf8'), Buffer.from(salt ?? '', 'base64'), expected.length || 32,
    { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return c.timingSafeEqual(got, expected);
}

let decoy: Promise<string> | undefined;
/** Spends the time a real check would, for names that are not users (no timing oracle). */
export async function decoyCheck(password: string): Promise<void> {
  decoy ??= hashPassword('inkan-decoy-password');
  await passwordMatches(password, await decoy);
}

/** A partition's password rules (its policy's passwordMin and passwordClasses). */
export interface PasswordRules { min: number; classes: number }

const CLASSES = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/];

/** The module-wide bounds (8 to 256 characters), then the partition's own rules if given. */
export function checkPassword(password: unknown, rules?: PasswordRules): asserts password is string {
  if (typeof password !== 'string' || password.length < PASSWORD_MIN || password.length > PASSWORD_MAX) throw new HsmError('PASSWORD_POLICY');
  if (!rules) return;
  if (password.length < rules.min) throw new HsmError('PASSWORD_POLICY', `passwords in this partition are at least ${rules.min} characters`);
  if (CLASSES.filter((re) => re.test(password)).length < rules.classes) {
    throw new HsmError('PASSWORD_POLICY', `passwords in this partition mix at least ${rules.classes} of: lower case, upper case, digits, other characters`);
  }
}
