// The PKCS#11 face on TCP with mutual TLS (`inkan serve --p11-tls-listen HOST:PORT`), for
// applications on other machines, through `inkan p11-stdio --server tcp+tls:HOST:PORT,…`
// (docs/pkcs11.md "Failover", "Remote connections"). A client must present a certificate that
// chains to the configured CA (--p11-tls-client-ca); without one, or with one from elsewhere, the
// handshake fails and the refusal is logged (reason and address, never a certificate or a key).
// The certificate admits the connection only: the application still logs in with its PIN.
// Bounds: handshakes count against the connection cap while they run and must finish within the
// handshake timeout; a client certificate is one peer for the per-peer cap.
import * as fs from 'node:fs';
import type { Socket } from 'node:net';
import * as tls from 'node:tls';
import type { Logger } from '../../logger';
import type { P11Limits } from './limits';

/** The listener's admission (listener.ts): the caps that hold unix and TLS peers alike. */
export interface TlsAdmission {
  check(peer: string | undefined, pending?: number): string | undefined;
  refuse(reason: 'max_connections' | 'max_connections_per_uid', peer: string | undefined, pid: undefined): void;
}

export interface P11TlsOptions {
  host: string;
  port: number;
  /** PEM certificate chain and private key of this node. */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA bundle that signs the clients' certificates; required (mutual TLS only). */
  clientCa: string | Buffer;
}

export interface P11TlsListener {
  readonly host: string;
  readonly port: number;
  /** `tcp+tls:HOST:PORT`, as `inkan p11-stdio --server` takes it. */
  readonly address: string;
  /** Handshakes refused since start (no certificate, wrong CA, not TLS, too slow). */
  refused(): number;
  close(): Promise<void>;
}

/** Reads the PEM files the CLI options name. */
export function loadP11TlsOptions(files: { host: string; port: number; cert: string; key: string; clientCa: string }): P11TlsOptions {
  return { host: files.host, port: files.port, cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key), clientCa: fs.readFileSync(files.clientCa) };
}

/** One log line per REFUSAL_LOG_MS at most, with the count since the last one. */
const REFUSAL_LOG_MS = 10_000;

export async function listenP11Tls(opts: P11TlsOptions, limits: P11Limits, admission: TlsAdmission, log: Logger,
  accept: (socket: Socket, peer: string) => void): Promise<P11TlsListener> {
  let refused = 0;
  let unlogged = 0;
  let lastLog = 0;
  const refuse = (reason: string, remote: string | undefined) => {
    refused++;
    unlogged++;
    const now = Date.now();
    if (now - lastLog < REFUSAL_LOG_MS) return;
    log.warn('p11 tls connection refused', { reason, remote, refusedSinceLastLine: unlogged });
    lastLog = now;
    unlogged = 0;
  };
  const server = tls.createServer({
    cert: opts.cert, key: opts.key, ca: opts.clientCa, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.2',
    handshakeTimeout: limits.handshakeTimeoutMs > 0 ? limits.handshakeTimeoutMs : 120_000,
  });
  // Raw connections and the TLS sockets made of them: the difference is the handshakes under way.
  const open = new Set<Socket>();
  const secured = new Set<Socket>();
  // Before the handshake: a flood of half-open TLS connections is held by the connection cap too.
  server.on('connection', (raw: Socket) => {
    const handshaking = open.size - secured.size;
    open.add(raw);
    raw.once('close', () => open.delete(raw));
    if (admission.check(undefined, handshaking)) {
      admission.refuse('max_connections', undefined, undefined);
      raw.destroy();
    }
  });
  server.on('tlsClientError', (err: Error & { code?: string }, socket: tls.TLSSocket) => {
    refuse(err.code ?? err.message, socket.remoteAddress);
  });
  server.on('secureConnection', (socket: tls.TLSSocket) => {
    secured.add(socket);
    socket.once('close', () => secured.delete(socket));
    const cert = socket.getPeerCertificate();
    // rejectUnauthorized already refused what the CA did not sign; this catches a missing certificate on an odd TLS stack.
    if (!socket.authorized || !cert?.fingerprint256) { refuse('no client certificate', socket.remoteAddress); socket.destroy(); return; }
    const peer = `cert:${cert.fingerprint256}`;
    const refusal = admission.check(peer);
    if (refusal) { admission.refuse(refusal as 'max_connections' | 'max_connections_per_uid', peer, undefined); socket.destroy(); return; }
    log.info('p11 tls connection', { remote: socket.remoteAddress, subject: String(cert.subject?.CN ?? ''), fingerprint: cert.fingerprint256 });
    accept(socket, peer);
  });
  server.on('error', (err) => log.error('p11 tls listener error', { error: err.message }));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => { server.removeListener('error', reject); resolve(); });
  });
  const addr = server.address() as { port: number };
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  log.info('p11 tls listener', { host: opts.host, port: addr.port, clientCa: 'configured' });
  return {
    host: opts.host, port: addr.port, address: `tcp+tls:${host}:${addr.port}`, refused: () => refused,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of open) s.destroy();
    }),
  };
}
