// The PKCS#11 face's listener: a unix socket (mode 0600 unless configured) speaking the p11-kit RPC
// protocol, for applications that load p11-kit-client.so with P11_KIT_SERVER_ADDRESS=unix:path=…
// It admits connections within a global cap and a per-peer-uid cap (SO_PEERCRED), and owns the
// budgets every connection draws on; the limits are in limits.ts and docs/limits.md. Optionally
// the same face on TCP with mutual TLS (tls-listener.ts), for remote nodes of a cluster's clients
// (inkan p11-stdio --server tcp+tls:…), under the same caps and budgets.
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Hsm } from '../../core/hsm';
import type { Logger } from '../../logger';
import { ByteBudget } from '../byte-budget';
import { P11Connection, type CloseReason } from './connection';
import { resolveLimits, type P11Limits } from './limits';
import { peerCred, peerCredUnavailable } from './peer-cred';
import { SlotTable } from './slots';
import { bindSocketFile, socketFileMode, type SocketFileOptions } from './socket-file';
import { listenP11Tls, type P11TlsOptions, type P11TlsListener } from './tls-listener';

export type RefusalReason = 'max_connections' | 'max_connections_per_uid';

/** Who a per-peer cap counts: a unix peer's uid, or a TLS client's certificate fingerprint. */
export type PeerKey = number | string;

/** What /metrics reads at scrape time. */
export interface P11Stats {
  connections: number;
  sessions: number;
  requestBufferBytes: number;
  multipartBytes: number;
  accepted: number;
  refused: Readonly<Record<RefusalReason, number>>;
  closed: Readonly<Partial<Record<CloseReason, number>>>;
}

export interface P11Listener {
  /** `unix:path=…` with the path percent-encoded as p11-kit expects (§2.1). */
  readonly address: string;
  readonly path: string;
  readonly mode: number;
  readonly gid: number;
  readonly limits: Readonly<P11Limits>;
  /** False when peer uids cannot be read here (then only the global cap applies). */
  readonly perUidLimit: boolean;
  /** The mutual-TLS listener, when configured (`--p11-tls-listen`). */
  readonly tls?: P11TlsListener;
  stats(): P11Stats;
  /** Serves a connection another process accepted (`adopted` listeners; refused once closed). */
  adopt(socket: net.Socket): void;
  close(): Promise<void>;
}

export interface P11ListenerOptions extends SocketFileOptions {
  limits?: Partial<P11Limits>;
  /** Also listen on TCP with mutual TLS (client certificates from `clientCa` only). */
  tls?: P11TlsOptions;
  /** A worker of `inkan serve --workers` (runtime/workers.ts): the primary process owns the socket
   *  file and hands each accepted connection over (`adopt`); this listener binds nothing itself. */
  adopted?: boolean;
}

