// Continuation tokens of paged listings (GET /v1/keys?next=…): where the next page starts (a
// phase of the listing and the last id returned), MACed under a DMK-derived key and bound to the
// partition and principal that got it. A token that was altered, made up, or is replayed by
// another user is refused (MARKER_INVALID) rather than read as a position: the store is never
// asked for a range the module did not hand out. Tokens carry ids only, never key material.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';

export interface ListCursor { phase: number; after?: string }

/** Longer tokens are refused before any work. */
export const MAX_CURSOR = 512;

const mac = (key: Buffer, bind: string, body: string) => c.hmac('sha256', key, Buffer.from(`${bind}\0${body}`));

export function encodeCursor(key: Buffer, bind: string, cursor: ListCursor): string {
  const body = Buffer.from(JSON.stringify({ p: cursor.phase, a: cursor.after ?? null })).toString('base64url');
  return `${body}.${mac(key, bind, body).toString('base64url')}`;
}

export function decodeCursor(key: Buffer, bind: string, token: string, phases: number): ListCursor {
  const invalid = () => new HsmError('MARKER_INVALID', 'the continuation token is not valid: start the listing again');
  if (typeof token !== 'string' || token.length > MAX_CURSOR) throw invalid();
  const [body, tag, extra] = token.split('.');
  if (!body || !tag || extra !== undefined) throw invalid();
  const want = mac(key, bind, body);
  const got = Buffer.from(tag, 'base64url');
  if (got.length !== want.length || !c.timingSafeEqual(got, want)) throw invalid();
  let parsed: { p?: unknown; a?: unknown };
  try { parsed = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')); } catch { throw invalid(); }
  const { p, a } = parsed;
  if (!Number.isInteger(p) || (p as number) < 0 || (p as number) >= phases || (a !== null && typeof a !== 'string')) throw invalid();
  return { phase: p as number, after: a ?? undefined };
}
