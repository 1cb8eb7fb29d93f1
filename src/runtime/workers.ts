// `inkan serve --workers N` (docs/workers.md): N server processes on one store, so every core
// serves protocol. A small primary process holds no key: it starts the workers one after the
// other, owns the PKCS#11 unix socket (each accepted connection is handed whole to the worker with
// the fewest, and stays there for its life), relays lifecycle changes between workers, and
// restarts a worker that dies. TCP listeners (HTTP, Key Vault, XKS, PKCS#11 over TLS) are shared
// by node:cluster, which spreads connections round-robin.
//
// Worker 0 is the lead: it alone serves the stateful faces (admin API, console, Key Vault: their
// sessions and tokens live in its memory) and runs the scheduler; the others forward those
// requests to it over a private unix socket and serve KMS, XKS and PKCS#11 themselves. Each
// worker is a module of its own on the shared store (its own node name, audit chain, anchor and
// integrity accumulator, kept coherent by the change feed), exactly like the nodes of a cluster.
// A worker that starts sealed is handed the DMK by an unsealed sibling over the IPC channel
// (advanced serialisation: the bytes arrive as a typed array and are wiped after use); a seal or
// zeroisation is passed on to every worker before the officer is answered.
import cluster, { type Worker } from 'node:cluster';
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Logger } from '../logger';
import { bindSocketFile } from '../api/p11/socket-file';
import type { LifecycleEvent } from '../core/module-context';

/** Set in a worker's environment: "<index>/<count>". */
export const WORKER_ENV = 'INKAN_WORKER';
/** How long a relayed seal or unseal may take per worker before the relay gives up on it. */
const RELAY_TIMEOUT_MS = 10_000;
/** How long a scrape waits for the other workers' metrics (those that did not answer are left out). */
const METRICS_TIMEOUT_MS = 2_000;
/** A worker that dies this many times in a row before it is ready stops the server. */
const MAX_FAILED_STARTS = 3;

export interface WorkerRole {
  index: number;
  count: number;
  /** Worker 0: serves the stateful faces, runs the scheduler. */
  lead: boolean;
}

/** This process's role, when it is a worker of `inkan serve --workers`. */
export function workerRole(): WorkerRole | undefined {
  if (!cluster.isWorker) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(process.env[WORKER_ENV] ?? '');
  if (!m) return undefined;
  return { index: Number(m[1]), count: Number(m[2]), lead: m[1] === '0' };
}

/** The node name of worker `index` (the lead keeps the configured name, so a data directory served
 *  by one process before keeps its audit chain and anchor). */
export function workerNode(node: string, index: number): string {
  return index === 0 ? node : `${node}-w${index}`;
}

/** What the lead tells the primary once it serves (for the banner). */
export interface LeadInfo { [k: string]: unknown }

type ToPrimary =
  | { t: 'ready'; state: string; info?: LeadInfo }
  | { t: 'state'; state: string }
  | { t: 'lifecycle'; id: number; event: LifecycleEvent; dmk?: Uint8Array }
  | { t: 'keys'; id: number; dmk?: Uint8Array }
  | { t: 'ack'; id: number }
  | { t: 'p11-closed' }
  | { t: 'metrics'; id: number }
  | { t: 'metrics-of'; id: number; json: unknown };

type ToWorker =
  | { t: 'p11' }
  | { t: 'lifecycle'; id: number; event: LifecycleEvent; from: string; dmk?: Uint8Array }
  | { t: 'lifecycle-done'; id: number }
  | { t: 'give-keys'; id: number }
  | { t: 'metrics-get'; id: number }
  | { t: 'metrics-all'; id: number; list: unknown[] }
  | { t: 'shutdown' };

// ---------------------------------------------------------------------------------- primary

export interface PrimaryOptions {
  count: number;
  /** The configured node name (workers are named from it, workerNode()). */
  node: string;
  p11Socket: string;
  p11SocketMode?: number;
  p11SocketGroup?: string;
  log: Logger;
}

export interface Primary {
  /** What the lead reported once it served; mode and gid of the PKCS#11 socket. */
  lead: LeadInfo;
  p11: { mode: number; gid: number };
  /** Stops every worker (each closes its listeners and seals), then the socket. */
  close(): Promise<void>;
  /** Resolves when the server stopped by itself (a worker that cannot start). */
  stopped: Promise<number>;
}

