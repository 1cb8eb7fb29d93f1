// The PKCS#11 face's listener: a unix socket (mode 0600) speaking the p11-kit RPC protocol,
// for applications that load p11-kit-client.so with P11_KIT_SERVER_ADDRESS=unix:path=…
import * as fs from 'node:fs';
import * as net from 'node:net';
import type { Hsm } from '../../core/hsm';
import type { Logger } from '../../logger';
import { P11Connection } from './connection';
import { SLOTS } from './slots';

const MAX_CONNECTIONS = 1024;

export interface P11Listener {
  /** `unix:path=…` with the path percent-encoded as p11-kit expects (§2.1). */
  readonly address: string;
  readonly path: string;
  close(): Promise<void>;
}

/** p11-kit percent-encodes every byte outside A–Z a–z 0–9 . - _ / \ (docs/p11kit-rpc.md §2.1). */
export function p11Address(socketPath: string): string {
  const enc = [...Buffer.from(socketPath)].map((b) => /[A-Za-z0-9._\-/\\]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : `%${b.toString(16).padStart(2, '0')}`);
  return `unix:path=${enc.join('')}`;
}

/** Removes a stale socket left by a previous run; refuses to remove anything that is not a socket. */
function clearStale(socketPath: string): void {
  let st: fs.Stats;
  try { st = fs.lstatSync(socketPath); } catch { return; }
  if (!st.isSocket()) throw new Error(`${socketPath} exists and is not a socket`);
  fs.unlinkSync(socketPath);
}

export async function listenP11(hsm: Hsm, socketPath: string, log: Logger): Promise<P11Listener> {
  clearStale(socketPath);
  const connections = new Set<net.Socket>();
  let counter = 0;
  const server = net.createServer((socket) => {
    if (connections.size >= MAX_CONNECTIONS) { socket.destroy(); return; }
    connections.add(socket);
    socket.on('close', () => connections.delete(socket));
    new P11Connection(socket, `p11-${++counter}`, hsm, log, SLOTS);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => { server.off('error', reject); resolve(); });
  });
  server.on('error', (err) => log.error('p11 listener error', { error: err.message }));
  fs.chmodSync(socketPath, 0o600);
  return {
    address: p11Address(socketPath),
    path: socketPath,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of connections) s.destroy();
      await closed;
      try { fs.unlinkSync(socketPath); } catch { /* already gone */ }
    },
  };
}
