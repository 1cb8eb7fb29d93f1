// Request bodies held in memory by the HTTP faces, bounded as a whole and per user. The first
// FREE_BYTES of every request are not charged: small requests (logins, KMS calls, a signature)
// always get through, however full the budget, and an unauthenticated client can never hold
// more than that per connection (the listener's connection cap bounds the connections). Beyond
// it a request is charged to the module-wide budget and to its user's share; a request that does
// not fit is refused with DEVICE_MEMORY (503) and its connection closed. docs/limits.md.
import { ByteBudget } from './byte-budget';

export const FREE_BYTES = 64 * 1024;
export const DEFAULT_BODY_BUDGET = 256 * 1024 * 1024;
export const DEFAULT_BODY_BUDGET_PER_USER = 32 * 1024 * 1024;

/** What one request holds; give it back with release() when the request ends. */
export interface BodyHold {
  /** Takes n more bytes; false (nothing taken) if the module's or the user's share is spent. */
  take(n: number): boolean;
  release(): void;
}

export class BodyBudget {
  readonly total: ByteBudget;
  /** Bytes held per user beyond the free allowance; only users holding bytes have an entry. */
  private readonly perUser = new Map<string, number>();
  private refused = 0;

  constructor(limit = DEFAULT_BODY_BUDGET, readonly perUserLimit = DEFAULT_BODY_BUDGET_PER_USER) {
    this.total = new ByteBudget('http-body', limit);
  }

  /** A hold for one request; `user` is the authenticated user's id (undefined before a login). */
  hold(user?: string): BodyHold {
    let seen = 0;
    let charged = 0;
    let released = false;
    return {
      take: (n) => {
        if (released) return false;
        const free = Math.max(0, Math.min(n, FREE_BYTES - seen));
        const charge = n - free;
        if (charge > 0) {
          const mine = user === undefined ? 0 : this.perUser.get(user) ?? 0;
          if (user === undefined || mine + charge > this.perUserLimit || !this.total.tryReserve(charge)) { this.refused++; return false; }
          this.perUser.set(user, mine + charge);
          charged += charge;
        }
        seen += n;
        return true;
      },
      release: () => {
        if (released) return;
        released = true;
        if (charged === 0 || user === undefined) return;
        this.total.release(charged);
        const left = (this.perUser.get(user) ?? 0) - charged;
        if (left > 0) this.perUser.set(user, left); else this.perUser.delete(user);
      },
    };
  }

  /** Users holding charged bytes now. */
  get users(): number { return this.perUser.size; }
  /** Bodies refused since start (the module's or a user's share spent). */
  get refusals(): number { return this.refused; }
}
