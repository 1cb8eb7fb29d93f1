// The audit record format and its hash chain, shared by the module (which appends) and the
// offline verifier (which needs nothing but this file, src/crypto and the public key).
// record.hash = SHA-256("inkan-audit/v1" ‖ 0 ‖ prev ‖ 0 ‖ canonical JSON of the record body).
import * as c from '../../crypto/node-crypto';
import type { AuditHead, AuditRecordRow } from '../../keystore/types';

export const AUDIT_SCHEME = 'inkan-audit/v2';
export const GENESIS = '0'.repeat(64);

/** What one record holds: never key material, plaintexts or passwords (DESIGN.md). */
export interface AuditBody {
  seq: number;
  time: string;
  node: string;
  partition?: string;
  actor: string;
  role: string;
  face: string;
  op: string;
  object?: string;
  outcome: 'success' | 'failure';
  code?: string;
  detail?: string;
}

export interface AuditRecord extends AuditBody {
  prev: string;
  hash: string;
}

/** A signed statement "record `seq` has hash `hash`", made with the audit key. */
export interface Checkpoint {
  seq: number;
  hash: string;
  time: string;
  node: string;
  signature: string;
}

const FIELDS: (keyof AuditBody)[] = ['seq', 'time', 'node', 'partition', 'actor', 'role', 'face', 'op', 'object', 'outcome', 'code', 'detail'];

/** Fixed field order, absent fields as null: the same bytes on every implementation. */
export function canonical(body: AuditBody): string {
  return JSON.stringify(FIELDS.map((f) => body[f] ?? null));
}

export function chainHash(prev: string, body: AuditBody): string {
  return chainHashOf(prev, canonical(body));
}

/** The same hash from an already canonical text (the module stores that text as the record). */
export function chainHashOf(prev: string, canonicalText: string): string {
  return c.digest('sha256', Buffer.from(`${AUDIT_SCHEME}\0${prev}\0${canonicalText}`)).toString('hex');
}

/** A stored canonical text back to a record body. */
export function fromCanonical(text: string): AuditBody {
  const values = JSON.parse(text) as unknown[];
  const body: Record<string, unknown> = {};
  FIELDS.forEach((f, i) => { if (values[i] !== null) body[f] = values[i]; });
  return body as unknown as AuditBody;
}

export function checkpointMessage(cp: Omit<Checkpoint, 'signature'>): Buffer {
  return Buffer.from(`${AUDIT_SCHEME}/checkpoint\0${cp.seq}\0${cp.hash}\0${cp.time}\0${cp.node}`);
}

export interface VerifyResult {
  ok: boolean;
  records: number;
  checkpoints: number;
  /** The first problem found, naming the record. */
  problem?: string;
  firstBadSeq?: number;
}

/** Checks an exported log offline: every link, every checkpoint signature, and that the last
 *  checkpoint (made at export time) still matches the end of the log. */
export function verifyExport(records: AuditRecord[], checkpoints: Checkpoint[], publicKeyPem: string): VerifyResult {
  const key = c.publicKeyFromPem(publicKeyPem);
  const fail = (seq: number, problem: string): VerifyResult => ({ ok: false, records: records.length, checkpoints: checkpoints.length, problem, firstBadSeq: seq });
  let prev = GENESIS;
  let expectSeq = records.length ? records[0].seq : 1;
  if (expectSeq !== 1) return fail(1, `records 1-${expectSeq - 1} were removed from the start of the log`);
  const bySeq = new Map<number, AuditRecord>();
  for (const r of records) {
    if (r.seq !== expectSeq) {
      if (r.seq < expectSeq) return fail(r.seq, `record ${r.seq} appears twice or was inserted (expected ${expectSeq})`);
      const later = records.some((x) => x.seq === expectSeq);
      return later ? fail(expectSeq, `record ${expectSeq} is out of order (found ${r.seq} in its place)`)
        : fail(expectSeq, `record ${expectSeq} was removed (next present is ${r.seq})`);
    }
    if (r.prev !== prev) return fail(r.seq, `record ${r.seq} does not link to the record before it (inserted, removed or reordered)`);
    if (chainHash(prev, r) !== r.hash) return fail(r.seq, `record ${r.seq} was edited (its hash does not match its content)`);
    bySeq.set(r.seq, r);
    prev = r.hash;
    expectSeq++;
  }
  for (const cp of checkpoints) {
    const { signature, ...signed } = cp;
    const validSig = (() => { try { return c.verifySync(null, checkpointMessage(signed), key, Buffer.from(signature, 'base64')); } catch { return false; } })();
    if (!validSig) return fail(cp.seq, `checkpoint at record ${cp.seq} has an invalid signature (forged, edited, or another module's key)`);
    const r = bySeq.get(cp.seq);
    if (!r) return fail(Math.min(cp.seq, expectSeq), `the signed checkpoint at record ${cp.seq} names a record that is missing: records from ${expectSeq} on were removed`);
    if (r.hash !== cp.hash) return fail(cp.seq, `record ${cp.seq} or one before it differs from what was signed at the checkpoint`);
  }
  const last = checkpoints[checkpoints.length - 1];
  if (!last) return fail(records.length ? records[records.length - 1].seq : 1, 'the export has no signed checkpoint');
  if (last.seq !== expectSeq - 1) return fail(last.seq + 1, `records after the final checkpoint (${last.seq}) were added`);
  return { ok: true, records: records.length, checkpoints: checkpoints.length };
}

/** Numbers and hashes `bodies` onto a chain's head (called inside the store's commit). */
export function linkRecords(chain: string, head: AuditHead, bodies: Omit<AuditBody, 'seq'>[]): AuditRecordRow[] {
  let { seq, hash } = head;
  return bodies.map((b) => {
    const text = canonical({ ...b, seq: ++seq });
    const h = chainHashOf(hash, text);
    const row = { chain, seq, time: b.time, prev: hash, hash: h, body: text };
    hash = h;
    return row;
  });
}
