// The audit log and the module's commit path in one: every audited operation hands its record
// (and its Change, if it writes anything) to `commit`; records queued in the same event-loop turn
// become one store transaction (group commit), each operation's rows and its record committing
// together or not at all. A unit that conflicts is rolled back alone and its record says so.
// If the batch cannot be written, every operation in it is refused (AUDIT_FAILED) and nothing of
// it took effect. Every CHECKPOINT_EVERY records (and on demand) the head is signed with the
// Ed25519 audit key and anchored outside the store (anchor.ts).
import * as c from '../../crypto/node-crypto';
import { HsmError, toHsmError } from '../../errors/hsm-error';
import type { ErrorCode } from '../../errors/catalog';
import type { AuditHead, CheckpointRow, KeyStore, UnitFailure, UnitOutcome } from '../../keystore/types';
import type { Change } from '../change';
import type { Integrity } from '../integrity';
import { AuditBody, fromCanonical, linkRecords, signCheckpoint } from '../../audit-chain/chain';

export const CHECKPOINT_EVERY = 100;
export const CHECKPOINT_SECONDS = 60;
/** Records one transaction carries at most; more wait for the next. */
const MAX_BATCH = 512;
/** Operations waiting for the log at most; beyond this the module answers busy (bounded memory). */
export const MAX_QUEUED = 20_000;
/** A detail carries the operation's own words and a face's request context (XKS metadata). */
const MAX_DETAIL = 512;

export type AuditEvent = Omit<AuditBody, 'seq' | 'time' | 'node'>;
export type AuditSubscriber = (record: AuditBody) => void;

interface Entry {
  /** undefined: a change written as part of an operation whose record comes separately. */
  event?: AuditEvent;
  time: string;
  change?: Change;
  delta?: Buffer;
  resolve(): void;
  reject(e: unknown): void;
}

export interface AuditLogOptions {
  store: KeyStore;
  /** The chain this node appends to (its node name). */
  chain: string;
  node: string;
  /** The audit signing key while unsealed, else undefined. */
  signingKey(): c.KeyObject | undefined;
  integrity: Integrity;
  /** Also fsync batches that only record key uses (default: only batches that change rows). */
  durableUses?: boolean;
  /** Told of every checkpoint made, to anchor it outside the store (anchor.ts). */
  onCheckpoint?(cp: CheckpointRow): Promise<void>;
  /** Told when the chain in the store no longer continues what this node wrote. */
  onTamper?(problem: string): void;
}

export class AuditLog {
  private pending: Entry[] = [];
  private flushing = false;
  private sinceCheckpoint = 0;
  private subscribers: AuditSubscriber[] = [];
  /** The head this node last wrote or verified: the store's must continue it. */
  private expectedHead?: AuditHead;
  /** A batch whose COMMIT got no answer (the database connection broke during it): it may have
   *  committed. The next commit finds out from the head and adopts its state if it did. */
  private uncertain?: { head: AuditHead; integrity?: Parameters<Integrity['adopt']>[0] };
  private exclusive?: Promise<void>;
  private inFlight = false;
  /** The last write failure, shown by `inkan status` until a write succeeds again. */
  lastFailure?: { time: string; error: string };
  failures = 0;

  constructor(private readonly o: AuditLogOptions) {}

  get chain(): string { return this.o.chain; }

  subscribe(fn: AuditSubscriber): () => void {
    this.subscribers.push(fn);
    return () => { this.subscribers = this.subscribers.filter((s) => s !== fn); };
  }

  /** Sets the head the store must continue (at unseal, from the anchor or the store itself). */
  expect(head: AuditHead | undefined): void { this.expectedHead = head; }

  /** Resolves once the record (and the change) is durably in the store; rejects with the unit's
   *  failure code (STORE_CONFLICT, EXISTS…) or AUDIT_FAILED, in which case nothing took effect. */
  commit(event: AuditEvent | undefined, change?: Change, delta?: Buffer): Promise<void> {
    if (this.pending.length >= MAX_QUEUED) return Promise.reject(new HsmError('BUSY', 'too many operations are waiting for the audit log'));
    const clean = event && { ...event, detail: event.detail?.slice(0, MAX_DETAIL) };
    return new Promise((resolve, reject) => {
      this.pending.push({ event: clean, time: new Date().toISOString(), change, delta, resolve, reject });
      if (!this.flushing) { this.flushing = true; setImmediate(() => void this.flush()); }
    });
  }

  /** Runs `fn` with no batch in flight and none starting (the integrity scan needs a still store). */
  async whileQuiet<T>(fn: () => Promise<T>): Promise<T> {
    while (this.exclusive) await this.exclusive;
    let release!: () => void;
    this.exclusive = new Promise<void>((r) => { release = r; });
    try {
      while (this.inFlight) await new Promise((r) => setTimeout(r, 1));
      return await fn();
    } finally { const done = release; this.exclusive = undefined; done(); }
  }

