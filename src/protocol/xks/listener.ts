// The XKS proxy's own HTTPS listener (spec "Authentication": HTTPS with TLS 1.2+, SigV4 on every
// request, and optionally mutual TLS where the operator configures the client CA and the
// allowed subject names; KMS presents CN=cks.kms.<region>.amazonaws.com). A client whose
// certificate does not chain to the CA fails the handshake; one whose CN is not allowed is cut
// off right after it, before any HTTP is read.
import * as fs from 'node:fs';
import * as https from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';

export interface XksTlsOptions {
  /** PEM certificate chain and private key of the proxy (--xks-tls-cert, --xks-tls-key). */
  cert: string | Buffer;
  key: string | Buffer;
  /** PEM CA bundle for client certificates (--xks-client-ca): set it to require mutual TLS. */
  clientCa?: string | Buffer;
  /** Allowed client certificate subject CNs (--xks-client-cn, repeatable); empty = any the CA signed. */
  clientCommonNames?: readonly string[];
}

/** Reads the PEM files the CLI options name. */
export function loadXksTlsOptions(files: { cert: string; key: string; clientCa?: string; clientCommonNames?: readonly string[] }): XksTlsOptions {
  return {
    cert: fs.readFileSync(files.cert), key: fs.readFileSync(files.key),
    clientCa: files.clientCa === undefined ? undefined : fs.readFileSync(files.clientCa),
    clientCommonNames: files.clientCommonNames,
  };
}

function commonNameAllowed(socket: TLSSocket, allowed: readonly string[]): boolean {
  const cert = socket.getPeerCertificate();
  const cn = cert?.subject?.CN;
  const names = Array.isArray(cn) ? cn : cn === undefined ? [] : [cn];
  return names.length === 1 && allowed.includes(names[0]);
}

export function createXksServer(tls: XksTlsOptions, handler: (req: IncomingMessage, res: ServerResponse) => void): https.Server {
  const mutual = tls.clientCa !== undefined;
  const server = https.createServer({
    cert: tls.cert, key: tls.key, minVersion: 'TLSv1.2',
    requestCert: mutual, rejectUnauthorized: mutual, ca: mutual ? tls.clientCa : undefined,
  }, handler);
  const allowed = tls.clientCommonNames ?? [];
  if (mutual && allowed.length > 0) {
    server.on('secureConnection', (socket: TLSSocket) => {
      if (!commonNameAllowed(socket, allowed)) socket.destroy();
    });
  }
  server.keepAliveTimeout = 65_000;
  server.requestTimeout = 30_000;
  return server;
}
