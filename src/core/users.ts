// Users, roles and logins (CloudHSM's model): scrypt password hashes, five failed logins in
// a row lock the account until a crypto officer unlocks it. Passwords are never stored or logged.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import { checkUser, DomainKeys, macUser } from '../keystore/seal';
import type { KeyStore, UserRow } from '../keystore/types';
import { requireRole } from './policy/gate';
import { Principal, Role, ROLES } from './principal';

export const MAX_FAILED_LOGINS = 5;
// scrypt N=2^15, r=8, p=1 (about 32 MiB, tens of ms): OWASP's recommended floor.
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const USERNAME = /^[A-Za-z0-9._-]{1,64}$/;

export interface UserInfo { id: string; username: string; role: Role; locked: boolean; failedLogins: number; created: string }

async function hashPassword(password: string): Promise<string> {
  const salt = c.randomBytes(16);
  const hash = await c.scrypt(Buffer.from(password, 'utf8'), salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

async function passwordMatches(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt') return false;
  const expected = Buffer.from(hash, 'base64');
  const got = await c.scrypt(Buffer.from(password, 'utf8'), Buffer.from(salt, 'base64'), expected.length,
    { N: Number(n), r: Number(r), p: Number(p), maxmem: SCRYPT.maxmem });
  return c.timingSafeEqual(got, expected);
}

function checkPassword(password: unknown): asserts password is string {
  if (typeof password !== 'string' || password.length < 8 || password.length > 256) throw new HsmError('PASSWORD_POLICY');
}

const info = (u: UserRow): UserInfo => ({
  id: u.id, username: u.username, role: u.role as Role, locked: u.locked, failedLogins: u.failedLogins,
  created: new Date(u.created).toISOString(),
});

export class UserService {
  /** A hash to verify against when the user does not exist, so timing does not reveal usernames. */
  private decoy?: Promise<string>;

  constructor(private readonly store: KeyStore, private readonly keys: () => DomainKeys) {}

  private async load(username: string): Promise<UserRow | undefined> {
    const row = await this.store.getUserByName(username);
    return row && checkUser(this.keys(), row);
  }

  private async save(row: UserRow, changes: Partial<UserRow>): Promise<UserRow> {
    const next = macUser(this.keys(), { ...row, ...changes, version: row.version + 1 });
    await this.store.updateUser(next, row.version);
    return next;
  }

  /** Creates a user; `actor` undefined only for the first officer made by init. */
  async create(actor: Principal | undefined, username: string, role: Role, password: string): Promise<UserInfo> {
    if (actor) requireRole(actor, 'user.manage');
    if (typeof username !== 'string' || !USERNAME.test(username)) throw new HsmError('USERNAME_INVALID');
    if (!ROLES.includes(role)) throw new HsmError('BAD_REQUEST', `role must be one of ${ROLES.join(', ')}`);
    checkPassword(password);
    const row = macUser(this.keys(), {
      id: c.randomUuid(), username, role, passwordHash: await hashPassword(password), failedLogins: 0,
      locked: false, version: 1, created: Date.now(),
    });
    await this.store.insertUser(row);
    return info(row);
  }

  async list(actor: Principal): Promise<UserInfo[]> {
    requireRole(actor, 'user.list');
    return (await this.store.listUsers()).map((u) => info(checkUser(this.keys(), u)));
  }

  async find(username: string): Promise<UserInfo | undefined> {
    const row = await this.load(username);
    return row && info(row);
  }

  async byId(id: string): Promise<UserInfo | undefined> {
    const row = await this.store.getUserById(id);
    return row && info(checkUser(this.keys(), row));
  }

  async delete(actor: Principal, username: string): Promise<void> {
    requireRole(actor, 'user.manage');
    const row = await this.load(username);
    if (!row) throw new HsmError('USER_NOT_FOUND');
    if (row.role === 'officer') {
      const officers = (await this.store.listUsers()).filter((u) => u.role === 'officer');
      if (officers.length <= 1) throw new HsmError('LAST_OFFICER');
    }
    await this.store.deleteUser(row.id);
  }

  /** Officers reset anyone's password; a user changes its own with the old one. */
  async setPassword(actor: Principal, username: string, password: string, oldPassword?: string): Promise<void> {
    checkPassword(password);
    const row = await this.load(username);
    if (!row) throw new HsmError('USER_NOT_FOUND');
    if (actor.role !== 'officer') {
      if (actor.id !== row.id) throw new HsmError('FORBIDDEN', 'only an officer may change another user\'s password');
      if (typeof oldPassword !== 'string' || !(await passwordMatches(oldPassword, row.passwordHash))) throw new HsmError('LOGIN_FAILED');
    }
    await this.save(row, { passwordHash: await hashPassword(password) });
  }

  async unlock(actor: Principal, username: string): Promise<void> {
    requireRole(actor, 'user.manage');
    const row = await this.load(username);
    if (!row) throw new HsmError('USER_NOT_FOUND');
    await this.save(row, { locked: false, failedLogins: 0 });
  }

  /** Verifies a password; counts failures and locks at MAX_FAILED_LOGINS. */
  async login(username: string, password: string): Promise<Principal> {
    const row = typeof username === 'string' ? await this.load(username) : undefined;
    if (!row) {
      this.decoy ??= hashPassword('decoy-password');
      await passwordMatches(String(password), await this.decoy);
      throw new HsmError('LOGIN_FAILED');
    }
    if (row.locked) throw new HsmError('ACCOUNT_LOCKED');
    if (!(await passwordMatches(String(password), row.passwordHash))) {
      const failed = row.failedLogins + 1;
      await this.save(row, { failedLogins: failed, locked: failed >= MAX_FAILED_LOGINS });
      throw new HsmError(failed >= MAX_FAILED_LOGINS ? 'ACCOUNT_LOCKED' : 'LOGIN_FAILED');
    }
    if (row.failedLogins) await this.save(row, { failedLogins: 0 });
    return { id: row.id, username: row.username, role: row.role as Role };
  }
}
