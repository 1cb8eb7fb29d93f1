// The offline verifier of audit exports (`inkan audit verify`): reads an export one line at a
// time and keeps only per-chain state (verify-chain.ts), so a log of any size verifies in
// constant memory; each finding names the line of the export where it shows. With earlier
// checkpoints (--after) it also proves the log only grew since (Certificate Transparency's
// consistency check, RFC 9162 §2.1.4, done on a hash chain).
// Old inkan-audit/v1 exports (one JSON object) still verify.
import { constants as bufferConstants } from 'node:buffer';
import * as c from '../crypto/node-crypto';
import type { CheckpointRow } from '../keystore/types';
import { AUDIT_SCHEME, AUDIT_SCHEME_V1, checkpointValid, EXPORT_FORMAT, isChainName, isCheckpointRow, verifyExportV1 } from './chain';
import { ChainCheck, ChainReport } from './verify-chain';

export type { ChainReport } from './verify-chain';

/** Longest line accepted: records are a few hundred bytes; the header holds one PEM key. */
export const MAX_LINE = 1 << 20;
export const MAX_CHAINS = 10_000;
/** A v1 export was one JSON text, so V8's string limit (~512 MiB) bounded it. */
const MAX_V1_BYTES = bufferConstants.MAX_STRING_LENGTH;
const MAX_ANCHOR_FILE = 16 * 1024 * 1024;

/** The input is not an audit export (or checkpoint) at all: a usage error, not a finding. */
export class ExportFormatError extends Error {}

export interface VerifyOptions {
  /** The module's audit public key (PEM), obtained apart from the export. */
  publicKey: string;
  /** Earlier checkpoints the export must be consistent with (readAnchors). */
  anchors?: CheckpointRow[];
}

export interface VerifyReport {
  ok: boolean;
  scheme: string;
  records: number;
  checkpoints: number;
  chains: ChainReport[];
  /** Every finding: the first problem of each chain, then problems of the file itself. */
  findings: Finding[];
  /** The first finding, as one sentence. */
  problem?: string;
}

/** `line`: where in the export it shows (1 = the header), for a finding about its content. */
export interface Finding { chain?: string; problem: string; seq?: number; line?: number }

type Line = Record<string, unknown>;
/** Bytes as read from a file or an HTTP body (Buffers are Uint8Arrays). */
export type Chunks = AsyncIterable<Uint8Array | string>;

/** Feeds lines to per-chain checks. push() each line in order, then finish(). */
export class ExportVerifier {
  private readonly checks = new Map<string, ChainCheck>();
  private readonly anchors = new Map<string, CheckpointRow>();
  private readonly problems: Finding[] = [];
  private headerSeen = false;
  private end?: Line;
  private lineNo = 0;
  private stopped = false;

  constructor(private readonly key: c.KeyObject, anchors: CheckpointRow[] = []) {
    for (const a of anchors) {
      if (checkpointValid(a, key)) this.anchors.set(a.chain, a);
      else this.problems.push({ chain: a.chain, seq: a.seq, problem: `the earlier checkpoint for chain ${a.chain} (record ${a.seq}) has an invalid signature` });
    }
  }

  /** Stops at a problem with the file itself (damaged, not an export line); the message names its line. */
  stop(problem: string, line: number | undefined = this.lineNo || undefined): void {
    if (!this.stopped) this.problems.push({ problem, ...(line !== undefined ? { line } : {}) });
    this.stopped = true;
  }

  push(text: string): void {
    const n = ++this.lineNo;
    if (this.stopped || (text.charCodeAt(0) !== 123 /* { */ && text.trim() === '')) return;
    let l: Line;
    try { l = JSON.parse(text) as Line; } catch { return this.stop(`line ${n} is not JSON (the file is damaged or was edited)`); }
    if (!l || typeof l !== 'object' || Array.isArray(l)) return this.stop(`line ${n} is not an export line`);
    if (!this.headerSeen) return this.header(l);
    if (this.end) return this.stop(`line ${n} comes after the end line (added)`);
    switch (l.type) {
      case 'start': case 'record': case 'checkpoint': case 'final': {
        const check = typeof l.chain === 'string' ? this.checks.get(l.chain) : undefined;
        if (!check) return this.stop(`line ${n} names chain ${shown(l.chain)}, which the header does not list`);
        if (!check.failed) { check.line = n; check[l.type](l); }
        return;
      }
      case 'end': this.end = l; return;
      default: return this.stop(`line ${n} has an unknown type ${shown(l.type)}`);
    }
  }

