// When a managed key was last used (KMS GetKeyLastUsage), read from the audit trail itself rather
// than kept as a counter: the newest successful key-use record naming one of the key's version
// objects, on any face, in any node's chain. The read is bounded: each chain is read backwards
// from its head for at most MAX_SCAN records, and the answer says from when it looked.
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

export class KeyUsageReads {
  constructor(private readonly store: KeyStore, private readonly managed: ManagedKeyService, private readonly ops: Operations) {}

  lastUse(caller: Caller, key: ManagedKey): Promise<KeyUsage> {
    return this.ops.run(caller, 'managed-key.last-use', async (a) => {
      const cur = await this.managed.getIn(a, key.id);
      const ids = new Set(cur.data.versions.flatMap((v) => [v.objectId, v.publicObjectId]).filter((x): x is string => x !== undefined));
      if (!cur.row) ids.add(cur.id);
      let last: KeyUse | undefined;
      let trackedSince = cur.created;
      for (const chain of await this.store.audit.chains()) {
        const found = await this.scan(chain, ids, cur.created);
        if (found.oldest !== undefined && found.oldest > trackedSince) trackedSince = found.oldest;
        if (found.use && (!last || found.use.time > last.time)) last = found.use;
      }
      return { last, trackedSince };
    }, { recordSuccess: false });
  }

  /** The newest use in one chain, and the time of the oldest record read if the bound cut the scan short. */
  private async scan(chain: string, ids: ReadonlySet<string>, created: number): Promise<{ use?: KeyUse; oldest?: number }> {
    const head = await this.store.audit.head(chain);
    let read = 0;
    for (let to = head.seq; to >= 0 && read < MAX_SCAN;) {
      const from = Math.max(0, to - PAGE + 1, head.seq - MAX_SCAN + 1);
      const rows = await this.store.audit.list(chain, from, to - from + 1);
      read += rows.length;
      for (let i = rows.length - 1; i >= 0; i--) {
        const r = fromCanonical(rows[i].body);
        if (Date.parse(r.time) < created) return {};
        if (r.outcome === 'success' && r.object !== undefined && USE_OPS.has(r.op) && ids.has(r.object)) {
          return { use: { op: r.op, face: r.face, time: r.time, chain, seq: r.seq } };
        }
      }
      if (!rows.length || from === 0) return {};
      to = from - 1;
      if (read >= MAX_SCAN) return { oldest: Date.parse(fromCanonical(rows[0].body).time) };
    }
    return {};
  }
}
