// Streaming export of the audit chains as NDJSON, one JSON object a line, in constant memory
// (the store is read a page at a time) and linear time. The lines, in order:
//   header · per chain: start, its records in seq order with each stored checkpoint right after
//   the record it names, final (a checkpoint signed at export time) · end.
// verify.ts reads the same lines back one at a time.
import { HsmError } from '../../errors/hsm-error';
import type { AuditHead, AuditRecordRow, AuditStore, CheckpointRow } from '../../keystore/types';
import { AUDIT_SCHEME, AuditRecord, EXPORT_FORMAT, FIELDS, GENESIS } from '../../audit-chain/chain';
export { EXPORT_FORMAT };

/** Records read from the store at a time. Measured on 1.5 M records: 2,000 keeps the heap at
 *  ~25 MiB (a page dies young); 5,000 lets pages reach the old generation (~60 MiB) and is slower. */
export const EXPORT_PAGE = 2000;

export interface ExportRange {
  /** Start every chain at this seq (chains are numbered separately). */
  fromSeq?: number;
  /** Start every chain at its first record at or after this time (ISO 8601). */
  since?: string;
  /** Export only this chain (a node name). */
  chain?: string;
}

export interface ExportOptions extends ExportRange {
  /** The audit public key (PEM), copied into the header for the reader's convenience only. */
  publicKey: string;
  /** Signs "record head.seq of chain has hash head.hash" now, with the audit key. */
  sign(chain: string, head: AuditHead): CheckpointRow | Promise<CheckpointRow>;
  pageSize?: number;
}

export interface HeaderLine { type: 'header'; format: string; scheme: string; publicKey: string; chains: string[]; range: ExportRange; exportedAt: string }
/** Where a chain's records begin: `prev` is the hash of record fromSeq-1 as stored (GENESIS at
 *  seq 1, null if that record is missing), which the first record must link to. */
export interface StartLine { type: 'start'; chain: string; fromSeq: number; prev: string | null }
export type RecordLine = { type: 'record'; chain: string } & AuditRecord;
/** A record whose stored body is not a v2 record at all: exported as found, so it is seen. */
export interface UnreadableLine { type: 'record'; chain: string; seq: number; prev: string; hash: string; unreadable: string }
export type CheckpointLine = { type: 'checkpoint' } & CheckpointRow;
export type FinalLine = { type: 'final' } & CheckpointRow;
export interface EndLine { type: 'end'; chains: number; records: number; checkpoints: number }
export type ExportLine = HeaderLine | StartLine | RecordLine | UnreadableLine | CheckpointLine | FinalLine | EndLine;

interface ChainPlan { chain: string; head: AuditHead; lastCheckpoint?: CheckpointRow; fromSeq: number }
interface Counts { records: number; checkpoints: number }

const line = (l: ExportLine): string => JSON.stringify(l) + '\n';

/** Checks the range and reads each chain's head, then returns the lines to stream. Errors in
 *  the request surface here, before anything is sent. */
export async function openExport(store: AuditStore, opts: ExportOptions): Promise<AsyncGenerator<string, void, undefined>> {
  const range = checkRange(opts);
  const all = await store.chains();
  if (range.chain !== undefined && !all.includes(range.chain)) throw new HsmError('BAD_REQUEST', `there is no audit chain named ${JSON.stringify(range.chain)}`);
  const plans: ChainPlan[] = [];
  for (const chain of range.chain !== undefined ? [range.chain] : all) {
    // The last stored checkpoint is read before the head: a checkpoint is only ever made after
    // its record, so one beyond the head proves records were removed (it goes into the export).
    const lastCheckpoint = await store.lastCheckpoint(chain);
    const head = await store.head(chain);
    const want = range.since !== undefined ? (await store.seqAtTime(chain, range.since)) ?? head.seq + 1 : range.fromSeq ?? 1;
    plans.push({ chain, head, lastCheckpoint, fromSeq: Math.min(want, head.seq + 1) });
  }
  return exportLines(store, opts, range, plans);
}

function checkRange(r: ExportRange): ExportRange {
  if (r.fromSeq !== undefined && r.since !== undefined) throw new HsmError('BAD_REQUEST', 'give a start seq or a start time, not both');
  if (r.fromSeq !== undefined && (!Number.isSafeInteger(r.fromSeq) || r.fromSeq < 1)) throw new HsmError('BAD_REQUEST', 'the start seq must be a whole number from 1');
  let since: string | undefined;
  if (r.since !== undefined) {
    const t = typeof r.since === 'string' ? Date.parse(r.since) : NaN;
    if (Number.isNaN(t)) throw new HsmError('BAD_REQUEST', 'the start time must be an ISO 8601 time');
    since = new Date(t).toISOString();
  }
  if (r.chain !== undefined && (typeof r.chain !== 'string' || r.chain.length === 0 || r.chain.length > 256)) throw new HsmError('BAD_REQUEST', 'the chain must be a node name');
  return { ...(r.fromSeq !== undefined ? { fromSeq: r.fromSeq } : {}), ...(since ? { since } : {}), ...(r.chain !== undefined ? { chain: r.chain } : {}) };
}

