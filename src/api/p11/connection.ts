// One p11-kit RPC connection (docs/p11kit-rpc.md §3-§4, §9, §11): the version byte, then
// frames decoded as they arrive. Requests are pipelined: calls on one session run in arrival
// order, different sessions and slot-level calls run in parallel, and each response is written
// as one frame echoing its request's code. A broken frame drops this connection only; a bad
// body gets an ERROR answer and the stream goes on. EOF is an implicit C_Finalize.
// Bounds (limits.ts, docs/limits.md): C_Initialize within the handshake timeout, a small frame
// cap until then, an idle timeout while no session is open, and the bytes it holds charged to
// the listener's request-buffer and multi-part budgets.
import type { Socket } from 'node:net';
import type { Hsm } from '../../core/hsm';
import type { Logger } from '../../logger';
import { isExpected, toCkr } from './errors';
import { CKR } from '../../pkcs11/constants';
import {
  decodeRequest, encodeErrorResponse, encodeFrame, encodeResponseFrame, FrameDecoder, isRpcHandshake, versionReply,
  type DecodedRequest, type Frame,
} from '../../protocol/p11rpc';
import { ByteBudget } from '../byte-budget';
import { handle, sessionOf } from './dispatch';
import { resolveLimits, type P11Limits } from './limits';
import { MultipartLedger, register } from './multipart-budget';
import type { PeerCred } from './peer-cred';
import type { SlotTable } from './slots';
import { ConnectionState } from './state';

/** Requests of one connection being worked on at once; beyond this the socket is paused (backpressure). */
const MAX_IN_FLIGHT = 256;
/** Answers written but not yet taken by the client; a client that stops reading stops being read. */
const MAX_UNSENT_BYTES = 32 * 1024 * 1024;

export type CloseReason = 'client' | 'handshake_timeout' | 'idle_timeout' | 'protocol' | 'request_budget' | 'server';

export interface ConnectionOptions {
  limits?: P11Limits;
  /** Shared by every connection of a listener; a connection alone gets its own. */
  requestBudget?: ByteBudget;
  multipartBudget?: ByteBudget;
  peer?: PeerCred;
  onClose?: (reason: CloseReason) => void;
}

export class P11Connection {
  readonly state: ConnectionState;
  private readonly decoder: FrameDecoder;
  private readonly limits: P11Limits;
  private readonly requestBudget: ByteBudget;
  private readonly ledger: MultipartLedger;
  private readonly queues = new Map<number, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;
  /** C_Initialize has succeeded: the full frame cap applies and the handshake timer is off. */
  private ready = false;
  private closeReason: CloseReason = 'client';
  /** Bytes of complete frames accepted but not yet run, and what this connection has charged to the request budget. */
  private queuedBytes = 0;
  private charged = 0;
  private handshakeTimer?: NodeJS.Timeout;
  private idleTimer?: NodeJS.Timeout;

