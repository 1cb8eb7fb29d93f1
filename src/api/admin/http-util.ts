// Small HTTP helpers for the admin API: bounded JSON bodies and JSON answers.
import * as fs from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HsmError } from '../../errors/hsm-error';
import type { BodyHold } from '../body-budget';

/** How a body is read: charged to a memory budget, and the client told to go on (a `100 Continue`)
 *  only once the login and the declared size have been checked. */
export interface BodyOptions { hold?: BodyHold; proceed?: () => void }

/** Bodies of authenticated requests (data to sign or encrypt in base64). */
export const MAX_BODY = 8 * 1024 * 1024;
/** Bodies of requests made before any login (login, init, unseal, restore offers and shares). */
export const MAX_PUBLIC_BODY = 64 * 1024;

/** Reads a JSON object body, refusing more than `max` bytes before buffering them. */
export async function readJson(req: IncomingMessage, max = MAX_BODY, opts: BodyOptions = {}): Promise<Record<string, unknown>> {
  const raw = await readRaw(req, max, opts);
  if (raw.length === 0) return {};
  try {
    const body = JSON.parse(raw.toString('utf8'));
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
    return body as Record<string, unknown>;
  } catch {
    throw new HsmError('BAD_REQUEST', 'the body is not a JSON object');
  }
}

/** Reads a body up to `max` bytes; more is refused before it is buffered, and so is what the
 *  memory budget has no room for. A refused body is not read on: the error answer closes the
 *  connection (sendError), so a client cannot make the server drain an endless upload. */
export function readRaw(req: IncomingMessage, max: number, opts: BodyOptions = {}): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > max) { reject(new HsmError('REQUEST_TOO_LARGE')); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (e: HsmError) => { failed = true; chunks.length = 0; req.pause(); reject(e); };
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > max) { fail(new HsmError('REQUEST_TOO_LARGE')); return; }
      if (opts.hold && !opts.hold.take(chunk.length)) { fail(new HsmError('DEVICE_MEMORY', 'the module holds too many request bodies now; try again later')); return; }
      chunks.push(chunk);
    });
    req.on('error', () => { if (!failed) { failed = true; reject(new HsmError('BAD_REQUEST')); } });
    req.on('end', () => { if (!failed) resolve(Buffer.concat(chunks)); });
    opts.proceed?.();
  });
}

/** Streams a body into `file` (created 0600), refusing more than `max` bytes: never held in memory. */
export function spoolBody(req: IncomingMessage, file: string, max: number, opts: BodyOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    if (Number(req.headers['content-length'] ?? 0) > max) { reject(new HsmError('REQUEST_TOO_LARGE')); return; }
    const out = fs.createWriteStream(file, { mode: 0o600, flags: 'wx' });
    let size = 0;
    let failed = false;
    const fail = (e: HsmError) => { if (failed) return; failed = true; req.unpipe(out); req.pause(); out.destroy(); reject(e); };
    req.on('data', (chunk: Buffer) => { size += chunk.length; if (size > max) fail(new HsmError('REQUEST_TOO_LARGE')); });
    req.on('error', () => fail(new HsmError('BAD_REQUEST')));
    out.on('error', () => fail(new HsmError('INTERNAL')));
    out.on('finish', () => { if (!failed) resolve(); });
    req.pipe(out);
    opts.proceed?.();
  });
}

export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(text);
}

/** Streams text chunks as NDJSON (chunked encoding), waiting for 'drain' whenever the socket
 *  buffer is full so memory stays bounded; stops reading when the client goes away. A failure
 *  after the headers destroys the response, so the client sees a cut-off body, not an end. */
export async function sendStream(res: ServerResponse, status: number, chunks: AsyncIterable<string>): Promise<void> {
  res.writeHead(status, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-store' });
  const gone = () => res.destroyed || res.writableEnded;
  try {
    for await (const chunk of chunks) {
      if (gone()) break;
      if (!res.write(chunk)) {
        await new Promise<void>((resolve) => {
          const done = () => { res.off('drain', done); res.off('close', done); resolve(); };
          res.on('drain', done);
          res.on('close', done);
        });
      }
    }
    if (!gone()) res.end();
  } catch (err) {
    res.destroy();
    throw err;
  }
}

/** An error answer. If the request's body was not read to its end (refused unread: no login, too
 *  large, no room), the connection is closed after the answer rather than drained. */
export function sendError(res: ServerResponse, err: HsmError): void {
  if (!res.req.complete) res.setHeader('connection', 'close');
  sendJson(res, err.status, { error: { code: err.code, message: err.message } });
}

// --- typed field access: a wrong type is a clear BAD_REQUEST, never a crash ---------------
export function str(body: Record<string, unknown>, name: string, required = true): string | undefined {
  const v = body[name];
  if (v === undefined || v === null) { if (required) throw new HsmError('BAD_REQUEST', `${name} is required`); return undefined; }
  if (typeof v !== 'string') throw new HsmError('BAD_REQUEST', `${name} must be a string`);
  return v;
}
export function int(body: Record<string, unknown>, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new HsmError('BAD_REQUEST', `${name} must be an integer`);
  return v;
}
export function bool(body: Record<string, unknown>, name: string): boolean | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw new HsmError('BAD_REQUEST', `${name} must be true or false`);
  return v;
}
export function bytes(body: Record<string, unknown>, name: string, required = true): Buffer | undefined {
  const v = str(body, name, required);
  if (v === undefined) return undefined;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(v)) throw new HsmError('BAD_REQUEST', `${name} must be base64`);
  return Buffer.from(v, 'base64');
}
export function strList(body: Record<string, unknown>, name: string): string[] | undefined {
  const v = body[name];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string')) throw new HsmError('BAD_REQUEST', `${name} must be a list of strings`);
  return v as string[];
}
export function obj(body: Record<string, unknown>, name: string): Record<string, unknown> {
  const v = body[name];
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw new HsmError('BAD_REQUEST', `${name} must be an object`);
  return v as Record<string, unknown>;
}