async function* exportLines(store: AuditStore, opts: ExportOptions, range: ExportRange, plans: ChainPlan[]): AsyncGenerator<string, void, undefined> {
  yield line({ type: 'header', format: EXPORT_FORMAT, scheme: AUDIT_SCHEME, publicKey: opts.publicKey, chains: plans.map((p) => p.chain), range, exportedAt: new Date().toISOString() });
  const total: Counts = { records: 0, checkpoints: 0 };
  for (const p of plans) {
    const n = yield* chainLines(store, p, opts);
    total.records += n.records;
    total.checkpoints += n.checkpoints;
  }
  yield line({ type: 'end', chains: plans.length, ...total });
}

async function* chainLines(store: AuditStore, p: ChainPlan, opts: ExportOptions): AsyncGenerator<string, Counts, undefined> {
  const pageSize = opts.pageSize ?? EXPORT_PAGE;
  const n: Counts = { records: 0, checkpoints: 0 };
  yield line({ type: 'start', chain: p.chain, fromSeq: p.fromSeq, prev: p.fromSeq === 1 ? GENESIS : await hashAt(store, p.chain, p.fromSeq - 1) });
  // Checkpoint windows tile [fromSeq-1, head] so that every stored checkpoint is listed once;
  // the one at fromSeq-1 (if any) signs the start's prev.
  let cpFrom = p.fromSeq - 1;
  for (let from = p.fromSeq; from <= p.head.seq;) {
    const limit = Math.min(pageSize, p.head.seq - from + 1);
    const page = await store.list(p.chain, from, limit);
    const rows = page.filter((r) => r.seq <= p.head.seq);
    const end = page.length === limit && rows.length === limit ? rows[rows.length - 1].seq : p.head.seq;
    const cps = await store.listCheckpoints(p.chain, cpFrom, end);
    yield* merged(rows, cps, n);
    from = cpFrom = end + 1;
  }
  if (cpFrom <= p.head.seq) yield* merged([], await store.listCheckpoints(p.chain, cpFrom, p.head.seq), n);
  if (p.lastCheckpoint && p.lastCheckpoint.seq > p.head.seq) yield* merged([], [p.lastCheckpoint], n);
  const cp = await opts.sign(p.chain, p.head);
  if (cp.chain !== p.chain || cp.seq !== p.head.seq || cp.hash !== p.head.hash) throw new Error('the export checkpoint does not sign the chain head');
  yield line({ type: 'final', chain: cp.chain, seq: cp.seq, hash: cp.hash, time: cp.time, node: cp.node, signature: cp.signature });
  return n;
}

/** Records in order, each stored checkpoint right after the record it names (or, if that
 *  record is missing, where it would be). */
function* merged(rows: AuditRecordRow[], cps: CheckpointRow[], n: Counts): Generator<string> {
  let i = 0;
  const cpLine = (cp: CheckpointRow) => { n.checkpoints++; return line({ type: 'checkpoint', chain: cp.chain, seq: cp.seq, hash: cp.hash, time: cp.time, node: cp.node, signature: cp.signature }); };
  for (const r of rows) {
    while (i < cps.length && cps[i].seq < r.seq) yield cpLine(cps[i++]);
    n.records++;
    yield recordLine(r);
    while (i < cps.length && cps[i].seq === r.seq) yield cpLine(cps[i++]);
  }
  while (i < cps.length) yield cpLine(cps[i++]);
}

const NAMES = FIELDS.map((f) => `,${JSON.stringify(f)}:`);

/** The record's fields by name, absent ones left out. Built as text from the parsed canonical
 *  array (one line per record makes this the exporter's hot path); every value is re-encoded
 *  by JSON.stringify, so a hostile store row cannot break out of its line. */
function recordLine(r: AuditRecordRow): string {
  let v: unknown[] | undefined;
  try { v = JSON.parse(r.body) as unknown[]; } catch { /* below */ }
  if (!Array.isArray(v) || v.length !== FIELDS.length) return line({ type: 'record', chain: r.chain, seq: r.seq, prev: r.prev, hash: r.hash, unreadable: r.body });
  let s = `{"type":"record","chain":${JSON.stringify(r.chain)},"seq":${JSON.stringify(v[0])},"prev":${JSON.stringify(r.prev)},"hash":${JSON.stringify(r.hash)}`;
  for (let i = 1; i < v.length; i++) if (v[i] !== null) s += NAMES[i] + JSON.stringify(v[i]);
  return s + '}\n';
}

async function hashAt(store: AuditStore, chain: string, seq: number): Promise<string | null> {
  const [r] = await store.list(chain, seq, 1);
  return r && r.seq === seq ? r.hash : null;
}

/** Joins lines into chunks of about `size` characters, for fewer, larger socket writes. */
export async function* inChunks(lines: AsyncIterable<string>, size = 64 * 1024): AsyncGenerator<string, void, undefined> {
  let buf = '';
  for await (const l of lines) {
    buf += l;
    if (buf.length >= size) { yield buf; buf = ''; }
  }
  if (buf) yield buf;
}
