// Users, roles and logins (CloudHSM's model): scrypt password hashes, users per partition, and a
// lockout that holds under any concurrency: a guess is counted in the store BEFORE its password
// is checked (optimistic concurrency, retried on conflict), so at most MAX_FAILED_LOGINS guesses
// are ever evaluated before the account locks, on one node or many. A growing delay slows guessing
// per account and per source; unknown names count and answer exactly as known ones do. Locking,
// deleting or changing a password bumps the user's epoch, which ends its sessions on every face.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { DomainKeys } from '../keystore/seal';
import type { RecordRow } from '../keystore/types';
import { Change } from './change';
import { Coherence, LruCache } from './coherence';
import type { Operations } from './operation';
import type { Gate } from './policy/gate';
import { Caller, Principal, PrincipalRegistry, Role, ROLES } from './principal';
import type { Records } from './records';
import { checkPassword, hashPassword, passwordMatches, type PasswordRules } from './passwords';
import { LoginThrottle, MAX_FAILED_LOGINS, officerLockout, OFFICER_LOCKOUT_MS } from './login-throttle';

export { MAX_FAILED_LOGINS };
const USERNAME = /^[A-Za-z0-9._-]{1,64}$/;
const MAX_RETRIES = 50;
/** Logins of one account waiting on this node at most; more are refused at once (BUSY). */
const MAX_WAITING_LOGINS = 64;

/** Runs the logins of one account on this node one after another. Every attempt is counted as a
 *  failure before its password is evaluated (so parallel guesses get no extra tries); without
 *  this, a handful of simultaneous correct logins counted each other as failures and locked the
 *  account — a denial of service anyone who knows a username could cause. Bounded per account. */
class AccountQueue {
  private readonly tails = new Map<string, { tail: Promise<unknown>; waiting: number }>();

  run<T>(account: string, fn: () => Promise<T>): Promise<T> {
    const q = this.tails.get(account) ?? { tail: Promise.resolve(), waiting: 0 };
    if (q.waiting >= MAX_WAITING_LOGINS) return Promise.reject(new HsmError('BUSY', 'too many concurrent logins for this account'));
    q.waiting++;
    const result = q.tail.then(fn);
    q.tail = result.then(() => undefined, () => undefined).then(() => {
      if (--q.waiting === 0 && this.tails.get(account) === q) this.tails.delete(account);
    });
    this.tails.set(account, q);
    return result;
  }
}

export interface UserInfo { id: string; username: string; role: Role; partition: string; locked: boolean; failedLogins: number; created: string; lockedUntil?: string }

/** `lockedUntil`/`lockouts`: an officer's temporary lockout after failed logins (login-throttle.ts). */
interface UserData { passwordHash: string; failedLogins: number; locked: boolean; lastFailureAt: number; epoch: number; lockedUntil?: number; lockouts?: number }
interface User { id: string; partition: string; username: string; role: Role; data: UserData; row: RecordRow }

const info = (u: User): UserInfo => ({
  id: u.id, username: u.username, role: u.role, partition: u.partition, locked: u.data.locked, failedLogins: u.data.failedLogins,
  created: new Date(u.row.created).toISOString(),
  ...(u.data.lockedUntil && u.data.lockedUntil > Date.now() ? { lockedUntil: new Date(u.data.lockedUntil).toISOString() } : {}),
});

export class UserService {
  private readonly states = new LruCache<{ epoch: number; locked: boolean; partition: string }>(10_000);
  readonly throttle: LoginThrottle;
  private readonly logins = new AccountQueue();
  /** A partition's password rules (its policy; set by the module, hsm.ts): checked on every new password. */
  passwordRules: (partition: string) => Promise<PasswordRules | undefined> = async () => undefined;