  private header(l: Line): void {
    this.headerSeen = true;
    if (l.type !== 'header') return this.stop('the export does not start with its header line');
    if (l.format !== EXPORT_FORMAT || l.scheme !== AUDIT_SCHEME) return this.stop(`unsupported export format ${shown(l.format)} / ${shown(l.scheme)}`);
    const chains = l.chains;
    const range = (l.range ?? {}) as { fromSeq?: unknown; since?: unknown; chain?: unknown };
    if (!Array.isArray(chains) || chains.length > MAX_CHAINS || !chains.every(isChainName) || new Set(chains).size !== chains.length
      || typeof range !== 'object' || (range.fromSeq !== undefined && !Number.isSafeInteger(range.fromSeq))) {
      return this.stop('the header line is malformed');
    }
    if (range.chain !== undefined && (chains.length !== 1 || chains[0] !== range.chain)) return this.stop(`the export was asked for chain ${shown(range.chain)} only, but its header lists ${chains.length} chains`);
    const ranged = range.fromSeq !== undefined || range.since !== undefined;
    for (const name of chains as string[]) {
      this.checks.set(name, new ChainCheck(name, this.key, this.anchors.get(name), range.fromSeq as number | undefined, ranged));
    }
  }

  finish(): VerifyReport {
    if (!this.headerSeen) this.stop('the file is empty');
    const chains = [...this.checks.values()];
    if (!this.stopped) {
      for (const ch of chains) if (!ch.failed) { ch.line = this.lineNo; ch.close(); }
      if (!this.end) this.problems.push({ problem: 'the export has no end line: it was cut off' });
      else if (chains.every((ch) => !ch.failed)) this.checkCounts(chains);
    }
    for (const [name, a] of this.anchors) {
      if (!this.checks.has(name)) this.problems.push({ chain: name, seq: a.seq, problem: `chain ${name} missing: the earlier checkpoint names it at record ${a.seq}, and this export has no chain ${name}` });
    }
    const findings: Finding[] = [...chains.filter((ch) => ch.failed).map((ch) => ({ chain: ch.chain, problem: ch.report.problem!, seq: ch.report.firstBadSeq, line: ch.report.firstBadLine })), ...this.problems];
    return {
      ok: findings.length === 0, scheme: AUDIT_SCHEME, findings, ...(findings.length ? { problem: sentence(findings[0]) } : {}),
      records: chains.reduce((s, ch) => s + ch.report.records, 0),
      checkpoints: chains.reduce((s, ch) => s + ch.report.checkpoints, 0),
      chains: chains.map((ch) => ch.report),
    };
  }

  /** The end line is not signed; it only tells a cut or padded file from a complete one. */
  private checkCounts(chains: ChainCheck[]): void {
    const e = this.end!;
    const records = chains.reduce((s, ch) => s + ch.report.records, 0);
    const checkpoints = chains.reduce((s, ch) => s + ch.report.checkpoints, 0);
    if (e.chains !== chains.length || e.records !== records || e.checkpoints !== checkpoints) {
      this.problems.push({ problem: `the end line counts ${String(e.chains)} chains, ${String(e.records)} records and ${String(e.checkpoints)} checkpoints, `
        + `but the export holds ${chains.length}, ${records} and ${checkpoints}` });
    }
  }
}

/** Verifies an export read as a stream of chunks (a file, an HTTP body). Throws
 *  ExportFormatError if it is not an export at all; every finding is in the report. */
export async function verifyExport(chunks: Chunks, opts: VerifyOptions): Promise<VerifyReport> {
  const key = publicKey(opts.publicKey);
  const src = await peekFirstLine(chunks);
  if (!isHeader(src.first) && !isExportLine(src.first)) {
    if (opts.anchors?.length) { await src.close(); throw new ExportFormatError('--after checks inkan-audit/v2 exports (NDJSON); this file is not one'); }
    return verifyV1(await readAll(src.all(), MAX_V1_BYTES, 'an inkan-audit/v1 export'), opts.publicKey);
  }
  const v = new ExportVerifier(key, opts.anchors);
  try {
    // Lines are split and checked synchronously within each chunk: the chunk is all that is held.
    const split = new LineSplitter();
    for await (const chunk of src.all()) for (const line of split.lines(chunk)) v.push(line);
    const rest = split.rest();
    if (rest !== undefined) v.push(rest);
  } catch (err) {
    if (!(err instanceof LineTooLong)) throw err;
    v.stop(`line ${err.lineNo} is longer than ${MAX_LINE} bytes (not an export line)`, err.lineNo);
  }
  return v.finish();
}

