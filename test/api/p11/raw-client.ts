// A bare p11-kit RPC client for server tests: request bodies are built with the independent
// byte builder of the codec tests (test/protocol/p11rpc/wire.ts); responses are matched by
// code, so tests can pipeline and observe out-of-order answers.
import * as net from 'node:net';
import { CALL, FrameDecoder, Reader } from '../../../src/protocol/p11rpc';
import { ayData, body, bstr, cat, frame, u64, u8 } from '../../protocol/p11rpc/wire';

export interface Answer { code: number; callId: number; rv?: number; reader: Reader; body: Buffer }

export class RawClient {
  private readonly decoder = new FrameDecoder({ handshake: false });
  private readonly waiting = new Map<number, (a: Answer) => void>();
  private nextCode = 16;
  private versionSeen = false;
  readonly order: number[] = [];
  closed: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    this.closed = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('error', () => undefined);
    socket.on('data', (chunk: Buffer) => {
      if (!this.versionSeen) { this.versionSeen = true; chunk = chunk.subarray(1); }
      for (const f of this.decoder.push(chunk)) {
        const r = new Reader(f.body);
        const callId = r.readUint32();
        r.readString();
        const answer: Answer = { code: f.code, callId, reader: r, body: f.body };
        if (callId === 0) answer.rv = Number(r.readUint64());
        this.order.push(f.code);
        this.waiting.get(f.code)?.(answer);
        this.waiting.delete(f.code);
      }
    });
  }

  static async connect(socketPath: string): Promise<RawClient> {
    const socket = net.connect(socketPath);
    await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
    socket.write(u8(0));
    return new RawClient(socket);
  }

  /** Sends one request body; resolves with its answer. */
  send(requestBody: Buffer): Promise<Answer> {
    const code = this.nextCode++;
    const p = new Promise<Answer>((resolve) => this.waiting.set(code, resolve));
    this.socket.write(frame(code, requestBody, 'client'));
    return p;
  }

  call(name: keyof typeof CALL, signature: string, ...args: Buffer[]): Promise<Answer> {
    return this.send(body(CALL[name], signature, ...args));
  }

  /** Like call, but fails unless the answer is a success; returns the reader at the outputs. */
  async ok(name: keyof typeof CALL, signature: string, ...args: Buffer[]): Promise<Reader> {
    const a = await this.call(name, signature, ...args);
    if (a.callId === 0) throw new Error(`${name} failed: CKR 0x${a.rv!.toString(16)}`);
    return a.reader;
  }

  async initialize(): Promise<void> {
    await this.ok('C_Initialize', 'ayyay', ayData('PRIVATE-GNOME-KEYRING-PKCS11-PROTOCOL-V-1'), u8(0), ayData(Buffer.from([0])));
  }

  async openSession(slot = 1, flags = 6): Promise<number> {
    return (await this.ok('C_OpenSession', 'uu', u64(slot), u64(flags))).readUlong();
  }

  async login(session: number, pin: string, userType = 1): Promise<Answer> {
    return this.call('C_Login', 'uuay', u64(session), u64(userType), ayData(pin));
  }

  close(): void { this.socket.destroy(); }
}

export { bstr, cat };