  private async flush(): Promise<void> {
    while (this.exclusive) await this.exclusive;
    this.inFlight = true;
    const batch = this.pending.splice(0, MAX_BATCH);
    let prepared: ReturnType<Integrity['prepare']>;
    let outcomes: readonly UnitOutcome[] = [];
    let attempted: AuditHead | undefined;
    try {
      const res = await this.o.store.commit({
        chain: this.o.chain,
        durable: this.o.durableUses === true || batch.some((e) => e.change !== undefined && !e.change.empty),
        units: batch.map((e) => ({ writes: e.change?.writes ?? [] })),
        finish: (head, out) => {
          this.checkContinues(head);
          outcomes = out;
          const bodies = batch.flatMap((e, i) => {
            if (!e.event) return [];
            const o = out[i];
            const event = o.ok ? e.event : { ...e.event, outcome: 'failure' as const, code: failureCode(e, o.code) };
            return [{ ...event, time: e.time, node: this.o.node }];
          });
          prepared = this.o.integrity.prepare(batch.filter((e, i) => out[i].ok && e.delta).map((e) => this.o.integrity.withConsumed(e.delta!, e.change)));
          const audit = linkRecords(this.o.chain, head, bodies);
          const lastRec = audit[audit.length - 1];
          attempted = lastRec && { seq: lastRec.seq, hash: lastRec.hash };
          return { audit, writes: prepared?.writes ?? [] };
        },
      });
      if (prepared) this.o.integrity.adopt(prepared.next);
      const last = res.audit[res.audit.length - 1];
      if (last) this.expectedHead = { seq: last.seq, hash: last.hash };
      this.lastFailure = undefined;
      this.sinceCheckpoint += res.audit.length;
      batch.forEach((e, i) => {
        const o = outcomes[i];
        if (o.ok) { e.change?.applied(); e.resolve(); } else e.reject(new HsmError(failureCode(e, o.code)));
      });
      for (const r of res.audit) this.publish(r.body, r.seq, r.time);
      if (this.sinceCheckpoint >= CHECKPOINT_EVERY) await this.checkpoint().catch(() => undefined);
    } catch (err) {
      this.failures += batch.length;
      // An unreachable database is not a broken log: readiness looks at the store itself, and the
      // next write after it returns succeeds (a cluster node behind a load balancer gets no traffic
      // to clear a sticky failure with). Nothing of the batch took effect either way.
      const unavailable = toHsmError(err).code === 'STORE_UNAVAILABLE';
      if ((err as { commitUnknown?: boolean }).commitUnknown && attempted) this.uncertain = { head: attempted, integrity: prepared?.next };
      if (!unavailable) this.lastFailure = { time: new Date().toISOString(), error: (err as Error).message?.slice(0, 200) ?? 'unknown' };
      for (const e of batch) e.reject(new HsmError(unavailable ? 'STORE_UNAVAILABLE' : 'AUDIT_FAILED'));
    } finally {
      this.inFlight = false;
      if (this.pending.length) setImmediate(() => void this.flush()); else this.flushing = false;
    }
  }

  /** Inside the transaction: the chain in the store must end where this node left it. Someone who
   *  deleted, rewrote or appended records of this chain is found here, before anything is linked. */
  private checkContinues(head: AuditHead): void {
    const maybe = this.uncertain;
    this.uncertain = undefined;
    if (maybe && head.seq === maybe.head.seq && head.hash === maybe.head.hash) {
      // The batch whose COMMIT went unanswered did commit: its head and accumulator are the store's.
      this.expectedHead = maybe.head;
      if (maybe.integrity) this.o.integrity.adopt(maybe.integrity);
      return;
    }
    const want = this.expectedHead;
    if (!want) return;
    if (head.seq === want.seq && head.hash === want.hash) return;
    const problem = head.seq < want.seq
      ? `the audit chain ${this.o.chain} was cut: the store ends at record ${head.seq}, this node wrote up to ${want.seq}`
      : `the audit chain ${this.o.chain} was changed behind this node: the store ends at record ${head.seq} (${head.hash.slice(0, 12)}…), this node wrote up to ${want.seq}`;
    this.o.onTamper?.(problem);
    throw new HsmError('AUDIT_TAMPERED', problem);
  }

  private publish(body: string, seq: number, time: string): void {
    if (!this.subscribers.length) return;
    let record: AuditBody;
    try { record = { ...fromCanonical(body), seq, time }; } catch { return; }
    for (const s of this.subscribers) { try { s(record); } catch { /* a subscriber never changes an outcome */ } }
  }

  /** Signs the current head of this node's chain (if unsealed and anything was written), stores and anchors it. */
  async checkpoint(): Promise<CheckpointRow | undefined> {
    if (!this.o.signingKey()) return undefined;
    const head = await this.o.store.audit.head(this.o.chain);
    if (head.seq === 0) return undefined;
    const cp = await this.signCheckpoint(this.o.chain, head);
    this.sinceCheckpoint = 0;
    return cp;
  }

  /** Signs "record head.seq of chain has hash head.hash" now, keeps it in the store and, for this
   *  node's chain, in the anchor. A durable commit first makes every record up to the head survive
   *  a power loss, so the anchor never names records the store could lose. */
  async signCheckpoint(chain: string, head: AuditHead): Promise<CheckpointRow> {
    const key = this.o.signingKey();
    if (!key) throw new HsmError('SEALED');
    const cp = signCheckpoint(key, chain, head, this.o.node);
    await this.o.store.commit({
      chain: this.o.chain, durable: true, units: [],
      finish: () => ({ audit: [], writes: [{ op: 'put', table: 'meta', row: { name: `checkpoint/${chain}`, value: Buffer.from(JSON.stringify(cp)) } }] }),
    });
    await this.o.store.audit.putCheckpoint(cp);
    if (chain === this.o.chain) await this.o.onCheckpoint?.(cp);
    return cp;
  }

  /** The timed checkpoint (every CHECKPOINT_SECONDS): only when records were added since the last. */
  async checkpointIfNew(): Promise<void> {
    if (this.sinceCheckpoint > 0) await this.checkpoint().catch(() => undefined);
  }
}

function failureCode(e: Entry, code: UnitFailure): ErrorCode {
  return code === 'EXISTS' ? e.change?.existsAs ?? 'EXISTS' : code;
}
