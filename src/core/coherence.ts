// Cache coherence across processes and nodes sharing one store. Every cache in the core registers
// the tables it caches; before each operation `sync()` asks the store's change feed whether
// anybody else committed (PostgreSQL NOTIFY, SQLite data_version: no I/O when nobody did) and,
// if so, evicts exactly the rows named in the change log since the last look. A missed
// notification is caught by a timed look at the log's newest sequence number (the safety net);
// a reader too far behind (the log was pruned past it) evicts everything.
import type { KeyStore } from '../keystore/types';

/** How often the safety net looks at the change log even without a notification. */
const SAFETY_NET_MS = 1000;
/** Cached rows are dropped this often whatever the log says: an edit made behind the module's back
 *  (which writes no change log) is then seen — and refused by its MAC — at the next read. */
const MAX_CACHE_AGE_MS = 5 * 60 * 1000;
const PAGE = 1000;

type Evict = (id: string) => void;

export class Coherence {
  private lastSeq = 0;
  private readonly listeners = new Map<string, Evict[]>();
  private readonly flushers: (() => void)[] = [];
  private lastLook = 0;
  private lastFlush = 0;
  private running?: Promise<void>;
  private queued?: Promise<void>;

  constructor(private readonly store: KeyStore, private readonly now: () => number = Date.now) {}

  /** `evict(id)` drops one cached row of `table`; `flush()` drops the whole cache. */
  register(table: string, evict: Evict, flush: () => void): void {
    const list = this.listeners.get(table) ?? [];
    list.push(evict);
    this.listeners.set(table, list);
    this.flushers.push(flush);
  }

  /** Starts from the store's current position (caches are empty then). */
  async start(): Promise<void> {
    this.lastSeq = await this.store.changes.latest();
    this.lastLook = this.lastFlush = this.now();
  }

  /** Catches up with other writers; cheap when there is nothing to do. On a shared store (a
   *  cluster on PostgreSQL) it reads the log every time, in a look that starts after this call:
   *  a change another node has acknowledged is then always seen, even before its NOTIFY arrives
   *  (a revoked key or user is refused on every node as soon as the revocation is answered). */
  sync(): Promise<void> | undefined {
    const told = this.store.changes.poll();
    if (this.now() - this.lastFlush > MAX_CACHE_AGE_MS) { this.lastFlush = this.now(); this.flushAll(); }
    // (Its NOTIFY then often arrives after the log told us: not a sign of a write behind our back.)
    if (this.store.changes.shared) return this.freshLook();
    if (!told && this.now() - this.lastLook < SAFETY_NET_MS) return undefined;
    this.running ??= this.catchUp(told).finally(() => { this.running = undefined; });
    return this.running;
  }

  /** A look at the log that begins after the call: joins the next one if one is already running
   *  (it may have read the log before the caller's moment), so concurrent callers share one query. */
  private freshLook(): Promise<void> {
    if (!this.running) {
      this.running = this.catchUp(false).finally(() => { this.running = undefined; });
      return this.running;
    }
    this.queued ??= this.running.catch(() => undefined).then(() => { this.queued = undefined; return this.freshLook(); });
    return this.queued;
  }

  /** Drops every cached row (seal, restore). */
  flushAll(): void {
    for (const f of this.flushers) f();
  }

  private async catchUp(told: boolean): Promise<void> {
    this.lastLook = this.now();
    for (let first = true; ; first = false) {
      const page = await this.store.changes.since(this.lastSeq, PAGE);
      // Told of a write that left no trace in the change log: someone wrote behind the module's
      // back. Everything cached is dropped, so every row is read (and MAC-checked) again.
      if (page.length === 0 && first && told) this.flushAll();
      if (page.length === 0) return;
      // A gap in the sequence: pruned past us, or entries deleted behind the module's back (numbers
      // follow commit order, so an honest log has gaps only after a rare failed COMMIT): we may
      // have missed some, so everything is dropped and read (and MAC-checked) again.
      let prev = this.lastSeq;
      for (const c of page) {
        if (prev > 0 && c.seq !== prev + 1) { this.flushAll(); break; }
        prev = c.seq;
      }
      for (const c of page) {
        if (c.table === '*') this.flushAll();
        for (const evict of this.listeners.get(c.table) ?? []) evict(c.id);
      }
      this.lastSeq = page[page.length - 1].seq;
      if (page.length < PAGE) return;
    }
  }
}

/** A bounded cache with least-recently-used eviction (a Map keeps insertion order). */
export class LruCache<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number, private readonly onEvict?: (v: V) => void) {}

  get(key: string): V | undefined {
    const v = this.map.get(key);
    if (v !== undefined) { this.map.delete(key); this.map.set(key, v); }
    return v;
  }

  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    while (this.map.size > this.max) {
      const oldest = this.map.keys().next().value as string;
      const old = this.map.get(oldest)!;
      this.map.delete(oldest);
      this.onEvict?.(old);
    }
  }

  delete(key: string): void {
    const v = this.map.get(key);
    if (v !== undefined) { this.map.delete(key); this.onEvict?.(v); }
  }

  clear(): void {
    for (const v of this.map.values()) this.onEvict?.(v);
    this.map.clear();
  }

  get size(): number { return this.map.size; }
  values(): IterableIterator<V> { return this.map.values(); }
}
