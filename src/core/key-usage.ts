// When a managed key was last used (KMS GetKeyLastUsage) and how often (the console's and `inkan
// key usage`'s use counters), read from the audit trail itself rather than kept as a counter: the
// successful key-use records naming one of the key's version objects, on any face, in any node's
// chain. The read is bounded: each chain is read backwards from its head for at most MAX_SCAN
// records, and the answer says from when it looked (counts are complete from then on).
import { fromCanonical } from '../audit-chain/chain';
import type { KeyStore } from '../keystore/types';
import type { Operations } from './operation';
import type { Caller } from './principal';
import type { ManagedKey, ManagedKeyService } from './managed-keys';

/** Records of one chain looked at at most, newest first. */
export const MAX_SCAN = 50_000;
const PAGE = 1000;
/** The core operations that use a key (crypto-service.ts). */
const USE_OPS: ReadonlySet<string> = new Set(['key.sign', 'key.verify', 'key.encrypt', 'key.decrypt', 'key.wrap', 'key.unwrap', 'key.derive']);

export interface KeyUse { op: string; face: string; time: string; chain: string; seq: number }
export interface KeyUsage {
  last?: KeyUse;
  /** The time from which the answer is complete: the key's creation, or the oldest record read
   *  when a chain was longer than the bound. */
  trackedSince: number;
}
/** Successful uses by core operation (key.sign, key.decrypt…), complete from `trackedSince`. */
export interface KeyUseCounts extends KeyUsage { counts: Record<string, number>; total: number }

export class KeyUsageReads {
  constructor(private readonly store: KeyStore, private readonly managed: ManagedKeyService, private readonly ops: Operations) {}

  lastUse(caller: Caller, key: ManagedKey): Promise<KeyUsage> {
    return this.ops.run(caller, 'managed-key.last-use', async (a) => {
      const { last, trackedSince } = await this.read(await this.managed.getIn(a, key.id), false);
      return { last, trackedSince };
    }, { recordSuccess: false });
  }

  /** The last use and the number of successful uses by operation, from the same bounded read. */
  useCounts(caller: Caller, key: ManagedKey): Promise<KeyUseCounts> {
    return this.ops.run(caller, 'managed-key.last-use', async (a) => this.read(await this.managed.getIn(a, key.id), true), { recordSuccess: false });
  }

  private async read(cur: ManagedKey, counting: boolean): Promise<KeyUseCounts> {
    const ids = new Set(cur.data.versions.flatMap((v) => [v.objectId, v.publicObjectId]).filter((x): x is string => x !== undefined));
    if (!cur.row) ids.add(cur.id);
    let last: KeyUse | undefined;
    let trackedSince = cur.created;
    const counts: Record<string, number> = Object.create(null);
    for (const chain of await this.store.audit.chains()) {
      const found = await this.scan(chain, ids, cur.created, counting ? counts : undefined);
      if (found.oldest !== undefined && found.oldest > trackedSince) trackedSince = found.oldest;
      if (found.use && (!last || found.use.time > last.time)) last = found.use;
    }
    return { last, trackedSince, counts: { ...counts }, total: Object.values(counts).reduce((x, y) => x + y, 0) };
  }

  /** The newest use in one chain (and, given `counts`, every use counted into it), and the time of
   *  the oldest record read if the bound cut the scan short. Without `counts` it stops at the newest use. */
  private async scan(chain: string, ids: ReadonlySet<string>, created: number, counts?: Record<string, number>): Promise<{ use?: KeyUse; oldest?: number }> {
    const head = await this.store.audit.head(chain);
    let read = 0;
    let use: KeyUse | undefined;
    for (let to = head.seq; to >= 0 && read < MAX_SCAN;) {
      const from = Math.max(0, to - PAGE + 1, head.seq - MAX_SCAN + 1);
      const rows = await this.store.audit.list(chain, from, to - from + 1);
      read += rows.length;
      for (let i = rows.length - 1; i >= 0; i--) {
        const r = fromCanonical(rows[i].body);
        if (Date.parse(r.time) < created) return { use };
        if (r.outcome === 'success' && r.object !== undefined && USE_OPS.has(r.op) && ids.has(r.object)) {
          use ??= { op: r.op, face: r.face, time: r.time, chain, seq: r.seq };
          if (!counts) return { use };
          counts[r.op] = (counts[r.op] ?? 0) + 1;
        }
      }
      if (!rows.length || from === 0) return { use };
      to = from - 1;
      if (read >= MAX_SCAN) return { use, oldest: Date.parse(fromCanonical(rows[0].body).time) };
    }
    return { use };
  }
}