  constructor(private readonly records: Records, private readonly keys: () => DomainKeys, private readonly gate: Gate,
    private readonly ops: Operations, private readonly registry: PrincipalRegistry, coherence: Coherence, loginDelayMs?: number,
    private readonly officerLockoutMs = OFFICER_LOCKOUT_MS) {
    coherence.register('users', (id) => this.states.delete(id), () => this.states.clear());
    this.throttle = new LoginThrottle(records.store, keys, (change) => ops.applyUnrecorded(change), loginDelayMs);
  }

  // --- reading ---------------------------------------------------------------------------------

  private decode(row: RecordRow): User {
    const data = JSON.parse(row.data) as UserData;
    return { id: row.id, partition: row.partition, username: String(row.cols.username), role: row.cols.role as Role, data, row };
  }

  private async byName(partition: string, username: string): Promise<User | undefined> {
    if (typeof username !== 'string' || !USERNAME.test(username)) return undefined;
    const [row] = await this.records.find('users', { partition, username });
    return row && this.decode(row);
  }

  private async byIdRaw(id: string): Promise<User | undefined> {
    const row = typeof id === 'string' && id.length <= 64 ? await this.records.get('users', id) : undefined;
    return row && this.decode(row);
  }

  /** For the gate: the user's current epoch and lock (a coherent cache; revocation is seen at once). */
  async userState(id: string): Promise<{ epoch: number; locked: boolean; partition: string } | undefined> {
    const hit = this.states.get(id);
    if (hit) return hit;
    const u = await this.byIdRaw(id);
    if (!u) return undefined;
    const state = { epoch: u.data.epoch, locked: u.data.locked, partition: u.partition };
    this.states.set(id, state);
    return state;
  }

  /** Module-internal lookups for faces' bookkeeping (usernames for listings); no authorisation needed. */
  async find(partition: string, username: string): Promise<UserInfo | undefined> {
    const u = await this.byName(partition, username);
    return u && info(u);
  }
  async byId(id: string): Promise<UserInfo | undefined> {
    const u = await this.byIdRaw(id);
    return u && info(u);
  }

  list(caller: Caller): Promise<UserInfo[]> {
    return this.ops.run(caller, 'user.list', async (a) => {
      this.gate.authorize(a, 'user.list', { kind: 'user', id: '', partition: a.partition });
      const out: UserInfo[] = [];
      for await (const row of this.records.all('users', { partition: a.partition })) out.push(info(this.decode(row)));
      return out.sort((x, y) => x.created.localeCompare(y.created) || x.username.localeCompare(y.username));
    }, { recordSuccess: false });
  }

  // --- changing ----------------------------------------------------------------------------------

  private row(u: { id: string; partition: string; username: string; role: Role; data: UserData }, old?: RecordRow): RecordRow {
    return this.records.make('users', { id: u.id, partition: u.partition, cols: { username: u.username, role: u.role }, data: JSON.stringify(u.data), sealed: null }, old);
  }

  /** A new user row in `change` (also used by init for the first officer). */
  async insertIn(change: Change, partition: string, username: string, role: Role, password: string, rules?: PasswordRules): Promise<UserInfo> {
    if (typeof username !== 'string' || !USERNAME.test(username)) throw new HsmError('USERNAME_INVALID');
    if (!ROLES.includes(role)) throw new HsmError('BAD_REQUEST', `role must be one of ${ROLES.join(', ')}`);
    checkPassword(password, rules);
    const data: UserData = { passwordHash: await hashPassword(password), failedLogins: 0, locked: false, lastFailureAt: 0, epoch: 1 };
    const row = this.row({ id: c.randomUuid(), partition, username, role, data });
    change.existsAs = 'USER_EXISTS';
    change.insert('users', row).onCommit(() => this.records.wrote('users', row));
    return info(this.decode(row));
  }

  create(caller: Caller, username: string, role: Role, password: string): Promise<UserInfo> {
    return this.ops.run(caller, 'user.create', async (a, change, rec) => {
      rec.detail = `${String(username).slice(0, 64)} as ${String(role).slice(0, 16)}`;
      this.gate.authorize(a, 'user.create', { kind: 'user', id: '', partition: a.partition });
      const u = await this.insertIn(change, a.partition, username, role, password, await this.passwordRules(a.partition));
      rec.object = u.id;
      return u;
    });
  }

