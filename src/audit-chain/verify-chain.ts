// The checks on one chain of a streamed export (verify.ts feeds it lines in file order). It keeps
// only the chain's running state — the last record's seq and hash, one record of look-ahead to
// tell a removed record from a reordered one — so memory does not grow with the log.
import type * as c from '../crypto/node-crypto';
import type { CheckpointRow } from '../keystore/types';
import { AuditBody, chainHash, checkpointValid, FIELDS, GENESIS, isCheckpointRow, isHash } from './chain';

export interface ChainReport {
  chain: string;
  ok: boolean;
  /** The first record of the export's range (1 for a whole chain). */
  fromSeq?: number;
  /** The last record present. */
  lastSeq?: number;
  records: number;
  /** Stored checkpoints checked (the final one not counted). */
  checkpoints: number;
  /** The checkpoint signed at export time. */
  final?: CheckpointRow;
  /** The seq of the earlier checkpoint (--after) this chain was found consistent with. */
  consistentWith?: number;
  problem?: string;
  firstBadSeq?: number;
  /** The line of the export where the problem shows (1 = the header). */
  firstBadLine?: number;
}

const RECORD_KEYS = new Set<string>(['type', 'chain', 'prev', 'hash', ...FIELDS]);
type Line = Record<string, unknown>;

function extraField(l: Line): string | undefined {
  for (const k in l) if (!RECORD_KEYS.has(k)) return k;
  return undefined;
}

export class ChainCheck {
  readonly report: ChainReport;
  private started = false;
  private ended = false;
  private expect = 1;
  private last: { seq: number; hash: string | null } = { seq: 0, hash: GENESIS };
  /** A record arrived ahead of `expected` (on `line`): the next one tells removed from reordered. */
  private gap?: { expected: number; found: number; line: number };
  /** The line being checked, set by the reader before each call. */
  line = 0;
  /** A valid stored checkpoint named a record not seen yet. */
  private missingCp?: number;
  /** The range's first link is checked against the earlier checkpoint (its record is not stored). */
  private linkedToAnchor = false;

  constructor(readonly chain: string, private readonly key: c.KeyObject, private readonly anchor?: CheckpointRow,
    /** The header's range: a start seq the export may not begin after, and whether it is
     *  ranged at all (a whole chain must begin at record 1). */
    private readonly wantFrom?: number, private readonly ranged = false) {
    this.report = { chain, ok: true, records: 0, checkpoints: 0 };
  }

  get failed(): boolean { return this.report.problem !== undefined; }

  private fail(seq: number | undefined, problem: string, line = this.line): void {
    if (this.failed) return;
    Object.assign(this.report, { ok: false, problem, ...(seq !== undefined ? { firstBadSeq: seq } : {}), firstBadLine: line });
  }

  start(l: Line): void {
    if (this.started) return this.fail(undefined, `chain ${this.chain} starts twice`);
    const from = l.fromSeq as number;
    if (!Number.isSafeInteger(from) || from < 1 || !(l.prev === null || isHash(l.prev))) return this.fail(undefined, 'its start line is malformed');
    this.started = true;
    this.report.fromSeq = from;
    this.expect = from;
    this.last = { seq: from - 1, hash: l.prev as string | null };
    if (!this.ranged && from !== 1) return this.fail(1, `records 1-${from - 1} were removed from the start of the log (the export starts at ${from})`);
    if (this.wantFrom !== undefined && from > this.wantFrom) return this.fail(this.wantFrom, `the export was asked to start at record ${this.wantFrom} but starts at ${from}`);
    if (from === 1 && l.prev !== GENESIS) return this.fail(1, 'record 1 does not start from the genesis hash');
    if (l.prev === null) {
      // The record before the range is gone from the store; an earlier checkpoint naming it can
      // still anchor the range's first link.
      if (this.anchor?.seq !== from - 1) return this.fail(from - 1, `record ${from - 1}, which the export starts after, is missing from the log`);
      this.last = { seq: from - 1, hash: this.anchor.hash };
      this.linkedToAnchor = true;
      return;
    }
    if (this.anchor && this.anchor.seq === from - 1 && this.anchor.hash !== l.prev) {
      return this.fail(from - 1, `rolled back or rewritten: record ${from - 1} differs from the earlier checkpoint`);
    }
    if (this.anchor && this.anchor.seq < from - 1) {
      this.fail(from, `cannot be checked against the earlier checkpoint at record ${this.anchor.seq}: this export starts at record ${from}, not at or before ${this.anchor.seq + 1}`);
    }
  }