/** Earlier checkpoints for --after, from an earlier export (its final checkpoint per chain), a
 *  checkpoint JSON (a CheckpointRow, or a line copied from an export), or the module's sidecar
 *  `{ chains: { [chain]: CheckpointRow } }`. Signatures are checked by the verifier. */
export async function readAnchors(chunks: Chunks): Promise<CheckpointRow[]> {
  const src = await peekFirstLine(chunks);
  if (isHeader(src.first)) {
    const finals = new Map<string, CheckpointRow>();
    let lineNo = 0;
    for await (const text of splitLines(src.all())) {
      lineNo++;
      if (!text.includes('"final"')) continue;
      let l: Line;
      try { l = JSON.parse(text) as Line; } catch { throw new ExportFormatError(`the earlier export is damaged (line ${lineNo} is not JSON)`); }
      const { type, ...cp } = l;
      if (type === 'final' && isCheckpointRow(cp)) finals.set(cp.chain, { chain: cp.chain, seq: cp.seq, hash: cp.hash, time: cp.time, node: cp.node, signature: cp.signature });
    }
    if (!finals.size) throw new ExportFormatError('the earlier export has no final checkpoint');
    return [...finals.values()];
  }
  const text = (await readAll(src.all(), MAX_ANCHOR_FILE, 'a checkpoint file')).toString('utf8');
  let v: Line;
  try { v = JSON.parse(text) as Line; } catch { throw new ExportFormatError('the earlier file is neither an audit export nor a checkpoint JSON'); }
  if (v?.scheme === AUDIT_SCHEME_V1) throw new ExportFormatError('an inkan-audit/v1 export cannot anchor an inkan-audit/v2 log');
  const one = stripType(v);
  if (isCheckpointRow(one)) return [one];
  const list = v && typeof v.chains === 'object' && v.chains !== null && !Array.isArray(v.chains) ? Object.entries(v.chains as Record<string, unknown>) : [];
  if (!list.length) throw new ExportFormatError('the earlier file holds no checkpoint');
  return list.map(([name, cp]) => {
    if (!isCheckpointRow(cp) || cp.chain !== name) throw new ExportFormatError(`the earlier checkpoint for chain ${shown(name)} is malformed`);
    return cp;
  });
}

/** "record 5 was edited (...) [chain node-1, line 7]" */
export function sentence(f: Finding): string {
  const where = [
    ...(f.chain && !f.problem.includes(`chain ${f.chain}`) ? [`chain ${f.chain}`] : []),
    ...(f.line !== undefined && !/\bline \d/.test(f.problem) ? [`line ${f.line}`] : []),
  ];
  return where.length ? `${f.problem} [${where.join(', ')}]` : f.problem;
}

/** A value from the file, quoted and cut short, for a message (no control characters get through). */
function shown(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return (s.length > 80 ? `${s.slice(0, 80)}…` : s).replace(/[\u007f-\u009f]/g, '?');
}

function stripType(v: Line): unknown {
  if (!v || (v.type !== 'final' && v.type !== 'checkpoint')) return v;
  const { type: _t, ...rest } = v;
  return rest;
}

function publicKey(pem: string): c.KeyObject {
  try { return c.publicKeyFromPem(pem); } catch { throw new ExportFormatError('the public key is not a PEM public key'); }
}

function isHeader(first: string): boolean {
  try { return (JSON.parse(first) as Line)?.type === 'header'; } catch { return false; }
}

/** An NDJSON export line other than the header (a v2 export whose header was damaged). */
function isExportLine(first: string): boolean {
  try { const l = JSON.parse(first) as Line; return !!l && typeof l === 'object' && typeof l.type === 'string'; } catch { return false; }
}

