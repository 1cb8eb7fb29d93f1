// The failover relay behind `inkan p11-stdio --server a,b,…` (docs/pkcs11.md "Failover"). It is the
// server half of the p11-kit RPC protocol towards the application (stdin/stdout, the socketpair
// p11-kit-client.so made) and the client half towards one node at a time. Every request is decoded
// (the codec's checks), its session handle mapped to the node's and its object handles checked,
// and sent on; every answer updates what the relay remembers (client-state.ts). When the node's
// connection breaks, the relay connects to the next node, replays C_Initialize, reopens the
// sessions, logs in again with the PINs it holds, re-initialises operations not yet fed, and sends
// the requests that were in flight once more — except those that change objects, which get
// CKR_DEVICE_REMOVED because they may have committed.
import { CKR } from '../../pkcs11/constants';
import {
  CALL, decodeRequestLayout, encodeErrorResponse, encodeFrame, encodeRequestBody, FrameDecoder, ProtocolError, versionReply,
  type CallName, type RequestLayout,
} from '../p11rpc';
import { ClientState, handleArgs, RETURNS_HANDLES, retriable, takesSession, type SessionState } from './client-state';
import { TransportError, Upstream, type NodeAddress, type UpstreamOptions } from './upstream';

export interface RelayOptions extends UpstreamOptions {
  /** How long to keep trying the nodes, round after round, before answering CKR_DEVICE_REMOVED (ms). */
  failoverTimeoutMs: number;
  /** Start with a random node instead of the first (spreads applications over the nodes). */
  randomStart?: boolean;
  /** One line per event (connected, lost, failed over); never a PIN or data. */
  log: (line: string) => void;
}

interface Pending {
  readonly code: number;
  readonly options: Buffer;
  readonly body: Buffer;
  readonly req: RequestLayout;
  retried: boolean;
}

const PAUSE_BETWEEN_ROUNDS_MS = 200;
const LOGIN_RETRIES = 2;
const RETRIED_LOGIN_CODES: ReadonlySet<number> = new Set([CKR.PIN_INCORRECT, CKR.DEVICE_MEMORY]);
/** Requests the application may have outstanding while no node is reachable. */
const MAX_QUEUED = 1024;

