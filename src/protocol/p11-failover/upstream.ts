// One connection of `inkan p11-stdio` to one Inkan node: a unix socket (`unix:PATH`) or TCP with
// mutual TLS (`tcp+tls:HOST:PORT`, the node's --p11-tls-listen). It speaks the client half of the
// p11-kit RPC protocol (docs/p11kit-rpc.md §3-§4): the version byte, then framed requests, each
// answered by the frame with the same code. Any transport failure, and a request unanswered for
// too long, closes it and fails every request still open: the relay then moves to another node.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { encodeFrame, FrameDecoder, PROTOCOL_VERSION } from '../p11rpc';

export type NodeAddress =
  | { kind: 'unix'; path: string; text: string }
  | { kind: 'tls'; host: string; port: number; text: string };

/** `unix:PATH` (or p11-kit's `unix:path=PATH`) and `tcp+tls:HOST:PORT` (`[v6]:PORT`), comma separated. */
export function parseAddresses(list: string): NodeAddress[] {
  const out: NodeAddress[] = [];
  for (const raw of list.split(',').map((s) => s.trim()).filter(Boolean)) {
    if (raw.startsWith('unix:')) {
      const p = raw.slice(5).replace(/^path=/, '');
      if (!p) throw new Error(`${raw}: unix: needs a socket path`);
      out.push({ kind: 'unix', path: p, text: raw });
      continue;
    }
    const m = /^tcp\+tls:(\[[^\]]+\]|[^:[\]]+):(\d{1,5})$/.exec(raw);
    if (m && Number(m[2]) > 0 && Number(m[2]) < 65536) {
      out.push({ kind: 'tls', host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]), text: raw });
      continue;
    }
    throw new Error(`${raw}: an address is unix:PATH or tcp+tls:HOST:PORT`);
  }
  if (!out.length) throw new Error('no node address given');
  return out;
}

export interface TlsClientFiles { ca?: string; cert?: string; key?: string }
export interface TlsClientOptions { ca?: Buffer; cert?: Buffer; key?: Buffer }

export function loadTlsClientOptions(f: TlsClientFiles): TlsClientOptions {
  const read = (p?: string) => (p === undefined ? undefined : fs.readFileSync(p));
  return { ca: read(f.ca), cert: read(f.cert), key: read(f.key) };
}

export interface UpstreamOptions {
  /** Connect, TLS handshake and version byte within this time (ms). */
  connectTimeoutMs: number;
  /** A request unanswered this long means the node is gone (ms; 0 = wait forever). */
  requestTimeoutMs: number;
  tls: TlsClientOptions;
}

/** The node went away (or never answered): not an answer from it. */
export class TransportError extends Error {}

interface Waiter { resolve: (body: Buffer) => void; reject: (err: Error) => void; timer?: NodeJS.Timeout }

export class Upstream {
  private readonly waiting = new Map<number, Waiter>();
  private nextCode = 16;
  private failure?: TransportError;

  private constructor(readonly address: NodeAddress, private readonly socket: net.Socket, private readonly decoder: FrameDecoder,
    private readonly opts: UpstreamOptions, private readonly onLost: (u: Upstream) => void) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (err) => this.fail(err.message));
    socket.on('close', () => this.fail('connection closed'));
  }

  /** Connects and exchanges the version byte (§3), or throws within connectTimeoutMs. */
  static open(address: NodeAddress, opts: UpstreamOptions, onLost: (u: Upstream) => void): Promise<Upstream> {
    return new Promise((resolve, reject) => {
      let settled = false;
      const socket = address.kind === 'unix'
        ? net.connect(address.path)
        : tls.connect({
          host: address.host, port: address.port, ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.2',
          servername: net.isIP(address.host) ? undefined : address.host,
        });
      const decoder = new FrameDecoder({ handshake: true });
      const done = (err?: Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        socket.removeListener('data', onData);
        if (err) { socket.destroy(); reject(err); return; }
        resolve(new Upstream(address, socket, decoder, opts, onLost));
      };
      const timer = setTimeout(() => done(new TransportError(`${address.text}: no answer within ${opts.connectTimeoutMs} ms`)), opts.connectTimeoutMs);
      const onData = (chunk: Buffer) => {
        try {
          decoder.push(chunk);
        } catch (err) { done(new TransportError(`${address.text}: ${(err as Error).message}`)); return; }
        if (decoder.takeClientVersion() !== undefined) done();
      };
      socket.once(address.kind === 'unix' ? 'connect' : 'secureConnect', () => {
        socket.setNoDelay?.(true);
        if (address.kind === 'tls') socket.setKeepAlive(true, 5_000);
        socket.write(Buffer.from([PROTOCOL_VERSION]));
      });
      socket.on('data', onData);
      socket.once('error', (err) => done(new TransportError(`${address.text}: ${err.message}`)));
      socket.once('close', () => done(new TransportError(`${address.text}: connection closed`)));
    });
  }

  get lost(): boolean { return this.failure !== undefined; }

  /** Sends one request body; resolves with the response body (an ERROR message is an answer too). */
  request(body: Buffer, options: Buffer = Buffer.alloc(0)): Promise<Buffer> {
    if (this.failure) return Promise.reject(this.failure);
    const code = this.nextCode;
    this.nextCode = this.nextCode >= 0xffffffff ? 16 : this.nextCode + 1;
    return new Promise((resolve, reject) => {
      const w: Waiter = { resolve, reject };
      if (this.opts.requestTimeoutMs > 0) {
        w.timer = setTimeout(() => this.fail(`no answer within ${this.opts.requestTimeoutMs} ms`), this.opts.requestTimeoutMs);
      }
      this.waiting.set(code, w);
      // Bodies carry PINs and data: the frame copy is wiped once the socket has taken it.
      const frame = encodeFrame(code, body, options);
      this.socket.write(frame, () => frame.fill(0));
    });
  }

  close(): void {
    this.fail('closed by the relay');
  }

  private receive(chunk: Buffer): void {
    let frames;
    try { frames = this.decoder.push(chunk); } catch (err) { this.fail((err as Error).message); return; }
    for (const f of frames) {
      const w = this.waiting.get(f.code);
      if (!w) { this.fail(`answer to unknown request ${f.code}`); return; }
      this.waiting.delete(f.code);
      clearTimeout(w.timer);
      w.resolve(f.body);
    }
  }

  private fail(reason: string): void {
    if (this.failure) return;
    this.failure = new TransportError(`${this.address.text}: ${reason}`);
    this.socket.destroy();
    for (const w of this.waiting.values()) { clearTimeout(w.timer); w.reject(this.failure); }
    this.waiting.clear();
    this.onLost(this);
  }
}

