// The PKCS#11 socket's file: who may connect is decided by its mode and group (unix(7): connecting
// needs write permission on the socket). The socket is bound inside a fresh 0700 directory, given
// its mode and group there, and renamed into place, so there is no moment at which it exists at
// its public path with looser permissions than asked for.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import type * as net from 'node:net';
import * as path from 'node:path';

export interface SocketFileOptions {
  /** Permission bits, default 0o600 (only the server's user). */
  mode?: number;
  /** Group name or numeric gid to own the socket (with mode 0o660: that group may connect). */
  group?: string;
}

export const DEFAULT_SOCKET_MODE = 0o600;

/** "0660" / "660" / "0o660" → 0o660; only permission bits, never setuid/sticky, never "other" write without "owner" write. */
export function parseSocketMode(text: string): number {
  const m = /^(?:0o?)?([0-7]{3})$/.exec(text.trim());
  if (!m) throw new Error(`bad socket mode ${text}: use octal permission bits, e.g. 0600 or 0660`);
  const mode = parseInt(m[1], 8);
  if ((mode & 0o200) === 0) throw new Error(`socket mode ${text} denies the server's own user`);
  return mode;
}

/** A group name or gid → gid, through the system's name service (getent reads /etc/group, LDAP, …). */
export function resolveGroup(group: string): number {
  if (/^\d+$/.test(group)) return Number(group);
  let line: string;
  try {
    line = execFileSync('getent', ['group', group], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    throw new Error(`unknown group ${group} (getent group found nothing)`);
  }
  const gid = Number(line.split(':')[2]);
  if (!Number.isInteger(gid)) throw new Error(`unknown group ${group}`);
  return gid;
}

/** Refuses to replace anything that is not a socket (a stale socket of an earlier run is replaced). */
function checkTarget(socketPath: string): void {
  let st: fs.Stats;
  try { st = fs.lstatSync(socketPath); } catch { return; }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
}

/** Binds `server` at socketPath with the given mode and group; returns the final mode and gid. */
export async function bindSocketFile(server: net.Server, socketPath: string, opts: SocketFileOptions = {}): Promise<{ mode: number; gid: number }> {
  const mode = opts.mode ?? DEFAULT_SOCKET_MODE;
  const gid = opts.group === undefined ? -1 : resolveGroup(opts.group);
  checkTarget(socketPath);
  const staging = fs.mkdtempSync(path.join(path.dirname(socketPath), '.p11-'));
  const temp = path.join(staging, 's');
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(temp, () => { server.off('error', reject); resolve(); });
    });
    if (gid >= 0) fs.chownSync(temp, -1, gid);
    fs.chmodSync(temp, mode);
    fs.renameSync(temp, socketPath);
  } catch (err) {
    server.close();
    throw err;
  } finally {
    fs.rmSync(staging, { recursive: true, force: true });
  }
  const st = fs.statSync(socketPath);
  return { mode: st.mode & 0o777, gid: st.gid };
}

/** The mode and gid of a socket file another process binds (the primary of `inkan serve --workers`,
 *  which may not have bound it yet: then what it was asked for). */
export function socketFileMode(socketPath: string, opts: SocketFileOptions = {}): { mode: number; gid: number } {
  try {
    const st = fs.statSync(socketPath);
    return { mode: st.mode & 0o777, gid: st.gid };
  } catch {
    return { mode: opts.mode ?? DEFAULT_SOCKET_MODE, gid: opts.group === undefined ? process.getgid?.() ?? -1 : resolveGroup(opts.group) };
  }
}
