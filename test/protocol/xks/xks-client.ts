// A small XKS proxy client written from the spec (aws-kms-xksproxy-api-spec v1.0.3), the way
// AWS KMS's XKS Proxy Management Fleet calls a proxy: POST JSON to
// {prefix}/kms/xks/v1/{keys/<id>/<op>|health}, signed with SigV4 by @smithy/signature-v4 (an
// independent signer) for service kms-xks-proxy and SignedHeaders host;x-amz-date (Appendix A).
import * as https from 'node:https';
import * as nc from 'node:crypto';
import { SignatureV4 } from '@smithy/signature-v4';

/** @smithy/signature-v4 wants a hash constructor; node:crypto's SHA-256/HMAC behind that shape. */
type Source = string | ArrayBuffer | ArrayBufferView;
const bytes = (d: Source): string | Buffer => (typeof d === 'string' ? d : d instanceof ArrayBuffer ? Buffer.from(d)
  : Buffer.from(d.buffer, d.byteOffset, d.byteLength));
class Sha256 {
  private readonly h: nc.Hash | nc.Hmac;
  constructor(secret?: Source) { this.h = secret === undefined ? nc.createHash('sha256') : nc.createHmac('sha256', bytes(secret)); }
  update(data: Source): void { this.h.update(bytes(data)); }
  async digest(): Promise<Uint8Array> { return new Uint8Array(this.h.digest()); }
}

export interface XksClientOptions {
  host: string;
  port: number;
  prefix: string;
  accessKeyId: string;
  secretAccessKey: string;
  region?: string;
  service?: string;
  ca: string;
  /** Client certificate for mutual TLS. */
  cert?: string;
  key?: string;
  /** Signing time (default now), to test clock skew. */
  signingDate?: Date;
  /** A keep-alive agent (benchmarks); default: a new connection per request. */
  agent?: https.Agent;
}

export interface XksResponse { status: number; body: Record<string, any> }

export const principalArn = 'arn:aws:iam::123456789012:user/Alice';
export const keyArn = 'arn:aws:kms:us-east-2:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

export function metadata(kmsOperation: string, extra: Record<string, string> = {}) {
  return { awsPrincipalArn: principalArn, kmsKeyArn: keyArn, kmsOperation, kmsRequestId: nc.randomUUID(), kmsViaService: 'ebs', ...extra };
}

export class XksClient {
  constructor(readonly opts: XksClientOptions) {}

  /** Signs and sends one request; `tamper` may change the signed request before it leaves. */
  async post(target: string, body: object | string, tamper?: (r: { headers: Record<string, string>; body: string }) => void,
    method = 'POST'): Promise<XksResponse> {
    const o = this.opts;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const path = `${o.prefix}/kms/xks/v1/${target}`;
    const signer = new SignatureV4({
      credentials: { accessKeyId: o.accessKeyId, secretAccessKey: o.secretAccessKey },
      region: o.region ?? 'us-east-1', service: o.service ?? 'kms-xks-proxy', sha256: Sha256,
    });
    const signed = await signer.sign({
      method, protocol: 'https:', hostname: o.host, port: o.port, path,
      headers: { host: `${o.host}:${o.port}`, 'content-type': 'application/json' }, body: text,
    }, { signingDate: o.signingDate, unsignableHeaders: new Set(['content-type']) });
    const headers = { ...(signed.headers as Record<string, string>) };
    const req = { headers, body: text };
    tamper?.(req);
    return this.send(method, path, req.headers, req.body);
  }

  private send(method: string, path: string, headers: Record<string, string>, body: string): Promise<XksResponse> {
    const o = this.opts;
    return new Promise((resolve, reject) => {
      const r = https.request({
        host: '127.0.0.1', servername: o.host, port: o.port, method, path, ca: o.ca, cert: o.cert, key: o.key, agent: o.agent ?? false,
        headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: Record<string, any> = {};
          try { parsed = JSON.parse(text); } catch { parsed = { raw: text }; }
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
      });
      r.on('error', reject);
      r.end(body);
    });
  }

  metadata(keyId: string, md: object = metadata('DescribeKey')) { return this.post(`keys/${keyId}/metadata`, { requestMetadata: md }); }
  health(md: object = { kmsOperation: 'KmsHealthCheck', kmsRequestId: nc.randomUUID() }) { return this.post('health', { requestMetadata: md }); }

  encrypt(keyId: string, plaintext: Buffer, opts: { aad?: Buffer; cdiv?: boolean } = {}) {
    return this.post(`keys/${keyId}/encrypt`, {
      requestMetadata: metadata('Encrypt'), plaintext: plaintext.toString('base64'), encryptionAlgorithm: 'AES_GCM',
      ...(opts.aad ? { additionalAuthenticatedData: opts.aad.toString('base64') } : {}),
      ...(opts.cdiv ? { ciphertextDataIntegrityValueAlgorithm: 'SHA_256' } : {}),
    });
  }

  decrypt(keyId: string, enc: Record<string, string>, aad?: Buffer) {
    return this.post(`keys/${keyId}/decrypt`, {
      requestMetadata: metadata('Decrypt'), encryptionAlgorithm: 'AES_GCM', ciphertext: enc.ciphertext,
      initializationVector: enc.initializationVector, authenticationTag: enc.authenticationTag,
      ...(enc.ciphertextMetadata ? { ciphertextMetadata: enc.ciphertextMetadata } : {}),
      ...(aad ? { additionalAuthenticatedData: aad.toString('base64') } : {}),
    });
  }
}