  record(l: Line): void {
    const seq = l.seq as number;
    if (!Number.isSafeInteger(seq) || !isHash(l.prev) || !isHash(l.hash)) return this.fail(undefined, 'a record line is malformed');
    if (!this.started) return this.fail(seq, `record ${seq} comes before the chain's start line`);
    if (this.ended) return this.fail(seq, `records after the final checkpoint (${this.report.final!.seq}) were added`);
    if (this.gap) return this.resolveGap(seq);
    if (this.missingCp !== undefined) {
      return seq === this.expect && seq <= this.missingCp
        ? this.fail(this.missingCp, `the signed checkpoint at record ${this.missingCp} is out of place (before record ${seq})`)
        : this.fail(this.expect, `record ${this.expect} was removed (a signed checkpoint names record ${this.missingCp}; the log goes on at ${seq})`);
    }
    if (seq < this.expect) return this.fail(seq, `record ${seq} appears twice or was inserted (expected ${this.expect})`);
    if (seq > this.expect) { this.gap = { expected: this.expect, found: seq, line: this.line }; return; }
    if ('unreadable' in l) return this.fail(seq, `record ${seq} was edited (its stored body is not a record)`);
    const extra = extraField(l);
    if (extra) return this.fail(seq, `record ${seq} was edited (it has a field "${extra}" that records do not have)`);
    if (l.prev !== this.last.hash) {
      if (this.linkedToAnchor && seq === this.report.fromSeq) return this.fail(seq - 1, `rolled back or rewritten: record ${seq - 1} differs from the earlier checkpoint`);
      return this.fail(seq, seq === this.report.fromSeq && seq > 1
        ? `record ${seq} does not link to record ${seq - 1}, which the export starts after (its first link was changed)`
        : `record ${seq} does not link to the record before it (inserted, removed or reordered)`);
    }
    if (chainHash(this.chain, l.prev, l as unknown as AuditBody) !== l.hash) return this.fail(seq, `record ${seq} was edited (its hash does not match its content)`);
    if (this.anchor && this.anchor.seq === seq && this.anchor.hash !== l.hash) {
      return this.fail(seq, `rolled back or rewritten: record ${seq} differs from the earlier checkpoint`);
    }
    this.last = { seq, hash: l.hash };
    this.expect++;
    this.report.records++;
    this.report.lastSeq = seq;
  }

  /** The gap shows on the line of the record found in the missing one's place. */
  private resolveGap(next: number): void {
    const { expected, found, line } = this.gap!;
    if (next === expected) return this.fail(expected, `record ${expected} is out of order (found ${found} in its place)`, line);
    if (next > expected && next < found) return this.fail(expected, `record ${expected} is out of order or was removed (found ${found}, then ${next})`, line);
    const which = found - expected > 1 ? `records ${expected}-${found - 1} were` : `record ${expected} was`;
    this.fail(expected, `${which} removed (next present is ${found})`, line);
  }

  checkpoint(l: Line): void {
    const cp = this.checked(l, 'checkpoint');
    if (!cp) return;
    if (this.ended) return this.fail(cp.seq, `a checkpoint comes after the final checkpoint`);
    if (cp.seq === this.last.seq && cp.hash !== this.last.hash) {
      return this.fail(cp.seq, this.linkedToAnchor && this.report.records === 0
        ? `rolled back or rewritten: record ${cp.seq} differs from the earlier checkpoint`
        : `record ${cp.seq} or one before it differs from what was signed at the checkpoint`);
    }
    if (cp.seq < this.last.seq) return this.fail(cp.seq, `the signed checkpoint at record ${cp.seq} is out of place (after record ${this.last.seq})`);
    if (cp.seq > this.last.seq && this.missingCp === undefined) this.missingCp = cp.seq;
    this.report.checkpoints++;
  }

  final(l: Line): void {
    const cp = this.checked(l, 'final checkpoint');
    if (!cp) return;
    if (this.ended) return this.fail(cp.seq, 'the chain has two final checkpoints');
    this.ended = true;
    this.report.final = cp;
    const end = this.last.seq;
    if (this.missingCp !== undefined) return this.fail(end + 1, `truncated: the log ends at seq ${end}, but a signed checkpoint names record ${this.missingCp}`);
    if (cp.seq > end) return this.fail(end + 1, `the signed final checkpoint names record ${cp.seq}, which is missing: records from ${end + 1} on were removed`);
    if (cp.seq < end) return this.fail(cp.seq + 1, `records after the final checkpoint (${cp.seq}) were added`);
    if (cp.hash !== this.last.hash) return this.fail(cp.seq, `record ${cp.seq} or one before it differs from what was signed at the final checkpoint`);
    if (this.anchor && cp.seq < this.anchor.seq) return this.fail(cp.seq + 1, `truncated: the log now ends at seq ${cp.seq}, before the earlier checkpoint at ${this.anchor.seq}`);
    if (this.anchor) this.report.consistentWith = this.anchor.seq;
  }

  /** The common checks of a checkpoint line; undefined (and the chain failed) if one fails. */
  private checked(l: Line, what: string): CheckpointRow | undefined {
    const { type: _type, ...cp } = l;
    if (!isCheckpointRow(cp) || Object.keys(cp).length !== 6) { this.fail(undefined, `a ${what} line is malformed`); return undefined; }
    if (!this.started) { this.fail(cp.seq, `a ${what} comes before the chain's start line`); return undefined; }
    if (this.gap) { this.resolveGap(-1); return undefined; }
    if (!checkpointValid(cp, this.key)) { this.fail(cp.seq, `the ${what} at record ${cp.seq} has an invalid signature (forged, edited, or another module's key)`); return undefined; }
    return cp;
  }

  /** At the end of the file. */
  close(): void {
    if (!this.started) return this.fail(undefined, `chain ${this.chain} is listed in the header but is not in the export (removed)`);
    if (this.gap) return this.resolveGap(-1);
    if (!this.ended) this.fail(this.last.seq + 1, `the export has no signed final checkpoint for chain ${this.chain} (cut off, or records were added or removed after it)`);
  }
}