interface Slot {
  index: number;
  worker?: Worker;
  ready: boolean;
  state: string;
  p11: number;
  failedStarts: number;
}

export async function runPrimary(o: PrimaryOptions): Promise<Primary> {
  cluster.setupPrimary({ serialization: 'advanced' });
  const slots: Slot[] = Array.from({ length: o.count }, (_, index) => ({ index, ready: false, state: 'starting', p11: 0, failedStarts: 0 }));
  let stopping = false;
  let nextId = 1;
  const pending = new Map<number, (m: ToPrimary) => void>();
  let resolveStopped!: (code: number) => void;
  const stopped = new Promise<number>((r) => { resolveStopped = r; });
  let leadReady: ((info: LeadInfo) => void) | undefined;
  let startFailed: ((err: Error) => void) | undefined;
  const readyWaiters = new Map<number, () => void>();

  const name = (i: number) => workerNode(o.node, i);
  const send = (s: Slot, m: ToWorker, handle?: net.Socket) => {
    try { s.worker?.send(m, handle as never); } catch { /* it is exiting; its exit handler restarts it */ }
  };

  /** Asks every other ready worker to apply a lifecycle change; resolves when all answered or timed
   *  out (only then may the caller wipe the DMK: a queued message is serialised when it leaves). */
  const relay = async (from: Slot, event: LifecycleEvent, dmk?: Uint8Array) => {
    const targets = slots.filter((s) => s !== from && s.ready && s.worker);
    await Promise.all(targets.map((s) => new Promise<void>((resolve) => {
      const id = nextId++;
      const timer = setTimeout(() => { pending.delete(id); o.log.warn('worker did not confirm a relayed lifecycle change', { worker: name(s.index), event }); resolve(); }, RELAY_TIMEOUT_MS);
      pending.set(id, () => { clearTimeout(timer); resolve(); });
      send(s, { t: 'lifecycle', id, event, from: name(from.index), dmk });
    })));
  };

  /** A sealed worker of an unsealed module gets the DMK from an unsealed sibling. */
  const handKeysTo = (target: Slot) => {
    const donor = slots.find((s) => s !== target && s.ready && s.state === 'unsealed');
    if (!donor) return;
    const id = nextId++;
    const timer = setTimeout(() => pending.delete(id), RELAY_TIMEOUT_MS);
    pending.set(id, (m) => {
      clearTimeout(timer);
      const dmk = m.t === 'keys' ? m.dmk : undefined;
      if (!dmk) return;
      if (!target.ready || !target.worker) { dmk.fill(0); return; }
      // Wiped once acknowledged: a message sent while a connection's handle is in flight waits in
      // node's queue unserialised, so the bytes must live until the worker has them.
      const relayId = nextId++;
      const wipe = setTimeout(() => { pending.delete(relayId); dmk.fill(0); }, RELAY_TIMEOUT_MS);
      pending.set(relayId, () => { clearTimeout(wipe); dmk.fill(0); });
      send(target, { t: 'lifecycle', id: relayId, event: 'unsealed', from: name(donor.index), dmk });
    });
    send(donor, { t: 'give-keys', id });
  };

  const onMessage = (s: Slot, m: ToPrimary) => {
    switch (m.t) {
      case 'ready':
        s.ready = true;
        s.state = m.state;
        s.failedStarts = 0;
        readyWaiters.get(s.index)?.();
        if (s.index === 0 && m.info) leadReady?.(m.info);
        if (m.state === 'sealed') handKeysTo(s);
        return;
      case 'state':
        s.state = m.state;
        return;
      case 'lifecycle': {
        s.state = m.event === 'unsealed' ? 'unsealed' : m.event === 'sealed' ? 'sealed' : 'uninitialized';
        const dmk = m.dmk;
        void relay(s, m.event, dmk).finally(() => { dmk?.fill(0); send(s, { t: 'lifecycle-done', id: m.id }); });
        return;
      }
      case 'metrics': {
        const others = slots.filter((x) => x !== s && x.ready && x.worker);
        void Promise.all(others.map((x) => new Promise<unknown>((resolve) => {
          const id = nextId++;
          const timer = setTimeout(() => { pending.delete(id); resolve(undefined); }, METRICS_TIMEOUT_MS);
          pending.set(id, (r) => { clearTimeout(timer); resolve(r.t === 'metrics-of' ? r.json : undefined); });
          send(x, { t: 'metrics-get', id });
        }))).then((list) => send(s, { t: 'metrics-all', id: m.id, list: list.filter((j) => j !== undefined) }));
        return;
      }
      case 'metrics-of':
      case 'keys':
      case 'ack': {
        const done = pending.get(m.id);
        pending.delete(m.id);
        if (done) done(m); else if (m.t === 'keys') m.dmk?.fill(0);
        return;
      }
      case 'p11-closed':
        s.p11 = Math.max(0, s.p11 - 1);
        return;
    }
  };

  const fork = (s: Slot) => {
    s.ready = false;
    s.state = 'starting';
    s.p11 = 0;
    const w = cluster.fork({ [WORKER_ENV]: `${s.index}/${o.count}` });
    s.worker = w;
    w.on('message', (m: ToPrimary) => onMessage(s, m));
    w.on('exit', (code, signal) => {
      if (s.worker !== w) return;
      const wasReady = s.ready;
      s.worker = undefined;
      s.ready = false;
      if (stopping) return;
      if (!wasReady) s.failedStarts++;
      if (!wasReady && s.index === 0 && startFailed) { startFailed(new Error(`worker ${name(0)} exited with ${signal ?? code} before it served`)); return; }
      if (s.failedStarts >= MAX_FAILED_STARTS) {
        o.log.error('worker keeps failing to start: stopping the server', { worker: name(s.index), code, signal });
        void shutdown().then(() => resolveStopped(1));
        return;
      }
      o.log.warn('worker exited: restarting it', { worker: name(s.index), code, signal });
      setTimeout(() => { if (!stopping) fork(s); }, 500).unref();
    });
  };

  const waitReady = (s: Slot) => new Promise<void>((resolve, reject) => {
    readyWaiters.set(s.index, () => { readyWaiters.delete(s.index); resolve(); });
    startFailed = reject;
  });

  // The PKCS#11 socket: bound here once the lead serves, each connection handed to a worker.
  let lastP11 = -1;
  const p11Server = net.createServer({ pauseOnConnect: true }, (socket) => {
    const ready = slots.filter((s) => s.ready && s.worker);
    if (!ready.length) { socket.destroy(); return; }
    // The fewest open connections; among equals, the next after the last one chosen.
    const fewest = Math.min(...ready.map((s) => s.p11));
    const equal = ready.filter((s) => s.p11 === fewest);
    const target = equal.find((s) => s.index > lastP11) ?? equal[0];
    lastP11 = target.index;
    target.p11++;
    send(target, { t: 'p11' }, socket);
  });
  p11Server.on('error', (err) => o.log.error('p11 listener error', { error: err.message }));

  async function shutdown(): Promise<void> {
    if (stopping) return;
    stopping = true;
    process.off('SIGUSR2', onTamper);
    // Not awaited: its callback would wait for every connection handed to a worker.
    p11Server.close();
    try { fs.unlinkSync(o.p11Socket); } catch { /* not bound or already gone */ }
    await Promise.all(slots.map((s) => new Promise<void>((resolve) => {
      const w = s.worker;
      if (!w) { resolve(); return; }
      const timer = setTimeout(() => w.process.kill('SIGKILL'), 15_000);
      w.once('exit', () => { clearTimeout(timer); resolve(); });
      send(s, { t: 'shutdown' });
    })));
  }

  // Tamper response: SIGUSR2 to the server (its primary) zeroises the module through one worker.
  const onTamper = () => {
    const target = [slots[0], ...slots.slice(1)].find((s) => s.ready && s.worker);
    if (target) target.worker!.process.kill('SIGUSR2');
    else o.log.error('SIGUSR2: no worker serves to zeroise the module');
  };
  process.on('SIGUSR2', onTamper);

  const lead = slots[0];
  const leadInfo = new Promise<LeadInfo>((resolve) => { leadReady = resolve; });
  fork(lead);
  try {
    await waitReady(lead);
  } catch (err) {
    stopping = true;
    throw err;
  }
  const info = await leadInfo;
  let p11: { mode: number; gid: number };
  try {
    p11 = await bindSocketFile(p11Server, o.p11Socket, { mode: o.p11SocketMode, group: o.p11SocketGroup });
  } catch (err) {
    await shutdown();
    throw err;
  }
  startFailed = undefined;
  for (const s of slots.slice(1)) {
    fork(s);
    await waitReady(s).catch(() => undefined);
  }
  startFailed = undefined;
  o.log.info('workers', { count: o.count, ready: slots.filter((s) => s.ready).length, p11: o.p11Socket });
  return { lead: info, p11, stopped, close: shutdown };
}