  delete(caller: Caller, username: string): Promise<void> {
    return this.ops.run(caller, 'user.delete', async (a, change, rec) => {
      rec.detail = String(username).slice(0, 64);
      const u = await this.target(a.partition, username, (t) => this.gate.authorize(a, 'user.delete', t));
      rec.object = u.id;
      if (u.role === 'officer' && (await this.records.store.count('users', { partition: u.partition, role: 'officer' })) <= 1) throw new HsmError('LAST_OFFICER');
      change.delete('users', u.row).onCommit(() => this.states.delete(u.id));
    });
  }

  /** Officers reset passwords in their partition; a user changes its own with the old one. Ends the user's sessions. */
  setPassword(caller: Caller, username: string, password: string, oldPassword?: string): Promise<void> {
    return this.ops.run(caller, 'user.passwd', async (a, change, rec) => {
      rec.detail = String(username).slice(0, 64);
      checkPassword(password);
      const u = await this.target(a.partition, username, (t) => this.gate.authorize(a, 'user.passwd', t));
      checkPassword(password, await this.passwordRules(a.partition));
      rec.object = u.id;
      const self = a.principal?.id === u.id;
      if (self && a.actor !== 'officer' || self && oldPassword !== undefined) {
        if (typeof oldPassword !== 'string' || !(await passwordMatches(oldPassword, u.data.passwordHash))) throw new HsmError('LOGIN_FAILED');
      }
      this.write(change, u, { passwordHash: await hashPassword(password), epoch: u.data.epoch + 1 });
    });
  }

  unlock(caller: Caller, username: string): Promise<void> {
    return this.ops.run(caller, 'user.unlock', async (a, change, rec) => {
      rec.detail = String(username).slice(0, 64);
      const u = await this.target(a.partition, username, (t) => this.gate.authorize(a, 'user.unlock', t));
      rec.object = u.id;
      this.write(change, u, { locked: false, failedLogins: 0, lastFailureAt: 0, lockedUntil: 0, lockouts: 0 });
    });
  }

  /** An officer locks a user at once (its sessions end on every face). */
  lock(caller: Caller, username: string): Promise<void> {
    return this.ops.run(caller, 'user.lock', async (a, change, rec) => {
      rec.detail = String(username).slice(0, 64);
      const u = await this.target(a.partition, username, (t) => this.gate.authorize(a, 'user.unlock', t));
      rec.object = u.id;
      if (u.data.locked) return;
      this.write(change, u, { locked: true, epoch: u.data.epoch + 1 });
    });
  }

  /** An officer gives another user of its partition a new role. The user's sessions end on every
   *  face (a principal carries its role); its keys stay its own (an officer or auditor cannot use
   *  them; they are usable again if it becomes a crypto user). Nobody changes its own role, and the
   *  last officer keeps its role (only reachable by two officers demoting each other at once). */
  setRole(caller: Caller, username: string, role: Role): Promise<void> {
    return this.ops.run(caller, 'user.role', async (a, change, rec) => {
      rec.detail = `${String(username).slice(0, 64)} to ${String(role).slice(0, 16)}`;
      const u = await this.target(a.partition, username, (t) => this.gate.authorize(a, 'user.role', t));
      rec.object = u.id;
      if (!ROLES.includes(role)) throw new HsmError('BAD_REQUEST', `role must be one of ${ROLES.join(', ')}`);
      // The gate lets an officer act on itself as a member of its partition; a role is another's to give.
      if (a.principal?.id === u.id) throw new HsmError('FORBIDDEN', 'officers change other users\' roles, not their own');
      if (u.role === role) return;
      rec.detail = `${u.username} from ${u.role} to ${role}`;
      if (u.role === 'officer' && (await this.records.store.count('users', { partition: u.partition, role: 'officer' })) <= 1) {
        throw new HsmError('LAST_OFFICER', 'the last crypto officer keeps its role');
      }
      const row = this.row({ ...u, role, data: { ...u.data, epoch: u.data.epoch + 1 } }, u.row);
      change.update('users', row, u.row).onCommit(() => { this.records.wrote('users', row); this.states.delete(u.id); });
    });
  }