const isError = (body: Buffer) => body.readUInt32BE(0) === 0;
const errorCode = (body: Buffer) => Number(body.readBigUInt64BE(9));
/** Where the response values start: after the call id and the signature string. */
const valuesAt = (body: Buffer) => 8 + body.readUInt32BE(4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class FailoverRelay {
  private readonly state = new ClientState();
  private readonly decoder = new FrameDecoder({ handshake: true });
  private upstream?: Upstream;
  private connecting?: Promise<void>;
  private queue: Pending[] = [];
  private inFlight: Pending[] = [];
  private next: number;
  private closed = false;

  constructor(private readonly nodes: readonly NodeAddress[], private readonly opts: RelayOptions,
    private readonly write: (frame: Buffer) => void) {
    this.next = opts.randomStart ? Math.floor(Math.random() * nodes.length) : 0;
  }

  /** The node in use now (for tests and the log). */
  get current(): NodeAddress | undefined { return this.upstream?.address; }

  /** Connects to the first healthy node; rejects if none answers within the failover timeout. */
  start(): Promise<void> { return this.ensureConnected(); }

  /** Bytes from the application. A broken frame ends the relay (the client would not recover either). */
  receive(chunk: Buffer): void {
    const frames = this.decoder.push(chunk);
    const version = this.decoder.takeClientVersion();
    if (version !== undefined) this.write(versionReply(version));
    for (const f of frames) this.accept(f.code, Buffer.from(f.options), Buffer.from(f.body));
  }

  close(): void {
    this.closed = true;
    this.upstream?.close();
    this.state.finalize();
    for (const p of [...this.queue, ...this.inFlight]) p.body.fill(0);
  }

  private accept(code: number, options: Buffer, body: Buffer): void {
    let req: RequestLayout;
    try {
      req = decodeRequestLayout(body);
    } catch (err) {
      body.fill(0);
      const rv = err instanceof ProtocolError && err.kind === 'unknown-call' ? CKR.FUNCTION_NOT_SUPPORTED : CKR.DEVICE_ERROR;
      this.write(encodeFrame(code, encodeErrorResponse(rv)));
      return;
    }
    const p: Pending = { code, options, body, req, retried: false };
    if (this.queue.length >= MAX_QUEUED) { this.answerError(p, CKR.DEVICE_MEMORY); return; }
    this.queue.push(p);
    if (this.upstream && !this.upstream.lost) this.pump();
    else void this.ensureConnected().catch(() => this.failQueue());
  }

  private pump(): void {
    while (this.queue.length && this.upstream && !this.upstream.lost) this.dispatch(this.upstream, this.queue.shift()!);
  }

  private dispatch(up: Upstream, p: Pending): void {
    const out = this.toNode(p.req, p.body);
    if (typeof out === 'number') { this.answerError(p, out); return; }
    this.inFlight.push(p);
    up.request(out, p.options).then((resp) => {
      out.fill(0);
      this.inFlight = this.inFlight.filter((x) => x !== p);
      this.complete(p, resp);
    }, () => {
      // Stays in inFlight: lost() decides whether it is sent again.
      out.fill(0);
    });
  }

  /** The request as the current node must see it, or the CKR_ to answer without asking it. */
  private toNode(req: RequestLayout, body: Buffer): Buffer | number {
    const out = Buffer.from(body);
    if (takesSession(req.name)) {
      const s = this.state.nodeSession(req.args[0] as number);
      if (typeof s !== 'number') return s.rv;
      out.writeBigUInt64BE(BigInt(s), req.offsets[0]);
    }
    for (const [i, rv] of handleArgs(req.name)) {
      const h = this.state.nodeObject(req.args[i] as number);
      if (h === undefined) return rv;
      out.writeBigUInt64BE(BigInt(h), req.offsets[i]);
    }
    return out;
  }

  /** A node's answer: remember what it changed, map the handles in it, pass it on. */
  private complete(p: Pending, resp: Buffer): void {
    const name = p.req.name;
    const ok = !isError(resp);
    const rv = ok ? 0 : errorCode(resp);
    let out = resp;
    const session = takesSession(name) ? this.state.sessions.get(p.req.args[0] as number) : undefined;
    if (ok) out = this.remember(p, resp, session);
    if (session) {
      const sizeOnly = ok ? resp.length > valuesAt(resp) && resp[valuesAt(resp)] === 0 : rv === CKR.BUFFER_TOO_SMALL;
      this.state.operationDone(session, name, p.body, ok, sizeOnly);
    }
    if (!ok && rv === CKR.SESSION_HANDLE_INVALID && session) this.state.closeSession(p.req.args[0] as number);
    p.body.fill(0);
    this.write(encodeFrame(p.code, out));
  }

  private remember(p: Pending, resp: Buffer, session: SessionState | undefined): Buffer {
    const { name, args } = p.req;
    const at = valuesAt(resp);
    switch (name) {
      case 'C_Initialize': this.state.initialize?.fill(0); this.state.initialize = Buffer.from(p.body); break;
      case 'C_Finalize': this.state.finalize(); break;
      case 'C_OpenSession': {
        const handle = this.state.openSession(args[0] as number, args[1] as number, Number(resp.readBigUInt64BE(at)));
        if (handle === undefined) return encodeErrorResponse(CKR.SESSION_COUNT);
        const out = Buffer.from(resp);
        out.writeBigUInt64BE(BigInt(handle), at);
        return out;
      }
      case 'C_CloseSession': this.state.closeSession(args[0] as number); break;
      case 'C_CloseAllSessions': this.state.closeAll(args[0] as number); break;
      case 'C_Login':
        if (session && args[1] !== 2 /* CKU_CONTEXT_SPECIFIC */ && args[2]) this.state.login(session.slot, args[1] as number, args[2] as Buffer);
        break;
      case 'C_Logout': if (session) this.state.logout(session.slot); break;
      case 'C_SetPIN': if (session) this.state.pinChanged(session.slot, args[2] as Buffer | null); break;
      case 'C_DestroyObject': this.state.forgetObject(args[1] as number); break;
      default: break;
    }
    return RETURNS_HANDLES.has(name) ? this.mapHandles(name, resp, at) : resp;
  }

  /** New object handles in an answer: token handles as they are, session objects as aliases. */
  private mapHandles(name: CallName, resp: Buffer, at: number): Buffer {
    const out = Buffer.from(resp);
    const map = (off: number) => out.writeBigUInt64BE(BigInt(this.state.clientObject(Number(out.readBigUInt64BE(off)))), off);
    if (name === 'C_FindObjects') {
      if (out[at] !== 1) return out;
      const n = out.readUInt32BE(at + 1);
      for (let i = 0; i < n; i++) map(at + 5 + 8 * i);
    } else {
      map(at);
      if (name === 'C_GenerateKeyPair') map(at + 8);
    }
    return out;
  }

  private answerError(p: Pending, rv: number): void {
    p.body.fill(0);
    this.write(encodeFrame(p.code, encodeErrorResponse(rv)));
  }

  /** No node could be reached in time: everything waiting is answered; the next request tries again. */
  private failQueue(): void {
    const waiting = [...this.inFlight, ...this.queue];
    this.inFlight = [];
    this.queue = [];
    for (const p of waiting) this.answerError(p, CKR.DEVICE_REMOVED);
  }

  /** The node's connection broke: requests in flight are sent again (once) or answered, then a new node is found. */
  private lost(up: Upstream): void {
    if (this.upstream !== up || this.closed) return;
    this.upstream = undefined;
    this.opts.log(`lost ${up.address.text}; failing over`);
    this.state.newGeneration();
    const again: Pending[] = [];
    for (const p of this.inFlight) {
      if (retriable(p.req.name) && !p.retried) { p.retried = true; again.push(p); } else this.answerError(p, CKR.DEVICE_REMOVED);
    }
    this.inFlight = [];
    this.queue = [...again, ...this.queue];
    void this.ensureConnected().catch(() => this.failQueue());
  }

  private ensureConnected(): Promise<void> {
    if (this.upstream && !this.upstream.lost) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => { this.connecting = undefined; });
    return this.connecting;
  }

  /** Round after round over the nodes, starting after the one that failed, until one takes the replay. */
  private async connect(): Promise<void> {
    const deadline = Date.now() + this.opts.failoverTimeoutMs;
    for (let round = 0; !this.closed; round++) {
      for (let i = 0; i < this.nodes.length && !this.closed; i++) {
        const node = this.nodes[this.next];
        this.next = (this.next + 1) % this.nodes.length;
        let up: Upstream | undefined;
        try {
          up = await Upstream.open(node, this.opts, (u) => this.lost(u));
          await this.restore(up);
        } catch (err) {
          up?.close();
          this.opts.log(`${node.text}: ${(err as Error).message}`);
          continue;
        }
        if (up.lost) continue;
        // The next failover starts with the node after this one.
        this.next = (this.nodes.indexOf(node) + 1) % this.nodes.length;
        this.upstream = up;
        this.opts.log(`connected to ${node.text}`);
        this.pump();
        return;
      }
      if (Date.now() >= deadline) break;
      await sleep(PAUSE_BETWEEN_ROUNDS_MS);
    }
    throw new TransportError('no node reachable');
  }

  /**
   * Rebuilds the application's state on a fresh node connection. A node that refuses C_Initialize or
   * a session is unhealthy (sealed, failing): the next one is tried. A login it refuses is dropped
   * (a wrong PIN must not be tried on every node), and so is an operation it will not re-initialise.
   */
  private async restore(up: Upstream): Promise<void> {
    this.state.newGeneration();
    if (!this.state.initialize) return;
    const init = await up.request(this.state.initialize);
    if (isError(init)) throw new Error(`C_Initialize refused (CKR 0x${errorCode(init).toString(16)})`);
    for (const s of this.state.sessions.values()) {
      const r = await up.request(encodeRequestBody(CALL.C_OpenSession, (w) => w.writeUlong(s.slot).writeUlong(s.flags)));
      if (isError(r)) throw new Error(`C_OpenSession refused (CKR 0x${errorCode(r).toString(16)})`);
      s.node = Number(r.readBigUInt64BE(valuesAt(r)));
    }
    for (const [slot, l] of [...this.state.logins]) {
      const s = [...this.state.sessions.values()].find((x) => x.slot === slot && x.node !== undefined);
      if (!s) { this.state.logout(slot); continue; }
      const body = encodeRequestBody(CALL.C_Login, (w) => w.writeUlong(s.node!).writeUlong(l.userType).writeByte(1).writeByteArray(l.pin));
      let r = await up.request(body);
      // Many applications of one user failing over at once meet the account's login throttle
      // (CKR_PIN_INCORRECT, uncounted) or its row contention (CKR_DEVICE_MEMORY): two more tries
      // after a random pause. A password really changed meanwhile costs at most three of its five.
      for (let i = 0; i < LOGIN_RETRIES && isError(r) && RETRIED_LOGIN_CODES.has(errorCode(r)); i++) {
        await sleep(300 + Math.floor(Math.random() * 900));
        r = await up.request(body);
      }
      body.fill(0);
      if (isError(r)) {
        this.opts.log(`login on slot ${slot} refused after failover (CKR 0x${errorCode(r).toString(16)}); the sessions stay public`);
        this.state.logout(slot);
      }
    }
    for (const s of this.state.sessions.values()) {
      for (const [kind, op] of [...s.ops]) {
        const req = decodeRequestLayout(op.init);
        const body = this.toNode(req, op.init);
        const r = typeof body === 'number' ? undefined : await up.request(body);
        if (typeof body !== 'number') body.fill(0);
        if (r === undefined || isError(r)) s.ops.delete(kind);
      }
    }
  }
}
