// The PKCS#11 listener's resource limits and their defaults (docs/limits.md lists each with its
// option and what happens when it is exceeded). Every connection, byte and timer is bounded here.
import { DEFAULT_MAX_FRAME_SIZE } from '../../protocol/p11rpc';

export interface P11Limits {
  /** Open connections over all peers; one more is refused (closed at once, logged). */
  maxConnections: number;
  /** Open connections of one peer uid (SO_PEERCRED) other than the server's own; 0 = no per-uid limit. */
  maxConnectionsPerUid: number;
  /** The version byte and a successful C_Initialize must arrive within this; 0 = no limit. */
  handshakeTimeoutMs: number;
  /** A connection with no open session and nothing in flight is closed after this quiet time; 0 = never. */
  idleTimeoutMs: number;
  /** Largest frame once C_Initialize has succeeded (header + options + body). */
  maxFrameBytes: number;
  /** Largest frame before that: C_Initialize itself is under 200 bytes. */
  preInitFrameBytes: number;
  /** Request bytes held for all connections at once: partial frames and frames waiting to run. */
  requestBufferBytes: number;
  /** Multi-part input (C_*Update) held for all sessions of all connections at once. */
  multipartBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_P11_LIMITS: Readonly<P11Limits> = Object.freeze({
  maxConnections: 1024,
  maxConnectionsPerUid: 256,
  handshakeTimeoutMs: 10_000,
  idleTimeoutMs: 5 * 60_000,
  maxFrameBytes: DEFAULT_MAX_FRAME_SIZE,
  preInitFrameBytes: 64 * 1024,
  requestBufferBytes: 256 * MiB,
  multipartBytes: 512 * MiB,
});

/** Defaults overridden by whatever is given; a nonsensical value is refused at start-up, not at the first client. */
export function resolveLimits(given: Partial<P11Limits> = {}): P11Limits {
  const limits: P11Limits = { ...DEFAULT_P11_LIMITS };
  for (const [name, value] of Object.entries(given) as [keyof P11Limits, number | undefined][]) {
    if (value === undefined) continue;
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`PKCS#11 limit ${name} must be a whole number ≥ 0, got ${value}`);
    limits[name] = value;
  }
  if (limits.maxConnections < 1) throw new Error('PKCS#11 limit maxConnections must be at least 1');
  if (limits.preInitFrameBytes < 256 || limits.maxFrameBytes < limits.preInitFrameBytes) {
    throw new Error('PKCS#11 frame caps: need 256 ≤ preInitFrameBytes ≤ maxFrameBytes');
  }
  return limits;
}

/** "64MiB", "512KiB", "1GiB" or a plain byte count, for the command line. */
export function parseSize(text: string): number {
  const m = /^(\d+)\s*(B|KiB|MiB|GiB)?$/i.exec(text.trim());
  if (!m) throw new Error(`bad size ${text}: use e.g. 64MiB, 512KiB or a byte count`);
  const unit = { b: 1, kib: 1024, mib: MiB, gib: 1024 * MiB }[(m[2] ?? 'b').toLowerCase() as 'b' | 'kib' | 'mib' | 'gib'];
  return Number(m[1]) * unit;
}