  /** Module-internal (custodian recovery, core/custodians.ts): unlock and optionally reset an officer. */
  async recoverIn(change: Change, partition: string, username: string, password?: string): Promise<UserInfo> {
    const u = await this.byName(partition, username);
    if (!u || u.role !== 'officer') throw new HsmError('USER_NOT_FOUND', 'name an officer of this partition');
    const patch: Partial<UserData> = { locked: false, failedLogins: 0, lastFailureAt: 0, lockedUntil: 0, lockouts: 0 };
    if (password !== undefined) { checkPassword(password); patch.passwordHash = await hashPassword(password); patch.epoch = u.data.epoch + 1; }
    this.write(change, u, patch);
    return info(u);
  }

  private async target(partition: string, username: string, authorize: (t: { kind: 'user'; id: string; partition: string }) => void): Promise<User> {
    const u = await this.byName(partition, username);
    // Authorise against the real target if it exists, else against an unknown one: the same refusal.
    authorize({ kind: 'user', id: u?.id ?? '', partition });
    if (!u) throw new HsmError('USER_NOT_FOUND');
    return u;
  }

  private write(change: Change, u: User, patch: Partial<UserData>): void {
    const row = this.row({ ...u, data: { ...u.data, ...patch } }, u.row);
    change.update('users', row, u.row).onCommit(() => { this.records.wrote('users', row); this.states.delete(u.id); });
  }

  // --- logging in --------------------------------------------------------------------------------

  /** Verifies a password and mints a principal. Every attempt is counted before it is evaluated. */
  login(caller: Caller, username: string, password: string): Promise<Principal> {
    return this.ops.run(caller, 'user.login', async (_a, _change, rec) => {
      rec.actor = String(username).slice(0, 64);
      const partition = caller.partition;
      this.throttle.checkSource(caller.source);
      const user = await this.byName(partition, username);
      rec.detail = 'refused before any password was checked';
      if (!user) {
        try { return await this.throttle.unknownName(partition, String(username)); } catch (err) {
          if (err instanceof HsmError && err.code !== 'LOGIN_THROTTLED') this.throttle.sourceFailed(caller.source);
          if (err instanceof HsmError && err.code !== 'LOGIN_THROTTLED' && err.code !== 'ACCOUNT_LOCKED') rec.detail = 'no such user: answered as a wrong password';
          throw err;
        }
      }
      rec.object = user.id;
      return this.logins.run(user.id, async () => {
        const { user: reserved, locking } = await this.reserve((await this.byIdRaw(user.id)) ?? user);
        // Counted before it is checked: only now may the password be evaluated.
        rec.detail = 'password checked';
        if (!(await passwordMatches(String(password), reserved.data.passwordHash))) {
          this.throttle.sourceFailed(caller.source);
          if (!locking) await this.failedAt(reserved, Date.now());
          throw new HsmError(locking ? 'ACCOUNT_LOCKED' : 'LOGIN_FAILED');
        }
        await this.settle(reserved);
        return this.registry.mintUser({ id: user.id, username: user.username, role: user.role, partition: user.partition, epoch: reserved.data.epoch });
      });
    }, { unauthenticated: true });
  }