function verifyV1(data: Buffer, pem: string): VerifyReport {
  let e: { scheme?: unknown; records?: unknown; checkpoints?: unknown };
  try { e = JSON.parse(data.toString('utf8')); } catch { throw new ExportFormatError('the file is not an audit export'); }
  if (e?.scheme !== AUDIT_SCHEME_V1 || !Array.isArray(e.records) || !Array.isArray(e.checkpoints)) throw new ExportFormatError('the file is not an audit export');
  let r;
  try { r = verifyExportV1(e.records, e.checkpoints, pem); } catch { throw new ExportFormatError('the v1 export is malformed'); }
  const chain = isChainName(e.records[0]?.node) ? e.records[0].node : 'v1';
  const report: ChainReport = { chain, ok: r.ok, records: r.records, checkpoints: r.checkpoints, ...(r.problem ? { problem: r.problem, firstBadSeq: r.firstBadSeq } : {}) };
  const findings: Finding[] = r.problem ? [{ chain, problem: r.problem, seq: r.firstBadSeq }] : [];
  return { ok: r.ok, scheme: AUDIT_SCHEME_V1, records: r.records, checkpoints: r.checkpoints, chains: [report], findings, ...(r.problem ? { problem: sentence(findings[0]) } : {}) };
}

// --- bounded line reading ----------------------------------------------------------------

class LineTooLong extends Error { constructor(readonly lineNo: number) { super('line too long'); } }

const toBuffer = (b: string | Uint8Array): Buffer => typeof b === 'string' ? Buffer.from(b) : Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/** Splits bytes at '\n' (a trailing '\r' is kept and is JSON whitespace), one chunk at a time and
 *  synchronously (a line costs no promise). Never holds more than one line plus one chunk; a
 *  line over `max` bytes throws LineTooLong. */
export class LineSplitter {
  private carry: Buffer[] = [];
  private carried = 0;
  private lineNo = 0;

  constructor(private readonly max = MAX_LINE) {}

  /** The lines that `chunk` completes, in order. */
  *lines(chunk: Uint8Array | string): Generator<string, void, undefined> {
    const buf = toBuffer(chunk);
    let from = 0;
    for (let nl = buf.indexOf(10); nl !== -1; nl = buf.indexOf(10, from)) {
      this.lineNo++;
      if (this.carried + nl - from > this.max) throw new LineTooLong(this.lineNo);
      yield this.carried ? Buffer.concat([...this.carry, buf.subarray(from, nl)]).toString('utf8') : buf.toString('utf8', from, nl);
      this.carry = [];
      this.carried = 0;
      from = nl + 1;
    }
    if (from < buf.length) {
      this.carried += buf.length - from;
      if (this.carried > this.max) throw new LineTooLong(this.lineNo + 1);
      this.carry.push(Buffer.from(buf.subarray(from)));
    }
  }

  /** At the end of the input: its last line, if it did not end with '\n'. */
  rest(): string | undefined {
    return this.carried ? Buffer.concat(this.carry).toString('utf8') : undefined;
  }
}

/** The lines of a byte stream (LineSplitter over every chunk). */
export async function* splitLines(chunks: Chunks, max = MAX_LINE): AsyncGenerator<string, void, undefined> {
  const split = new LineSplitter(max);
  for await (const chunk of chunks) yield* split.lines(chunk);
  const rest = split.rest();
  if (rest !== undefined) yield rest;
}

/** Reads up to the first newline (or MAX_LINE bytes), then replays everything read. */
async function peekFirstLine(chunks: Chunks): Promise<{ first: string; all(): AsyncGenerator<Buffer>; close(): Promise<void> }> {
  const it = chunks[Symbol.asyncIterator]();
  const seen: Buffer[] = [];
  let size = 0;
  while (size <= MAX_LINE) {
    const r = await it.next();
    if (r.done) break;
    const b = toBuffer(r.value);
    seen.push(b);
    size += b.length;
    if (b.includes(10)) break;
  }
  const joined = Buffer.concat(seen);
  const nl = joined.indexOf(10);
  const close = async () => { await it.return?.(); };
  return {
    first: joined.subarray(0, nl === -1 ? Math.min(joined.length, MAX_LINE) : nl).toString('utf8'),
    close,
    async *all() {
      try {
        yield joined;
        for (let r = await it.next(); !r.done; r = await it.next()) yield toBuffer(r.value);
      } finally { await close(); }
    },
  };
}

async function readAll(chunks: AsyncIterable<Buffer>, max: number, what: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let size = 0;
  for await (const b of chunks) {
    size += b.length;
    if (size > max) throw new ExportFormatError(`the file is too large for ${what}`);
    parts.push(b);
  }
  return Buffer.concat(parts);
}
