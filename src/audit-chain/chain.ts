// The audit record format (inkan-audit/v2) and its hash chains, shared by the module (which
// appends), the exporter and the offline verifier (which needs nothing but this, src/crypto and
// the public key). There is one chain per node; a record's hash binds its chain, its
// predecessor and its canonical body:
//   record.hash = SHA-256("inkan-audit/v2" ‖ 0 ‖ JSON(chain) ‖ 0 ‖ prev ‖ 0 ‖ canonical body)
// A checkpoint is an Ed25519 signature by the audit key over (chain, seq, hash, time, node).
import * as c from '../crypto/node-crypto';
import type { AuditHead, AuditRecordRow, CheckpointRow } from '../keystore/types';

export const AUDIT_SCHEME = 'inkan-audit/v2';
/** The NDJSON export format (core/audit/export.ts writes it, verify.ts reads it). */
export const EXPORT_FORMAT = 'inkan-audit-export/2';
export const GENESIS = '0'.repeat(64);

/** What one record holds: never key material, plaintexts or passwords (DESIGN.md). */
export interface AuditBody {
  seq: number;
  time: string;
  node: string;
  actor: string;
  role: string;
  face: string;
  /** The partition (tenant) the operation was in; absent for module-level operations. */
  partition?: string;
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

/** A signed statement "record `seq` of `chain` has hash `hash`", made with the audit key. */
export type Checkpoint = CheckpointRow;

/** The sidecar the module keeps outside the store: its latest signed checkpoint per chain, the
 *  anchor `inkan audit verify --after` checks a later export against. */
export interface CheckpointSidecar { chains: Record<string, CheckpointRow> }

/** The canonical field order of v2. Changing it is a new scheme version. */
export const FIELDS: readonly (keyof AuditBody)[] = ['seq', 'time', 'node', 'actor', 'role', 'face', 'partition', 'op', 'object', 'outcome', 'code', 'detail'];
/** Record times are ISO 8601 in UTC with milliseconds, so that text order is time order (seqAtTime). */
const ISO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;
const HEX64 = /^[0-9a-f]{64}$/;

/** Fixed field order (FIELDS), absent fields as null: the same bytes on every implementation. */
export function canonical(body: AuditBody): string {
  return canonicalAt(body, body.seq);
}

/** Written out rather than mapped over FIELDS: this runs once per record on every append,
 *  export and verification, and the literal is several times faster. */
function canonicalAt(b: Omit<AuditBody, 'seq'>, seq: number): string {
  return JSON.stringify([seq ?? null, b.time ?? null, b.node ?? null, b.actor ?? null, b.role ?? null, b.face ?? null, b.partition ?? null,
    b.op ?? null, b.object ?? null, b.outcome ?? null, b.code ?? null, b.detail ?? null]);
}

/** A stored canonical text back to a record body (null fields are left out). */
export function fromCanonical(text: string): AuditBody {
  const values = JSON.parse(text) as unknown[];
  if (!Array.isArray(values) || values.length !== FIELDS.length) throw new Error('not an inkan-audit/v2 record body');
  const body: Record<string, unknown> = {};
  FIELDS.forEach((f, i) => { if (values[i] !== null) body[f] = values[i]; });
  return body as unknown as AuditBody;
}

export function chainHash(chain: string, prev: string, body: AuditBody): string {
  return chainHashOf(chain, prev, canonical(body));
}

/** The same hash from an already canonical text (the store keeps that text as the record). */
export function chainHashOf(chain: string, prev: string, canonicalText: string): string {
  return c.digest('sha256', Buffer.from(`${AUDIT_SCHEME}\0${JSON.stringify(chain)}\0${prev}\0${canonicalText}`)).toString('hex');
}

/** Numbers and hashes `bodies` onto `head` of `chain`: the rows KeyStore.commit's finish()
 *  returns (it runs inside the store transaction, so `head` is the chain's real end). Pure. */
export function linkRecords(chain: string, head: AuditHead, bodies: Omit<AuditBody, 'seq'>[]): AuditRecordRow[] {
  if (!chain) throw new Error('an audit chain needs a name');
  if (!Number.isSafeInteger(head.seq) || head.seq < 0 || !HEX64.test(head.hash)) throw new Error('malformed audit chain head');
  let { seq, hash } = head;
  return bodies.map((b) => {
    if (!ISO_TIME.test(b.time)) throw new Error(`audit record time must be ISO 8601 UTC with milliseconds, not ${JSON.stringify(b.time)}`);
    const body = canonicalAt(b, seq + 1);
    const row: AuditRecordRow = { chain, seq: ++seq, time: b.time, prev: hash, hash: chainHashOf(chain, hash, body), body };
    hash = row.hash;
    return row;
  });
}

/** The bytes a checkpoint signs. JSON keeps the fields unambiguous whatever a node is called. */
export function checkpointMessage(cp: Omit<CheckpointRow, 'signature'>): Buffer {
  return Buffer.from(JSON.stringify([`${AUDIT_SCHEME}/checkpoint`, cp.chain, cp.seq, cp.hash, cp.time, cp.node]));
}

/** Signs `head` of `chain` with the audit key (module side). */
export function signCheckpoint(key: c.KeyObject, chain: string, head: AuditHead, node: string, time = new Date().toISOString()): CheckpointRow {
  const signed = { chain, seq: head.seq, hash: head.hash, time, node };
  return { ...signed, signature: c.signSync(null, checkpointMessage(signed), key).toString('base64') };
}

/** True if `cp` is well formed and signed by `key`. Never throws. */
export function checkpointValid(cp: CheckpointRow, key: c.KeyObject): boolean {
  if (!isCheckpointRow(cp)) return false;
  const { signature, ...signed } = cp;
  try { return c.verifySync(null, checkpointMessage(signed), key, Buffer.from(signature, 'base64')); } catch { return false; }
}

export function isCheckpointRow(v: unknown): v is CheckpointRow {
  const cp = v as Record<string, unknown>;
  return !!cp && typeof cp === 'object' && isChainName(cp.chain) && Number.isSafeInteger(cp.seq) && (cp.seq as number) >= 0
    && typeof cp.hash === 'string' && HEX64.test(cp.hash) && typeof cp.time === 'string' && typeof cp.node === 'string'
    && typeof cp.signature === 'string';
}

/** Chain (node) names reach findings printed on a terminal: printable and bounded. */
export function isChainName(v: unknown): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= 256 && !/[\u0000-\u001f\u007f-\u009f]/.test(v);
}