  /** Counts this attempt as a failure in the store before the password is looked at (retrying on
   *  conflict: every concurrent attempt gets its own count). Refuses locked and throttled accounts. */
  private async reserve(user: User): Promise<{ user: User; locking: boolean }> {
    let u = user;
    for (let i = 0; i < MAX_RETRIES; i++) {
      if (u.data.locked) throw new HsmError('ACCOUNT_LOCKED');
      const until = u.data.lockedUntil ?? 0;
      if (until > Date.now()) {
        throw new HsmError('ACCOUNT_LOCKED', `the officer is locked after too many failed logins until ${new Date(until).toISOString()}; another officer or the custodians (inkan officer recover) can unlock it sooner`);
      }
      this.throttle.checkAccount(u.data.failedLogins, u.data.lastFailureAt);
      const failed = u.data.failedLogins + 1;
      const locking = failed >= MAX_FAILED_LOGINS;
      // An officer's lockout is temporary and ends no session (a guesser proved nothing); a crypto
      // user or auditor stays locked until an officer unlocks it, and its sessions end.
      const data: UserData = locking && u.role === 'officer'
        ? { ...u.data, failedLogins: 0, lastFailureAt: Date.now(), lockouts: (u.data.lockouts ?? 0) + 1, lockedUntil: Date.now() + officerLockout((u.data.lockouts ?? 0) + 1, this.officerLockoutMs) }
        // The delay runs from the last failure found (failedAt), not from this reservation: a correct
        // password given at the same moment in another process is not slowed by this one.
        : { ...u.data, failedLogins: failed, lastFailureAt: locking ? Date.now() : u.data.lastFailureAt, locked: locking, epoch: locking ? u.data.epoch + 1 : u.data.epoch };
      const row = this.row({ ...u, data }, u.row);
      try {
        await this.commitRow(row, u.row);
        return { user: { ...u, data, row }, locking };
      } catch (err) {
        if (!(err instanceof HsmError) || err.code !== 'STORE_CONFLICT') throw err;
        const fresh = await this.byIdRaw(u.id);
        if (!fresh) throw new HsmError('LOGIN_FAILED');
        u = fresh;
      }
    }
    throw new HsmError('BUSY', 'too many concurrent logins for this account');
  }

  /** Writes one user row outside the login's own audit record (which follows with its outcome). */
  private async commitRow(row: RecordRow, old: RecordRow): Promise<void> {
    const change = new Change().update('users', row, old).onCommit(() => { this.records.wrote('users', row); this.states.delete(row.id); });
    await this.ops.applyUnrecorded(change);
  }

  /** A wrong password: the delay before the next try counts from when the failure was found, not
   *  from when the attempt was counted (the password check itself takes a while, longer under load;
   *  a try queued behind it must still meet the whole delay). */
  private async failedAt(u: User, at: number): Promise<void> {
    let cur = u;
    for (let i = 0; i < MAX_RETRIES; i++) {
      if (cur.data.lastFailureAt >= at) return;
      const data = { ...cur.data, lastFailureAt: at };
      const row = this.row({ ...cur, data }, cur.row);
      try {
        await this.commitRow(row, cur.row);
        return;
      } catch (err) {
        if (!(err instanceof HsmError) || err.code !== 'STORE_CONFLICT') throw err;
        const fresh = await this.byIdRaw(cur.id);
        if (!fresh) return;
        cur = fresh;
      }
    }
  }

  /** A correct password: the attempt's count is taken back (and any earlier failures with it). */
  private async settle(u: User): Promise<void> {
    let cur = u;
    for (let i = 0; i < MAX_RETRIES; i++) {
      if (cur.data.failedLogins === 0 && !cur.data.locked && !cur.data.lockedUntil && !cur.data.lockouts) return;
      const data = { ...cur.data, failedLogins: 0, lastFailureAt: 0, locked: false, lockedUntil: 0, lockouts: 0 };
      const row = this.row({ ...cur, data }, cur.row);
      try {
        await this.commitRow(row, cur.row);
        return;
      } catch (err) {
        if (!(err instanceof HsmError) || err.code !== 'STORE_CONFLICT') throw err;
        const fresh = await this.byIdRaw(cur.id);
        if (!fresh) throw new HsmError('LOGIN_FAILED');
        cur = fresh;
      }
    }
  }
}
