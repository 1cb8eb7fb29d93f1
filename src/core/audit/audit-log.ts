// The tamper-evident audit log: records are batched per event-loop turn, linked into a hash
// chain and written in one transaction; every CHECKPOINT_EVERY records (and on demand) the
// head is signed with the Ed25519 audit key derived from the master key. If a record cannot
// be written, the operation it describes is refused (Vault's rule) and status shows it.
import * as c from '../../crypto/node-crypto';
import { HsmError } from '../../errors/hsm-error';
import type { AuditStore, CheckpointRow } from '../../keystore/types';
import { AuditBody, AuditRecord, canonical, chainHashOf, Checkpoint, checkpointMessage, fromCanonical } from './chain';

export const CHECKPOINT_EVERY = 100;
export const CHECKPOINT_SECONDS = 60;
const MAX_DETAIL = 200;

export type AuditEvent = Omit<AuditBody, 'seq' | 'time' | 'node'>;

interface Pending { event: AuditEvent; time: string; resolve: () => void; reject: (e: unknown) => void }

export class AuditLog {
  private pending: Pending[] = [];
  private flushing = false;
  private sinceCheckpoint = 0;
  /** The last write failure, shown by `inkan status` until a write succeeds again. */
  lastFailure?: { time: string; error: string };
  failures = 0;

  constructor(private readonly store: AuditStore, private readonly node: string,
    /** The audit signing key while unsealed, else undefined. */
    private readonly signingKey: () => c.KeyObject | undefined) {}

  /** Resolves once the record is durably in the chain; rejects with AUDIT_FAILED otherwise. */
  record(event: AuditEvent): Promise<void> {
    const clean = { ...event, detail: event.detail?.slice(0, MAX_DETAIL) };
    return new Promise((resolve, reject) => {
      this.pending.push({ event: clean, time: new Date().toISOString(), resolve, reject });
      if (!this.flushing) { this.flushing = true; setImmediate(() => void this.flush()); }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.pending;
    this.pending = [];
    try {
      const rows = await this.store.append((head) => {
        let { seq, hash } = head;
        return batch.map((p) => {
          const text = canonical({ seq: ++seq, time: p.time, node: this.node, ...p.event });
          const h = chainHashOf(hash, text);
          const row = { seq, prev: hash, hash: h, body: text };
          hash = h;
          return row;
        });
      });
      this.lastFailure = undefined;
      this.sinceCheckpoint += rows.length;
      for (const p of batch) p.resolve();
      if (this.sinceCheckpoint >= CHECKPOINT_EVERY) await this.checkpoint().catch(() => undefined);
    } catch (err) {
      this.failures += batch.length;
      this.lastFailure = { time: new Date().toISOString(), error: (err as Error).message?.slice(0, 200) ?? 'unknown' };
      for (const p of batch) p.reject(new HsmError('AUDIT_FAILED'));
    } finally {
      if (this.pending.length) setImmediate(() => void this.flush()); else this.flushing = false;
    }
  }

  /** Signs the current head (if unsealed and not already signed). Returns the checkpoint made. */
  async checkpoint(): Promise<Checkpoint | undefined> {
    const key = this.signingKey();
    if (!key) return undefined;
    const head = await this.store.head();
    if (head.seq === 0) return undefined;
    const signed = { seq: head.seq, hash: head.hash, time: new Date().toISOString(), node: this.node };
    const cp: CheckpointRow = { ...signed, signature: c.signSync(null, checkpointMessage(signed), key).toString('base64') };
    await this.store.putCheckpoint(cp);
    this.sinceCheckpoint = 0;
    return cp;
  }

  /** The timed checkpoint (every CHECKPOINT_SECONDS): only when records were added since the last. */
  async checkpointIfNew(): Promise<void> {
    if (this.sinceCheckpoint > 0) await this.checkpoint().catch(() => undefined);
  }

  /** Everything an offline verifier needs: records, checkpoints (a fresh one last), and the public key. */
  async export(publicKeyPem: string): Promise<{ scheme: string; records: AuditRecord[]; checkpoints: Checkpoint[]; publicKey: string }> {
    await this.checkpoint();
    const records: AuditRecord[] = [];
    for (let from = 1; ; ) {
      const page = await this.store.list(from, 5000);
      for (const r of page) records.push({ ...fromCanonical(r.body), prev: r.prev, hash: r.hash });
      if (page.length < 5000) break;
      from = page[page.length - 1].seq + 1;
    }
    return { scheme: 'inkan-audit/v1', records, checkpoints: await this.store.listCheckpoints(), publicKey: publicKeyPem };
  }
}
