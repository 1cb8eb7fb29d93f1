// Object quotas per user and per partition (docs/limits.md): one user cannot fill the store or
// slow everybody's lookups. Counts come from the store's indexes, refreshed at most every few
// seconds per owner and counted up locally in between, so a creation costs no full count; the
// bound is exact on one node and within a few seconds' creations across several.
import { HsmError } from '../errors/hsm-error';
import type { ObjectStore } from './object-store';

export interface QuotaLimits { perUser: number; perPartition: number }
export const DEFAULT_QUOTAS: QuotaLimits = { perUser: 100_000, perPartition: 1_000_000 };
const REFRESH_MS = 5000;
const MAX_TRACKED = 10_000;

/** A count and the load it starts from: concurrent reservations wait for the same load (none sees 0 alone). */
interface Count { n: number; at: number; loaded: Promise<void> }

export class Quotas {
  private readonly counts = new Map<string, Count>();

  constructor(private readonly objects: ObjectStore, private readonly limits: (partition: string) => Promise<QuotaLimits>,
    private readonly now: () => number = Date.now) {}

  /** Counts `n` new token objects for `owner` in `partition`, or refuses with QUOTA_EXCEEDED. */
  async reserve(partition: string, owner: string, n = 1): Promise<void> {
    const limits = await this.limits(partition);
    const user = await this.count(`u/${partition}/${owner}`, () => this.objects.countOwned(partition, owner));
    const part = await this.count(`p/${partition}`, () => this.objects.countPartition(partition));
    if (user.n + n > limits.perUser) throw new HsmError('QUOTA_EXCEEDED', `a user may hold at most ${limits.perUser} objects in a partition`);
    if (part.n + n > limits.perPartition) throw new HsmError('QUOTA_EXCEEDED', `the partition may hold at most ${limits.perPartition} objects`);
    user.n += n;
    part.n += n;
  }

  private async count(key: string, load: () => Promise<number>): Promise<Count> {
    let c = this.counts.get(key);
    if (!c || this.now() - c.at >= REFRESH_MS) {
      if (this.counts.size >= MAX_TRACKED) this.counts.clear();
      const fresh: Count = { n: 0, at: this.now(), loaded: Promise.resolve() };
      fresh.loaded = load().then((n) => { fresh.n += n; }, (err) => { this.counts.delete(key); throw err; });
      this.counts.set(key, fresh);
      c = fresh;
    }
    await c.loaded;
    return c;
  }
}
