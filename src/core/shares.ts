// Unseal shares: the domain master key split M-of-N with Shamir's scheme (shamir-secret-sharing,
// audited). A share's text carries a checksum, so a mistyped share is refused at once; the module
// keeps a digest of every share it issued, so a well-formed share of another domain is refused
// too, alone, and nobody's progress is lost. The collector gathers distinct shares towards the
// threshold for one purpose (unsealing, restoring a backup, recovering a locked-out officer).
import { combine, split } from 'shamir-secret-sharing';
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';

const PREFIX = 'inkan-share-2:';
export const DMK_LEN = 32;
const SHARE_LEN = DMK_LEN + 1;
const CHECK_LEN = 4;

// shamir-secret-sharing checks `x.constructor === Uint8Array`, which a Buffer fails; a view
// over the same bytes passes without making another copy of the secret to zero.
const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);
const checksum = (raw: Buffer) => c.digest('sha256', Buffer.concat([Buffer.from(PREFIX), raw])).subarray(0, CHECK_LEN);

export function encodeShare(share: Uint8Array): string {
  const raw = Buffer.from(share);
  return PREFIX + Buffer.concat([raw, checksum(raw)]).toString('base64url');
}

/** The share's bytes; SHARE_INVALID for anything mistyped (the checksum catches a changed character). */
export function decodeShare(text: unknown): Buffer {
  if (typeof text !== 'string' || !text.trim().startsWith(PREFIX)) throw new HsmError('SHARE_INVALID');
  const body = text.trim().slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(body)) throw new HsmError('SHARE_INVALID');
  const all = Buffer.from(body, 'base64url');
  if (all.length !== SHARE_LEN + CHECK_LEN) throw new HsmError('SHARE_INVALID');
  const raw = all.subarray(0, SHARE_LEN);
  if (!c.timingSafeEqual(checksum(raw), all.subarray(SHARE_LEN))) throw new HsmError('SHARE_INVALID', 'the share\'s checksum does not match: it was mistyped');
  return Buffer.from(raw);
}

/** What the module keeps of a share it issued: a digest bound to the domain (reveals nothing of the share). */
export function shareDigest(domain: string, raw: Buffer): string {
  return c.digest('sha256', Buffer.concat([Buffer.from(`inkan-share-digest\0${domain}\0`), raw])).toString('hex');
}

/** Splits a fresh DMK; shamir-secret-sharing needs at least 2 shares, so 1-of-1 is the key itself plus an x byte. */
export async function splitKey(dmk: Buffer, shares: number, threshold: number): Promise<Uint8Array[]> {
  return shares === 1 ? [Uint8Array.from([...dmk, 1])] : split(u8(dmk), shares, threshold);
}

/** Gathers shares for one purpose until the threshold; then combines them into the DMK. */
export class ShareCollector {
  private given: Buffer[] = [];

  constructor(readonly purpose: string, private readonly threshold: number, private readonly domain: string, private readonly digests: readonly string[]) {}

  get progress(): number { return this.given.length; }

  /** Adds one share; a share that is malformed, not this domain's, or already given is refused alone. */
  add(text: unknown): { complete: boolean; progress: number; threshold: number } {
    const share = decodeShare(text);
    if (this.digests.length && !this.digests.includes(shareDigest(this.domain, share))) {
      share.fill(0);
      throw new HsmError('SHARE_UNKNOWN');
    }
    if (this.given.some((g) => g[DMK_LEN] === share[DMK_LEN])) { share.fill(0); throw new HsmError('SHARE_DUPLICATE'); }
    this.given.push(share);
    return { complete: this.given.length >= this.threshold, progress: this.given.length, threshold: this.threshold };
  }

  /** The DMK from the shares given (the collector is emptied either way); the caller zeroes it. */
  async combine(): Promise<Buffer> {
    const given = this.given;
    this.given = [];
    try {
      if (this.threshold === 1) return Buffer.from(given[0].subarray(0, DMK_LEN));
      const out = await combine(given.map(u8));
      return Buffer.from(out.buffer, out.byteOffset, out.length);
    } catch {
      throw new HsmError('SHARES_WRONG');
    } finally {
      for (const g of given) g.fill(0);
    }
  }

  clear(): void {
    for (const g of this.given) g.fill(0);
    this.given = [];
  }
}
