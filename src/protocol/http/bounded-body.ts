// A request body reader that never holds more than a cap, shared by the HTTP faces whose
// transports sit behind one listener (Azure Key Vault, XKS). The face supplies its own errors.
import type { IncomingMessage } from 'node:http';

export interface BodyErrors {
  /** The body is (or declares itself) larger than the cap. */
  tooLarge: () => Error;
  /** The stream failed or closed before the end. */
  unreadable: () => Error;
}

/**
 * Reads the whole body, refusing a declared Content-Length over `maxBytes` before reading and
 * a chunked body as soon as it passes the cap (the stream is paused and the chunks dropped).
 * The caller's error response should then close the connection so the rest is never read.
 */
export function readBoundedBody(req: IncomingMessage, maxBytes: number, errors: BodyErrors): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) return Promise.reject(errors.tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = (): void => {
      req.off('data', onData); req.off('end', onEnd); req.off('error', onFail); req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxBytes) {
        for (const c of chunks) c.fill(0); // the body may hold a plaintext or key material
        chunks.length = 0;
        cleanup();
        req.pause();
        reject(errors.tooLarge());
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => { cleanup(); resolve(Buffer.concat(chunks, total)); };
    const onFail = (): void => { cleanup(); reject(errors.unreadable()); };
    const onClose = (): void => { if (!req.complete) onFail(); };
    req.on('data', onData); req.on('end', onEnd); req.on('error', onFail); req.on('close', onClose);
  });
}

/** The media type of Content-Type, lower-cased, without parameters ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
}

/** True when the body is plain (no Content-Encoding, or `identity`). */
export function identityEncoded(req: IncomingMessage): boolean {
  return (req.headers['content-encoding'] ?? 'identity').trim().toLowerCase() === 'identity';
}