// ---------------------------------------------------------------------------------- worker

/** What a worker needs of its own server (server.ts). */
export interface WorkerHost {
  state(): string;
  dmk(): Buffer | undefined;
  unsealFrom(dmk: Uint8Array, sibling: string): Promise<void>;
  sealFrom(sibling: string, why: 'sealed' | 'zeroized'): Promise<void>;
  adoptP11(socket: net.Socket): void;
  /** This worker's metrics alone (prom-client JSON). */
  metrics(): Promise<unknown>;
  close(): Promise<void>;
}

/** The worker's end of the IPC channel with the primary. */
export class WorkerLink {
  private host?: WorkerHost;
  private nextId = 1;
  private readonly pending = new Map<number, (m: ToWorker) => void>();
  private lifecycleQueue: Promise<void> = Promise.resolve();

  constructor(readonly role: WorkerRole, private readonly log: Logger) {
    process.on('message', (m: ToWorker, handle?: net.Socket) => { void this.onMessage(m, handle); });
    // The primary is gone (killed): nobody hands out connections or relays a seal any more.
    process.on('disconnect', () => { void (this.host?.close() ?? Promise.resolve()).finally(() => process.exit(0)); });
  }

  /** The Hsm's onLifecycle hook: passes the change on to every sibling, then returns. */
  readonly onLifecycle = async (event: LifecycleEvent): Promise<void> => {
    if (!this.host) return;
    const dmk = event === 'unsealed' ? this.host.dmk() : undefined;
    const id = this.nextId++;
    const done = new Promise<void>((resolve) => this.pending.set(id, () => resolve()));
    try { this.send({ t: 'lifecycle', id, event, dmk }); } finally { dmk?.fill(0); }
    await done;
  };

