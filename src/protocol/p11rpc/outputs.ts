// Output buffers and size queries (docs/p11kit-rpc.md §7): how a request says how much room the
// application has (`fy`, `fu`), and how a response says "here are the bytes" or "this is
// only the size" (`ay`/`au` with present = 0). The fit* helpers apply §7's tables.
import type { Ulong } from './structs';

/** A decoded `fy`/`fu` capacity. A client claim: never allocate from it. */
export interface OutputBufferHint {
  /** Bytes (`fy`) or elements (`fu`) the application's buffer holds. */
  readonly capacity: number;
  /**
   * True when the application passed no buffer (capacity 0). 0.24.1 cannot tell that from a
   * zero-length buffer and servers treat both as a size query (§7.1); 0.25 clients send a
   * zero-length non-NULL buffer as 0xffffffff, decoded as { capacity: 0, sizeQuery: false } (§13).
   */
  readonly sizeQuery: boolean;
}

/** An `ay` response value: the bytes (present = 1) or only their length (present = 0). */
export type BytesOutput = Buffer | { readonly lengthOnly: number };
/** An `au` response value: the values (present = 1) or only their count (present = 0). */
export type UlongsOutput = readonly Ulong[] | { readonly countOnly: number };

export function lengthOnly(length: number): BytesOutput {
  return { lengthOnly: length };
}

export function countOnly(count: number): UlongsOutput {
  return { countOnly: count };
}

/**
 * §7.1 table: send the bytes only if the application supplied a buffer that holds them;
 * otherwise only the length (a success, never ERROR(CKR_BUFFER_TOO_SMALL)). When this
 * returns a length only, the operation must stay active (§7.1).
 */
export function fitBytes(hint: OutputBufferHint, result: Buffer): BytesOutput {
  return !hint.sizeQuery && hint.capacity >= result.length ? result : { lengthOnly: result.length };
}

/**
 * §7.2 for C_GetSlotList / C_GetMechanismList: the values if they fit (including the empty
 * list), else the count only. C_FindObjects must instead always send values, at most
 * `capacity` of them (§7.2): slice the handles and send the array.
 */
export function fitUlongs(hint: OutputBufferHint, values: readonly Ulong[]): UlongsOutput {
  return hint.capacity >= values.length ? values : { countOnly: values.length };
}

/** Whether a value is the length-only form (for code that inspects a BytesOutput). */
export function isLengthOnly(v: BytesOutput): v is { readonly lengthOnly: number } {
  return !Buffer.isBuffer(v);
}
