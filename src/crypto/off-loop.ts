// A small pool of worker threads for the synchronous private-key operations (DESIGN.md: crypto
// that takes more than microseconds runs off the event loop). Key objects are passed to the
// worker with postMessage (node clones the key handle; nothing is exported or serialised).
// The pool is a process-wide resource like libuv's own thread pool: made on first use, its
// threads unref'd so they never keep the process alive.
import { availableParallelism } from 'node:os';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { KeyObject } from 'node:crypto';
import type { HashName } from './hash-name';

export type PrivateOp =
  | { op: 'rsa-private-encrypt'; key: KeyObject; data: Buffer; padding: number }
  | { op: 'rsa-private-decrypt'; key: KeyObject; data: Buffer; padding: number; oaepHash?: HashName; oaepLabel?: Buffer }
  | { op: 'ecdsa-sign-digest'; key: KeyObject; data: Buffer; curve: string }
  | { op: 'pss-sign-digest'; key: KeyObject; data: Buffer; hash: HashName; mgfHash: HashName; saltLength: number };

interface Slot { worker: Worker; busy: number }
type Waiter = { resolve: (b: Buffer) => void; reject: (e: Error) => void; slot: Slot };

class PrivateOpPool {
  private readonly slots: Slot[] = [];
  private readonly waiting = new Map<number, Waiter>();
  private next = 1;

  constructor(private readonly size: number) {}

  private spawn(): Slot {
    const worker = new Worker(path.join(__dirname, 'private-op-worker.js'));
    worker.unref();
    const slot: Slot = { worker, busy: 0 };
    worker.on('message', (m: { id: number; result?: Uint8Array; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      slot.busy--;
      if (slot.busy === 0) worker.unref();
      if (m.error !== undefined) w.reject(new Error(m.error)); else w.resolve(Buffer.from(m.result!.buffer, m.result!.byteOffset, m.result!.byteLength));
    });
    const fail = (err: Error) => {
      this.slots.splice(this.slots.indexOf(slot), 1);
      for (const [id, w] of this.waiting) if (w.slot === slot) { this.waiting.delete(id); w.reject(err); }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => { if (this.slots.includes(slot)) fail(new Error(`crypto worker exited (${code})`)); });
    this.slots.push(slot);
    return slot;
  }

  run(op: PrivateOp): Promise<Buffer> {
    const slot = this.slots.length < this.size ? this.spawn() : this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.next++;
    slot.busy++;
    slot.worker.ref(); // a pending operation keeps the process alive until it answers
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject, slot });
      slot.worker.postMessage({ id, ...op });
    });
  }
}

let pool: PrivateOpPool | undefined;

/** Runs one private-key operation on a worker thread. */
export function offLoop(op: PrivateOp): Promise<Buffer> {
  pool ??= new PrivateOpPool(Math.max(1, availableParallelism()));
  return pool.run(op);
}
