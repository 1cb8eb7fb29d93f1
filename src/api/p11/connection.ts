// One p11-kit RPC connection (docs/p11kit-rpc.md §3-§4, §9, §11): the version byte, then
// frames decoded as they arrive. Requests are pipelined: calls on one session run in arrival
// order, different sessions and slot-level calls run in parallel, and each response is written
// as one frame echoing its request's code. A broken frame drops this connection only; a bad
// body gets an ERROR answer and the stream goes on. EOF is an implicit C_Finalize.
import type { Socket } from 'node:net';
import type { Hsm } from '../../core/hsm';
import type { Logger } from '../../logger';
import { isExpected, toCkr } from './errors';
import { CKR } from '../../pkcs11/constants';
import {
  decodeRequest, encodeErrorResponse, encodeFrame, encodeResponseValues, FrameDecoder, versionReply,
  type DecodedRequest, type Frame,
} from '../../protocol/p11rpc';
import { handle, sessionOf } from './dispatch';
import type { Slot } from './slots';
import { ConnectionState } from './state';

/** Requests of one connection being worked on at once; beyond this the socket is paused (backpressure). */
const MAX_IN_FLIGHT = 256;
/** Answers written but not yet taken by the client; a client that stops reading stops being read. */
const MAX_UNSENT_BYTES = 32 * 1024 * 1024;

export interface ConnectionOptions {
  maxFrameSize?: number;
}

export class P11Connection {
  readonly state: ConnectionState;
  private readonly decoder: FrameDecoder;
  private readonly queues = new Map<number, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(private readonly socket: Socket, id: string, hsm: Hsm, private readonly log: Logger, slots: readonly Slot[], opts: ConnectionOptions = {}) {
    this.state = new ConnectionState(id, hsm, log, slots);
    this.decoder = new FrameDecoder({ maxFrameSize: opts.maxFrameSize });
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('end', () => this.endOfInput());
    socket.on('error', () => socket.destroy());
    socket.on('close', () => this.shutdown());
    socket.on('drain', () => this.resumeIfIdle());
  }

  private resumeIfIdle(): void {
    if (!this.closed && this.inFlight.size < MAX_IN_FLIGHT && this.socket.writableLength < MAX_UNSENT_BYTES) this.socket.resume();
  }

  /** Resolves once every request of this connection has finished (used by shutdown and tests). */
  async drained(): Promise<void> {
    while (this.inFlight.size) await Promise.allSettled([...this.inFlight]);
  }

  private receive(chunk: Buffer): void {
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
  }

  private endOfInput(): void {
    try { this.decoder.end(); } catch (err) { this.drop(err); return; }
    // The client will send no more; answer what it already asked, then close our side.
    void this.drained().then(() => this.socket.end());
  }

  private drop(err: unknown): void {
    this.log.warn('p11 connection dropped', { conn: this.state.id, reason: err instanceof Error ? err.message : 'error' });
    this.socket.destroy();
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
    const sid = sessionOf(req);
    const prev = sid === undefined ? undefined : this.queues.get(sid);
    // execute() never rejects; the catch only keeps a bug from becoming an unhandled rejection.
    const job = (prev ?? Promise.resolve()).then(() => this.execute(frame, req)).catch(() => undefined);
    if (sid !== undefined) this.queues.set(sid, job);
    this.inFlight.add(job);
    if (this.inFlight.size >= MAX_IN_FLIGHT) this.socket.pause();
    void job.then(() => {
      if (sid !== undefined && this.queues.get(sid) === job) this.queues.delete(sid);
      this.inFlight.delete(job);
      this.resumeIfIdle();
    });
  }

  private async execute(frame: Frame, req: DecodedRequest): Promise<void> {
    let body: Buffer;
    try {
      body = encodeResponseValues(req.callId, await handle({ hsm: this.state.hsm, conn: this.state }, req));
    } catch (err) {
      if (!isExpected(err)) {
        this.log.error('p11 internal error', { conn: this.state.id, call: req.name, error: (err as Error)?.stack?.split('\n').slice(0, 3).join(' | ') });
      }
      body = encodeErrorResponse(toCkr(err) || CKR.GENERAL_ERROR);
    } finally {
      // PINs and data travel in bodies; nothing keeps a view of them past the call (handlers copy).
      frame.body.fill(0);
    }
    this.send(frame.code, body);
  }

  private send(code: number, body: Buffer): void {
    if (this.closed || this.socket.destroyed) return;
    this.socket.write(encodeFrame(code, body));
    if (this.socket.writableLength >= MAX_UNSENT_BYTES) this.socket.pause();
  }

  /** §2.3: a closed connection closes its sessions, after whatever was still running has finished. */
  private shutdown(): void {
    if (this.closed) return;
    this.closed = true;
    void this.drained().then(() => this.state.closeAll());
  }
}
