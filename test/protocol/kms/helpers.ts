// Shared fixtures for the KMS transport tests: a real node:http server on 127.0.0.1:0 running
// the transport over a fixed credential table, the real @aws-sdk/client-kms, and a raw client.
// Requests for raw tests are signed by the SDK itself (captured before sending), so the
// verifier is always checked against an independent signer.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KMSClient, type KMSClientConfig } from '@aws-sdk/client-kms';
import { createKmsHandler, KmsError, writeBlob, type KmsHandlerOptions, type KmsRequest, type SecretRecord } from '../../../src/protocol/kms';

export interface TestPrincipal { user: string }

export const ACCESS_KEY_ID = 'AKIDINKANTEST';
export const SECRET_ACCESS_KEY = 'inkan-test-secret/K7MDENG+bPxRfiCYEXAMPLEKEY';
const CREDENTIALS: ReadonlyMap<string, SecretRecord<TestPrincipal>> = new Map([
  [ACCESS_KEY_ID, { secretAccessKey: SECRET_ACCESS_KEY, principal: { user: 'alice' } }],
]);

export const lookupSecret = async (akid: string): Promise<SecretRecord<TestPrincipal> | undefined> => CREDENTIALS.get(akid);

/** Trivial operations: GenerateRandom answers bytes 0..n-1, DescribeKey always says "not found". */
export async function echoDispatch(request: KmsRequest<TestPrincipal>): Promise<object | undefined> {
  if (request.operation === 'GenerateRandom') {
    const n = Number(request.input.NumberOfBytes ?? 0);
    return { Plaintext: writeBlob(Buffer.from(Array.from({ length: n }, (_, i) => i & 0xff))) };
  }
  if (request.operation === 'DescribeKey') {
    throw new KmsError('NotFoundException', `Key '${String(request.input.KeyId)}' does not exist`);
  }
  return { Echo: request.input };
}

export interface TestServer {
  port: number;
  endpoint: string;
  seen: KmsRequest<TestPrincipal>[];
  close(): Promise<void>;
}

export async function startServer(overrides: Partial<KmsHandlerOptions<TestPrincipal>> = {}): Promise<TestServer> {
  const seen: KmsRequest<TestPrincipal>[] = [];
  const dispatch = overrides.dispatch ?? echoDispatch;
  const handler = createKmsHandler<TestPrincipal>({
    lookupSecret,
    ...overrides,
    dispatch: async (req) => { seen.push(req); return dispatch(req); },
  });
  const server = http.createServer((req, res) => { void handler(req, res); });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    seen,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((err) => (err ? reject(err) : resolve()));
    }),
  };
}

export function makeClient(endpoint: string, config: Partial<KMSClientConfig> = {}): KMSClient {
  return new KMSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: ACCESS_KEY_ID, secretAccessKey: SECRET_ACCESS_KEY },
    maxAttempts: 1,
    ...config,
  });
}

/** A request exactly as the SDK would put it on the wire, after signing. */
export interface CapturedRequest { method: string; path: string; headers: Record<string, string>; body: string }

class Captured extends Error {
  constructor(readonly request: CapturedRequest) { super('captured'); }
}

/**
 * Builds and signs a request with the real SDK but does not send it. `body`, when given, replaces
 * the serialized JSON before signing (the SDK never writes malformed JSON by itself).
 */
export async function signWithSdk(endpoint: string, send: (c: KMSClient) => Promise<unknown>,
  opts: { config?: Partial<KMSClientConfig>; body?: string } = {}): Promise<CapturedRequest> {
  const client = makeClient(endpoint, {
    ...opts.config,
    requestHandler: {
      handle: async (req: { method: string; path: string; headers: Record<string, string>; body?: unknown }) => {
        // The SDK's body may be a Uint8Array subclass that warns on string use (even Buffer.from's
        // valueOf probe); read its bytes through the underlying ArrayBuffer.
        const bytes = req.body as Uint8Array | string | undefined;
        const body = typeof bytes === 'string' ? bytes
          : bytes ? Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8') : '';
        throw new Captured({ method: req.method, path: req.path, headers: { ...req.headers }, body });
      },
    } as unknown as KMSClientConfig['requestHandler'],
  });
  if (opts.body !== undefined) {
    const body = opts.body;
    client.middlewareStack.add((next) => async (args) => {
      const request = args.request as { body: unknown; headers: Record<string, string> };
      request.body = body;
      request.headers['content-length'] = String(Buffer.byteLength(body));
      return next(args);
    }, { step: 'build', name: 'replaceBodyForTest' });
  }
  try {
    await send(client);
  } catch (err) {
    if (err instanceof Captured) return err.request;
    throw err;
  } finally {
    client.destroy();
  }
  throw new Error('the SDK sent nothing');
}

export interface RawResponse { status: number; headers: http.IncomingHttpHeaders; body: string; json: Record<string, unknown> | undefined }

/** Plain node:http client. `chunks` sends the body in pieces with chunked encoding (no Content-Length). */
export function rawRequest(port: number, req: { method?: string; path?: string; headers?: Record<string, string>;
  body?: string | Buffer; chunks?: Buffer[] }): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    let answered = false;
    const r = http.request({ host: '127.0.0.1', port, method: req.method ?? 'POST', path: req.path ?? '/', headers: req.headers, agent: false },
      (res) => {
        answered = true;
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => {
          const body = Buffer.concat(parts).toString('utf8');
          let json: Record<string, unknown> | undefined;
          try { json = JSON.parse(body) as Record<string, unknown>; } catch { json = undefined; }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
        });
      });
    // Once the server has answered (e.g. 413 mid-upload) a reset of our unfinished upload is expected.
    r.on('error', (err) => { if (!answered) reject(err); });
    if (req.chunks) {
      for (const c of req.chunks) r.write(c);
      r.end();
    } else {
      r.end(req.body);
    }
  });
}

/** Replays a captured SDK request over raw HTTP, optionally altered. */
export function replay(port: number, captured: CapturedRequest, change: Partial<CapturedRequest> = {}): Promise<RawResponse> {
  const c = { ...captured, ...change };
  return rawRequest(port, { method: c.method, path: c.path, headers: c.headers, body: c.body });
}