  /** Every other worker's metrics, through the primary (for a scrape of this one). */
  siblingMetrics(): Promise<unknown[]> {
    if (!process.connected) return Promise.resolve([]);
    const id = this.nextId++;
    return new Promise((resolve) => {
      const timer = setTimeout(() => { this.pending.delete(id); resolve([]); }, METRICS_TIMEOUT_MS + 500);
      this.pending.set(id, (m) => { clearTimeout(timer); resolve(m.t === 'metrics-all' ? m.list : []); });
      this.send({ t: 'metrics', id });
    });
  }

  /** Serving: the primary may now hand this worker connections and lifecycle changes. */
  ready(host: WorkerHost, info?: LeadInfo): void {
    this.host = host;
    this.send({ t: 'ready', state: host.state(), info });
  }

  private send(m: ToPrimary): void {
    if (process.connected) process.send!(m);
  }

  private async onMessage(m: ToWorker, handle?: net.Socket): Promise<void> {
    const host = this.host;
    switch (m.t) {
      case 'p11':
        if (!handle) return;
        handle.once('close', () => this.send({ t: 'p11-closed' }));
        if (host) host.adoptP11(handle); else handle.destroy();
        return;
      case 'lifecycle-done':
      case 'metrics-all':
        this.pending.get(m.id)?.(m);
        this.pending.delete(m.id);
        return;
      case 'metrics-get':
        this.send({ t: 'metrics-of', id: m.id, json: host ? await host.metrics().catch(() => undefined) : undefined });
        return;
      case 'give-keys': {
        const dmk = host?.dmk();
        try { this.send({ t: 'keys', id: m.id, dmk }); } finally { dmk?.fill(0); }
        return;
      }
      case 'lifecycle':
        // One change at a time, in the order sent: a seal that follows a hand-over of the keys
        // is applied after it, never overtaken by it.
        this.lifecycleQueue = this.lifecycleQueue.then(async () => {
          try {
            if (!host) return;
            if (m.event === 'unsealed' && m.dmk) await host.unsealFrom(m.dmk, m.from);
            else if (m.event !== 'unsealed') await host.sealFrom(m.from, m.event);
          } catch (err) {
            this.log.error('relayed lifecycle change failed', { event: m.event, from: m.from, error: (err as Error).message });
          } finally {
            m.dmk?.fill(0);
            this.send({ t: 'ack', id: m.id });
            if (host) this.send({ t: 'state', state: host.state() });
          }
        });
        return;
      case 'shutdown':
        try { await host?.close(); } finally { process.exit(0); }
    }
  }
}