export function isHash(v: unknown): v is string { return typeof v === 'string' && HEX64.test(v); }

// --- inkan-audit/v1 (Inkan 0.1), read only: old exports keep verifying ----------------------
// v1 had one chain, no partition field, and hashed SHA-256("inkan-audit/v1" ‖ 0 ‖ prev ‖ 0 ‖ body).

export const AUDIT_SCHEME_V1 = 'inkan-audit/v1';
const FIELDS_V1: readonly string[] = ['seq', 'time', 'node', 'actor', 'role', 'face', 'op', 'object', 'outcome', 'code', 'detail'];
export interface RecordV1 { seq: number; prev: string; hash: string; [field: string]: unknown }
export interface CheckpointV1 { seq: number; hash: string; time: string; node: string; signature: string }
export interface VerifyResultV1 { ok: boolean; records: number; checkpoints: number; problem?: string; firstBadSeq?: number }

function hashV1(prev: string, r: RecordV1): string {
  const text = JSON.stringify(FIELDS_V1.map((f) => r[f] ?? null));
  return c.digest('sha256', Buffer.from(`${AUDIT_SCHEME_V1}\0${prev}\0${text}`)).toString('hex');
}

function checkpointValidV1(cp: CheckpointV1, key: c.KeyObject): boolean {
  const msg = Buffer.from(`${AUDIT_SCHEME_V1}/checkpoint\0${cp.seq}\0${cp.hash}\0${cp.time}\0${cp.node}`);
  try { return c.verifySync(null, msg, key, Buffer.from(cp.signature, 'base64')); } catch { return false; }
}

/** Checks a whole v1 export (it was one JSON text, so it fits in memory by construction). */
export function verifyExportV1(records: RecordV1[], checkpoints: CheckpointV1[], publicKeyPem: string): VerifyResultV1 {
  const key = c.publicKeyFromPem(publicKeyPem);
  const fail = (seq: number, problem: string): VerifyResultV1 => ({ ok: false, records: records.length, checkpoints: checkpoints.length, problem, firstBadSeq: seq });
  let prev = GENESIS;
  let expectSeq = records.length ? records[0].seq : 1;
  if (expectSeq !== 1) return fail(1, `records 1-${expectSeq - 1} were removed from the start of the log`);
  const bySeq = new Map<number, RecordV1>();
  for (const r of records) {
    if (r.seq !== expectSeq) {
      if (r.seq < expectSeq) return fail(r.seq, `record ${r.seq} appears twice or was inserted (expected ${expectSeq})`);
      return records.some((x) => x.seq === expectSeq) ? fail(expectSeq, `record ${expectSeq} is out of order (found ${r.seq} in its place)`)
        : fail(expectSeq, `record ${expectSeq} was removed (next present is ${r.seq})`);
    }
    if (r.prev !== prev) return fail(r.seq, `record ${r.seq} does not link to the record before it (inserted, removed or reordered)`);
    if (hashV1(prev, r) !== r.hash) return fail(r.seq, `record ${r.seq} was edited (its hash does not match its content)`);
    bySeq.set(r.seq, r);
    prev = r.hash;
    expectSeq++;
  }
  for (const cp of checkpoints) {
    if (!checkpointValidV1(cp, key)) return fail(cp.seq, `checkpoint at record ${cp.seq} has an invalid signature (forged, edited, or another module's key)`);
    const r = bySeq.get(cp.seq);
    if (!r) return fail(Math.min(cp.seq, expectSeq), `the signed checkpoint at record ${cp.seq} names a record that is missing: records from ${expectSeq} on were removed`);
    if (r.hash !== cp.hash) return fail(cp.seq, `record ${cp.seq} or one before it differs from what was signed at the checkpoint`);
  }
  const last = checkpoints[checkpoints.length - 1];
  if (!last) return fail(records.length ? records[records.length - 1].seq : 1, 'the export has no signed checkpoint');
  if (last.seq !== expectSeq - 1) return fail(last.seq + 1, `records after the final checkpoint (${last.seq}) were added`);
  return { ok: true, records: records.length, checkpoints: checkpoints.length };
}
