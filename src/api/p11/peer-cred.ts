// Who is on the other end of an accepted unix socket: getsockopt(SO_PEERCRED) (unix(7)), which
// the kernel fills at connect() time and the peer cannot forge. Node has no API for it, so this
// calls libc through koffi (an FFI library with prebuilt binaries); the fd comes from the
// socket's libuv handle. Where either is unavailable the answer is undefined and callers fall
// back to limits that need no identity (docs/limits.md).
import type { Socket } from 'node:net';

export interface PeerCred { pid: number; uid: number; gid: number }

type Getsockopt = (fd: number, level: number, name: number, out: Record<string, number>, len: number[]) => number;

/** Linux values (asm-generic/socket.h): SOL_SOCKET = 1, SO_PEERCRED = 17; struct ucred is 3 × 32 bits. */
const SOL_SOCKET = 1;
const SO_PEERCRED = 17;
const UCRED_SIZE = 12;

let loaded: { getsockopt?: Getsockopt; reason?: string } | undefined;

function load(): { getsockopt?: Getsockopt; reason?: string } {
  if (loaded) return loaded;
  if (process.platform !== 'linux') return (loaded = { reason: `SO_PEERCRED is Linux-only (platform ${process.platform})` });
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const koffi = require('koffi') as typeof import('koffi');
    const libc = koffi.load('libc.so.6');
    koffi.struct('inkan_ucred', { pid: 'int32', uid: 'uint32', gid: 'uint32' });
    const fn = libc.func('int getsockopt(int fd, int level, int name, _Out_ inkan_ucred *val, _Inout_ uint32_t *len)') as unknown as Getsockopt;
    loaded = { getsockopt: fn };
  } catch (err) {
    loaded = { reason: `cannot call getsockopt through koffi: ${(err as Error).message}` };
  }
  return loaded;
}

/** Why peer credentials are unavailable on this system, or undefined when they work. */
export function peerCredUnavailable(): string | undefined {
  return load().reason;
}

/** The peer's pid/uid/gid, or undefined if they cannot be read (no fd, no FFI, or the call failed). */
export function peerCred(socket: Socket): PeerCred | undefined {
  const { getsockopt } = load();
  // libuv's pipe handle exposes its fd on Unix; an internal but long-stable property.
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  if (!getsockopt || typeof fd !== 'number' || fd < 0) return undefined;
  const out: Record<string, number> = {};
  const len = [UCRED_SIZE];
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, out, len) !== 0 || len[0] !== UCRED_SIZE) return undefined;
  return { pid: out.pid, uid: out.uid, gid: out.gid };
}
