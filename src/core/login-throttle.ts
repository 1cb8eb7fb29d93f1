// Slowing guessers down before the lockout, and making names that are not users answer like
// users: after each failure an account (or an unknown name) may be tried again only after a
// growing delay; each source (an address, a peer uid) has such a delay too; an unknown name
// counts its failures in the store (keyed by a MAC of the name, never the name: people type
// passwords into username fields) and "locks" after as many as a user does.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { DomainKeys } from '../keystore/seal';
import type { KeyStore } from '../keystore/types';
import { Change } from './change';
import { LruCache } from './coherence';
import { decoyCheck } from './passwords';

export const MAX_FAILED_LOGINS = 5;
/** Delay after the n-th failure: base, 2×base, 4×base … at most 16×base (250 ms by default: 0.25, 0.5, 1, 2 s). */
export const DEFAULT_DELAY_MS = 250;
export const delayAfter = (failures: number, base = DEFAULT_DELAY_MS) => (failures <= 0 ? 0 : Math.min(base * 2 ** (failures - 1), base * 16));
/** Officers are not locked for good by failed logins: anyone who can reach the admin port could
 *  otherwise lock the only officer out with five wrong passwords. An officer is locked for this
 *  long instead, doubled with each lockout in a row (15 min, 30 min, 1 h … at most a day); another
 *  officer, or the custodians with their shares (`inkan officer recover`), unlock it sooner. */
export const OFFICER_LOCKOUT_MS = 15 * 60 * 1000;
export const officerLockout = (lockouts: number, base = OFFICER_LOCKOUT_MS) => Math.min(base * 2 ** Math.min(Math.max(0, lockouts - 1), 16), 24 * 3600_000);
/** A source's failures are forgotten after this long without one. */
const SOURCE_MEMORY_MS = 15 * 60 * 1000;

export class LoginThrottle {
  private readonly sources = new LruCache<{ failures: number; last: number }>(50_000);

  constructor(private readonly store: KeyStore, private readonly keys: () => DomainKeys,
    private readonly apply: (change: Change) => Promise<void>, private readonly base = DEFAULT_DELAY_MS, private readonly now: () => number = Date.now) {}

  checkAccount(failures: number, lastFailureAt: number): void {
    const wait = lastFailureAt + delayAfter(failures, this.base) - this.now();
    if (wait > 0) throw new HsmError('LOGIN_THROTTLED', `too many failed logins: try again in ${Math.ceil(wait / 1000)} s`);
  }

  checkSource(source: string | undefined): void {
    if (!source) return;
    const s = this.sources.get(source);
    if (!s) return;
    if (this.now() - s.last > SOURCE_MEMORY_MS) { this.sources.delete(source); return; }
    const wait = s.last + delayAfter(s.failures, this.base) - this.now();
    if (wait > 0) throw new HsmError('LOGIN_THROTTLED', `too many failed logins from here: try again in ${Math.ceil(wait / 1000)} s`);
  }

  sourceFailed(source: string | undefined): void {
    if (!source) return;
    const s = this.sources.get(source);
    this.sources.set(source, { failures: Math.min((s?.failures ?? 0) + 1, 32), last: this.now() });
  }

  sourceSucceeded(source: string | undefined): void {
    if (source) this.sources.delete(source);
  }

  /** A login for a name that is no user: the same checks, delays and answers as for a real one. */
  async unknownName(partition: string, username: string): Promise<never> {
    const key = c.hmac('sha256', this.keys().derive('login-throttle'), Buffer.from(`${partition}\0${username}`)).toString('hex');
    const [row] = await this.store.findPlain('login_throttle', { key });
    const failures = Number(row?.failures ?? 0);
    if (failures >= MAX_FAILED_LOGINS) throw new HsmError('ACCOUNT_LOCKED');
    this.checkAccount(failures, Number(row?.last_at ?? 0));
    await decoyCheck('-');
    await this.apply(new Change().put('login_throttle', { key, failures: failures + 1, last_at: this.now() }));
    throw new HsmError(failures + 1 >= MAX_FAILED_LOGINS ? 'ACCOUNT_LOCKED' : 'LOGIN_FAILED');
  }
}