  constructor(private readonly socket: Socket, id: string, hsm: Hsm, private readonly log: Logger, slots: SlotTable,
    private readonly opts: ConnectionOptions = {}) {
    this.limits = opts.limits ?? resolveLimits();
    this.requestBudget = opts.requestBudget ?? new ByteBudget('p11 request buffer', this.limits.requestBufferBytes);
    this.ledger = new MultipartLedger(opts.multipartBudget ?? new ByteBudget('p11 multi-part input', this.limits.multipartBytes));
    this.state = new ConnectionState(id, hsm, log, slots);
    this.decoder = new FrameDecoder({ maxFrameSize: this.limits.preInitFrameBytes });
    if (this.limits.handshakeTimeoutMs > 0) {
      this.handshakeTimer = setTimeout(() => this.expire('handshake_timeout', `no C_Initialize within ${this.limits.handshakeTimeoutMs} ms`),
        this.limits.handshakeTimeoutMs).unref();
    }
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => this.endOfInput());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.shutdown());
    socket.on('drain', () => this.resumeIfIdle());
  }

  /** Closes the connection from the server side (listener shutdown). */
  destroy(): void {
    this.closeWith('server');
  }

  private resumeIfIdle(): void {
    if (!this.closed && this.inFlight.size < MAX_IN_FLIGHT && this.socket.writableLength < MAX_UNSENT_BYTES) this.socket.resume();
  }

  /** Resolves once every request of this connection has finished (used by shutdown and tests). */
  async drained(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private receive(chunk: Buffer): void {
    this.armIdle();
    let frames: Frame[];
    try {
      frames = this.decoder.push(chunk);
    } catch (err) {
      this.drop(err);
      return;
    }
    const version = this.decoder.takeClientVersion();
    if (version !== undefined) this.socket.write(versionReply(version));
    for (const frame of frames) this.accept(frame);
    this.chargeRequestBytes();
  }

  /**
   * Charges what this connection holds (partial frame + frames waiting to run) beyond a free
   * allowance of one pre-C_Initialize frame to the shared budget; over budget, it is dropped.
   * The allowance keeps ordinary small calls working while others hold the budget.
   */
  private chargeRequestBytes(): void {
    if (this.closed || this.socket.destroyed) return;
    const target = Math.max(0, this.decoder.bufferedBytes + this.queuedBytes - this.limits.preInitFrameBytes);
    if (target < this.charged) {
      this.requestBudget.release(this.charged - target);
      this.charged = target;
    } else if (target > this.charged) {
      if (!this.requestBudget.tryReserve(target - this.charged)) {
        this.log.warn('p11 connection dropped', {
          conn: this.state.id, reason: 'request buffer budget exhausted', holding: target, budget: this.requestBudget.limit, uid: this.opts.peer?.uid,
        });
        this.closeWith('request_budget');
        return;
      }
      this.charged = target;
    }
  }

  private endOfInput(): void {
    try { this.decoder.end(); } catch (err) { this.drop(err); return; }
    // The client will send no more; answer what it already asked, then close our side.
    void this.drained().then(() => this.socket.end());
  }

  /** A frame the codec cannot follow: before C_Initialize this is a client that does not speak the protocol (info), after it a broken one. */
  private drop(err: unknown): void {
    const fields = { conn: this.state.id, reason: err instanceof Error ? err.message : 'error', uid: this.opts.peer?.uid };
    if (this.ready) this.log.warn('p11 connection dropped', fields);
    else this.log.info('p11 handshake failed', fields);
    this.closeWith('protocol');
  }

  private expire(reason: 'handshake_timeout' | 'idle_timeout', detail: string): void {
    if (this.closed) return;
    this.log.info('p11 connection closed', { conn: this.state.id, reason: detail, uid: this.opts.peer?.uid });
    this.closeWith(reason);
  }

  private closeWith(reason: CloseReason): void {
    if (this.closed || this.socket.destroyed) return;
    this.closeReason = reason;
    this.socket.destroy();
  }

  /** (Re)starts the idle timer when nothing is open or running; any traffic restarts it. */
  private armIdle(): void {
    if (this.idleTimer) { clearTimeout(this.idleTimer); this.idleTimer = undefined; }
    if (!this.ready || this.closed || this.limits.idleTimeoutMs <= 0 || this.state.sessions.size > 0 || this.inFlight.size > 0) return;
    this.idleTimer = setTimeout(() => {
      if (this.state.sessions.size === 0 && this.inFlight.size === 0) this.expire('idle_timeout', `no session open and no request for ${this.limits.idleTimeoutMs} ms`);
    }, this.limits.idleTimeoutMs).unref();
  }

  private accept(frame: Frame): void {
    let req: DecodedRequest;
    try {
      req = decodeRequest(frame.body);
    } catch (err) {
      frame.body.fill(0);
      this.send(frame.code, encodeErrorResponse(toCkr(err)));
      return;
    }
    if (req.name === 'C_Initialize' && !isRpcHandshake(req.args[0] as Buffer | null)) {
      // §6.1: not a p11-kit client; the reference answers CKR_GENERAL_ERROR. Expected, not a fault.
      this.log.info('p11 handshake refused', { conn: this.state.id, reason: 'C_Initialize without the p11-kit handshake string', uid: this.opts.peer?.uid });
      frame.body.fill(0);
      this.send(frame.code, encodeErrorResponse(CKR.GENERAL_ERROR));
      return;
    }
    const size = frame.body.length + frame.options.length;
    this.queuedBytes += size;
    const sid = sessionOf(req);
    const prev = sid === undefined ? undefined : this.queues.get(sid);
    // A call with nothing ahead of it in its session starts now (no extra promise hop); one behind
    // another waits for it. execute() never rejects; the rejection handler only keeps a bug from
    // becoming an unhandled rejection. `job` settles after its bookkeeping, which the next call
    // of the session waits for too.
    const started = prev ? prev.then(() => this.execute(frame, req)) : this.execute(frame, req);
    const done = (): void => this.finished(job, sid, size);
    const job: Promise<void> = started.then(done, done);
    if (sid !== undefined) this.queues.set(sid, job);
    this.inFlight.add(job);
    if (this.inFlight.size >= MAX_IN_FLIGHT) this.socket.pause();
  }

  private finished(job: Promise<void>, sid: number | undefined, size: number): void {
    if (sid !== undefined && this.queues.get(sid) === job) this.queues.delete(sid);
    this.inFlight.delete(job);
    this.queuedBytes -= size;
    this.chargeRequestBytes();
    this.armIdle();
    this.resumeIfIdle();
  }

  private async execute(frame: Frame, req: DecodedRequest): Promise<void> {
    let out: Buffer;
    try {
      // The whole frame in one buffer, written with one write().
      out = encodeResponseFrame(frame.code, req.callId, await handle({ hsm: this.state.hsm, conn: this.state }, req));
      if (req.name === 'C_Initialize') this.handshakeDone();
      if (req.name === 'C_OpenSession') for (const s of this.state.sessions.values()) register(s, this.ledger);
    } catch (err) {
      if (!isExpected(err)) {
        this.log.error('p11 internal error', { conn: this.state.id, call: req.name, error: (err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') });
      }
      out = encodeFrame(frame.code, encodeErrorResponse(toCkr(err) || CKR.GENERAL_ERROR));
    } finally {
      // PINs and data travel in bodies; nothing keeps a view of them past the call (handlers copy).
      frame.body.fill(0);
      // Multi-part input of operations that this call ended (error, close, logout, finalize) goes back to the budget.
      this.ledger.sweep(this.state);
    }
    this.write(out);
  }

  private handshakeDone(): void {
    if (this.ready) return;
    this.ready = true;
    this.decoder.setFrameCap(this.limits.maxFrameBytes);
    if (this.handshakeTimer) { clearTimeout(this.handshakeTimer); this.handshakeTimer = undefined; }
  }

  private send(code: number, body: Buffer): void {
    this.write(encodeFrame(code, body));
  }

  private write(frame: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(frame);
    if (this.socket.writableLength >= MAX_UNSENT_BYTES) this.socket.pause();
  }

  /** §2.3: a closed connection closes its sessions, after whatever was still running has finished. */
  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.handshakeTimer);
    clearTimeout(this.idleTimer);
    void this.drained().then(() => {
      this.state.closeAll();
      this.ledger.releaseAll();
      this.requestBudget.release(this.charged);
      this.charged = 0;
      this.opts.onClose?.(this.closeReason);
    });
  }
}