/** p11-kit percent-encodes every byte outside A–Z a–z 0–9 . - _ / \ (docs/p11kit-rpc.md §2.1). */
export function p11Address(socketPath: string): string {
  const enc = [...Buffer.from(socketPath)].map((b) => /[A-Za-z0-9._\-/\\]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`);
  return `unix:path=${enc.join('')}`;
}

/** One log line per refusal reason at most every REFUSAL_LOG_MS, with the count since the last line: a flood cannot flood the log. */
const REFUSAL_LOG_MS = 10_000;

export class Admission {
  readonly open = new Set<P11Connection>();
  private readonly perUid = new Map<PeerKey, number>();
  readonly refused: Record<RefusalReason, number> = { max_connections: 0, max_connections_per_uid: 0 };
  private readonly unlogged: Record<RefusalReason, number> = { max_connections: 0, max_connections_per_uid: 0 };
  private readonly lastLog: Record<RefusalReason, number> = { max_connections: 0, max_connections_per_uid: 0 };
  accepted = 0;

  /**
   * Peers running as the server's own user are held only by the global cap: they can read its
   * data directory and trace the process anyway, and with the default mode 0600 they are the
   * only peers there are.
   */
  private readonly selfUid = process.getuid?.();

  constructor(private readonly limits: P11Limits, private readonly log: Logger) {}

  /** Why this peer may not connect now, or undefined if it may. */
  check(uid: PeerKey | undefined, pending = 0): RefusalReason | undefined {
    if (this.open.size + pending >= this.limits.maxConnections) return 'max_connections';
    if (uid === undefined || uid === this.selfUid || this.limits.maxConnectionsPerUid === 0) return undefined;
    return (this.perUid.get(uid) ?? 0) >= this.limits.maxConnectionsPerUid ? 'max_connections_per_uid' : undefined;
  }

  admit(conn: P11Connection, uid: PeerKey | undefined): void {
    this.accepted++;
    this.open.add(conn);
    if (uid !== undefined) this.perUid.set(uid, (this.perUid.get(uid) ?? 0) + 1);
  }

  leave(conn: P11Connection, uid: PeerKey | undefined): void {
    if (!this.open.delete(conn) || uid === undefined) return;
    const n = (this.perUid.get(uid) ?? 1) - 1;
    if (n > 0) this.perUid.set(uid, n); else this.perUid.delete(uid);
  }

  refuse(reason: RefusalReason, uid: PeerKey | undefined, pid: number | undefined): void {
    this.refused[reason]++;
    this.unlogged[reason]++;
    const now = Date.now();
    if (now - this.lastLog[reason] < REFUSAL_LOG_MS) return;
    const limit = reason === 'max_connections' ? this.limits.maxConnections : this.limits.maxConnectionsPerUid;
    this.log.warn('p11 connection refused', {
      reason, limit, open: this.open.size, uid, pid, refusedSinceLastLine: this.unlogged[reason],
    });
    this.lastLog[reason] = now;
    this.unlogged[reason] = 0;
  }
}

export async function listenP11(hsm: Hsm, socketPath: string, log: Logger, opts: P11ListenerOptions = {}): Promise<P11Listener> {
  const limits = resolveLimits(opts.limits);
  const requestBudget = new ByteBudget('p11 request buffer', limits.requestBufferBytes);
  const multipartBudget = new ByteBudget('p11 multi-part input', limits.multipartBytes);
  const admission = new Admission(limits, log);
  const closed: Partial<Record<CloseReason, number>> = {};
  const noPeerCred = peerCredUnavailable();
  if (noPeerCred) log.warn('p11 per-uid connection limit off: peer credentials unavailable', { reason: noPeerCred });
  let counter = 0;
  let open = true;
  const slots = new SlotTable(hsm);
  const accept = (socket: net.Socket) => {
    const cred = peerCred(socket);
    const refusal = admission.check(cred?.uid);
    if (refusal) {
      admission.refuse(refusal, cred?.uid, cred?.pid);
      socket.on('error', () => undefined);
      socket.destroy();
      return;
    }
    const conn = new P11Connection(socket, `p11-${++counter}`, hsm, log, slots, {
      limits, requestBudget, multipartBudget, peer: cred,
      onClose: (reason) => { closed[reason] = (closed[reason] ?? 0) + 1; admission.leave(conn, cred?.uid); },
    });
    admission.admit(conn, cred?.uid);
  };
  const server = net.createServer(accept);
  const { mode, gid } = opts.adopted ? socketFileMode(socketPath, opts) : await bindSocketFile(server, socketPath, opts);
  server.on('error', (err) => log.error('p11 listener error', { error: err.message }));
  let tlsListener: P11TlsListener | undefined;
  try {
    tlsListener = opts.tls && await listenP11Tls(opts.tls, limits, admission, log, (socket, peer) => {
      const conn = new P11Connection(socket, `p11-${++counter}`, hsm, log, slots, {
        limits, requestBudget, multipartBudget,
        onClose: (reason) => { closed[reason] = (closed[reason] ?? 0) + 1; admission.leave(conn, peer); },
      });
      admission.admit(conn, peer);
    });
  } catch (err) {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (!opts.adopted) try { fs.unlinkSync(socketPath); } catch { /* already gone */ }
    throw err;
  }
  return {
    address: p11Address(socketPath), path: socketPath, mode, gid, limits, perUidLimit: !noPeerCred, tls: tlsListener,
    adopt: (socket) => { if (open) accept(socket); else socket.destroy(); },
    stats: () => ({
      connections: admission.open.size,
      sessions: [...admission.open].reduce((n, c) => n + c.state.sessions.size, 0),
      requestBufferBytes: requestBudget.used, multipartBytes: multipartBudget.used,
      accepted: admission.accepted, refused: { ...admission.refused }, closed: { ...closed },
    }),
    async close() {
      open = false;
      const done = opts.adopted ? Promise.resolve() : new Promise<void>((resolve) => server.close(() => resolve()));
      const tlsDone = tlsListener?.close();
      for (const c of admission.open) c.destroy();
      await done;
      await tlsDone;
      if (!opts.adopted) try { fs.unlinkSync(socketPath); } catch { /* already gone */ }
    },
  };
}
