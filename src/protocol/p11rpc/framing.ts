// Transport framing of the p11-kit RPC protocol (docs/p11kit-rpc.md §3 handshake, §4 frames):
// one version byte each way, then frames of a 12-byte big-endian header
// (code, options_len, body_len), the options (the client's module name) and the body.
// This file knows nothing about bodies; message.ts decodes those.
import { ProtocolError } from './protocol-error';

/** §3: the only protocol version this codec implements (p11-kit 0.24.1, P11KIT_RPC_MAX = 0). */
export const PROTOCOL_VERSION = 0;
export const FRAME_HEADER_LENGTH = 12;
/** Largest frame (header + options + body) accepted by default; §4 leaves the limit to us. */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
/** Options carry a module name ("client", or a config file name, §2.2); a few KiB is plenty. */
export const DEFAULT_MAX_OPTIONS_LENGTH = 4096;

export interface Frame {
  /** Request tag chosen by the client; the response must echo it (§4, §9.2). */
  readonly code: number;
  /** Module name sent by the client; ignored by the protocol (§4). */
  readonly options: Buffer;
  readonly body: Buffer;
}

export interface FrameDecoderOptions {
  /** Cap on header + options + body, enforced from the header before buffering. */
  readonly maxFrameSize?: number;
  readonly maxOptionsLength?: number;
  /** Expect the client's version byte before the first frame (§3). Default true. */
  readonly handshake?: boolean;
}

interface PendingHeader { code: number; optionsLength: number; bodyLength: number }

/**
 * Incremental decoder: push chunks split anywhere, get back every frame they complete.
 * After a ProtocolError the stream is out of sync; every later push throws the same error
 * and the caller should drop the connection (§11.2).
 */
export class FrameDecoder {
  private maxFrameSize: number;
  private readonly maxOptionsLength: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  private header: PendingHeader | null = null;
  private awaitingVersion: boolean;
  private version: number | null = null;
  private versionUntaken = false;
  private failure: ProtocolError | null = null;

  constructor(options: FrameDecoderOptions = {}) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.maxOptionsLength = options.maxOptionsLength ?? DEFAULT_MAX_OPTIONS_LENGTH;
    this.awaitingVersion = options.handshake ?? true;
  }

  /** The client's version byte once received (§3), else null. */
  get clientVersion(): number | null { return this.version; }

  /** Returns the client's version byte the first time it is available, so the caller answers once. */
  takeClientVersion(): number | undefined {
    if (!this.versionUntaken || this.version === null) return undefined;
    this.versionUntaken = false;
    return this.version;
  }

  /** Bytes received but not yet returned as part of a frame. */
  get bufferedBytes(): number { return this.buffered; }

  /** The frame cap now in force (checked against each header as it arrives). */
  get frameCap(): number { return this.maxFrameSize; }

  /**
   * Changes the cap for headers not yet read: a server keeps it low until the client has shown
   * it speaks the protocol (C_Initialize), then raises it. A header already read keeps its check.
   */
  setFrameCap(maxFrameSize: number): void {
    if (!Number.isInteger(maxFrameSize) || maxFrameSize < FRAME_HEADER_LENGTH) throw new RangeError(`bad frame cap ${maxFrameSize}`);
    this.maxFrameSize = maxFrameSize;
  }

  push(chunk: Buffer): Frame[] {
    if (this.failure) throw this.failure;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    try {
      return this.drain();
    } catch (err) {
      if (err instanceof ProtocolError) this.failure = err;
      throw err;
    }
  }

  /** Call at EOF: EOF inside a frame is a transport error (§11.2); at a boundary it is C_Finalize. */
  end(): void {
    if (this.failure) throw this.failure;
    if (this.buffered > 0 || this.header !== null) {
      this.failure = new ProtocolError('frame', `connection closed inside a frame (${this.buffered} bytes pending)`);
      throw this.failure;
    }
  }

  private drain(): Frame[] {
    const frames: Frame[] = [];
    if (this.awaitingVersion) {
      if (this.buffered < 1) return frames;
      this.version = this.take(1)[0];
      this.versionUntaken = true;
      this.awaitingVersion = false;
    }
    for (;;) {
      if (this.header === null) {
        if (this.buffered < FRAME_HEADER_LENGTH) return frames;
        this.header = this.parseHeader(this.take(FRAME_HEADER_LENGTH));
      }
      const { code, optionsLength, bodyLength } = this.header;
      if (this.buffered < optionsLength + bodyLength) return frames;
      const options = this.take(optionsLength);
      const body = this.take(bodyLength);
      this.header = null;
      frames.push({ code, options, body });
    }
  }

  /** Checks the lengths before any of the frame is buffered beyond its header (§4: no limit on the wire). */
  private parseHeader(h: Buffer): PendingHeader {
    const code = h.readUInt32BE(0);
    const optionsLength = h.readUInt32BE(4);
    const bodyLength = h.readUInt32BE(8);
    if (optionsLength > this.maxOptionsLength) {
      throw new ProtocolError('frame', `options length ${optionsLength} exceeds cap ${this.maxOptionsLength}`);
    }
    const total = FRAME_HEADER_LENGTH + optionsLength + bodyLength;
    if (total > this.maxFrameSize) {
      throw new ProtocolError('frame', `frame of ${total} bytes exceeds cap ${this.maxFrameSize}`);
    }
    return { code, optionsLength, bodyLength };
  }

  /** Removes n buffered bytes (n ≤ buffered); zero-copy when they sit in one chunk. */
  private take(n: number): Buffer {
    if (n === 0) return Buffer.alloc(0);
    this.buffered -= n;
    const first = this.chunks[0];
    if (first.length >= n) {
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0];
      const used = Math.min(c.length, n - filled);
      c.copy(out, filled, 0, used);
      filled += used;
      if (used === c.length) this.chunks.shift();
      else this.chunks[0] = c.subarray(used);
    }
    return out;
  }
}

/**
 * One frame as a single Buffer, to be written with one write() so responses never interleave
 * (§4, §9.2). Servers send no options (§4); `options` exists for tests and clients.
 */
export function encodeFrame(code: number, body: Buffer, options: Buffer = Buffer.alloc(0)): Buffer {
  if (!Number.isInteger(code) || code < 0 || code > 0xffffffff) {
    throw new ProtocolError('encode', `frame code ${code} out of range`);
  }
  if (body.length > 0xffffffff || options.length > 0xffffffff) {
    throw new ProtocolError('encode', 'frame too large for a 32-bit length');
  }
  const out = Buffer.allocUnsafe(FRAME_HEADER_LENGTH + options.length + body.length);
  out.writeUInt32BE(code, 0);
  out.writeUInt32BE(options.length, 4);
  out.writeUInt32BE(body.length, 8);
  options.copy(out, FRAME_HEADER_LENGTH);
  body.copy(out, FRAME_HEADER_LENGTH + options.length);
  return out;
}

/** §3: answer min(client, ours); for this codec always 0x00, even to newer clients (§13). */
export function negotiateVersion(clientVersion: number): number {
  return Math.min(clientVersion, PROTOCOL_VERSION);
}

/** The one-byte answer to the client's version byte. */
export function versionReply(clientVersion: number): Buffer {
  return Buffer.from([negotiateVersion(clientVersion)]);
}
