// Verification of AWS Signature Version 4 (Authorization-header form) for the KMS face.
// Follows the AWS SigV4 spec ("Create a signed AWS API request", IAM User Guide) and matches
// what @smithy/signature-v4 computes for non-S3 services; checked against the published
// AWS SigV4 test suite in test/protocol/kms/sigv4.test.ts.
import { digest, hmac, timingSafeEqual } from '../../crypto/node-crypto';
import { KmsError } from './kms-error';

export const SIGV4_ALGORITHM = 'AWS4-HMAC-SHA256';
/** AWS accepts a request whose x-amz-date is within 15 minutes of the server clock. */
export const DEFAULT_MAX_SKEW_MS = 15 * 60 * 1000;

export interface SecretRecord<P = unknown> { secretAccessKey: string; principal: P }
/** Injected: finds the secret half of an access key (unsealed by the core). Undefined = unknown key. */
export type SecretLookup<P = unknown> = (accessKeyId: string) => Promise<SecretRecord<P> | undefined>;

/** What the verifier needs from an HTTP request; `rawHeaders` alternates name, value (node's form). */
export interface SignedRequest {
  method: string;
  /** The request-target exactly as received: path plus optional `?query`. */
  target: string;
  rawHeaders: readonly string[];
  body: Buffer;
}

export interface VerifyOptions<P = unknown> {
  lookupSecret: SecretLookup<P>;
  /** The service the credential scope must name; `kms` unless a test vector says otherwise. */
  service?: string;
  /** When set, the scope's region must be one of these. */
  regions?: readonly string[];
  /** Clock in epoch milliseconds (injected so tests can pin it). */
  now?: () => number;
  maxSkewMs?: number;
  /**
   * Headers that must be covered by the signature. AWS always demands `host` and the date; the
   * KMS transport adds `x-amz-target`, since otherwise a captured request could be replayed as
   * another operation on the same body (`{"KeyId":…}` fits EnableKey and ScheduleKeyDeletion alike).
   */
  requiredSignedHeaders?: readonly string[];
  /** Derived signing keys to reuse (one per access key, day, region and service); none: derive each time. */
  signingKeys?: SigningKeyCache;
}

export interface VerifiedCaller<P = unknown> {
  accessKeyId: string;
  principal: P;
  region: string;
  service: string;
  amzDate: string;
}

export interface ParsedAuthorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  /** `date/region/service/aws4_request`, as it appears in the string to sign. */
  scope: string;
  signedHeaders: string[];
  signature: string;
}

const incomplete = (msg: string): KmsError => new KmsError('IncompleteSignatureException', msg);
const invalid = (msg: string): KmsError => new KmsError('InvalidSignatureException', msg);

export const SIGNATURE_MISMATCH_MESSAGE = 'The request signature we calculated does not match the signature you '
  + 'provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
export const UNRECOGNIZED_CLIENT_MESSAGE = 'The security token included in the request is invalid.';

const TOKEN = /^[a-z0-9!#$%&'*+.^_`|~-]+$/; // RFC 9110 token, lower case as SigV4 requires
/** Bounds the canonical-headers work a hostile request can ask for; real SDKs sign about ten. */
const MAX_SIGNED_HEADERS = 64;
const ALWAYS_SIGNED = ['host', 'x-amz-date'];
const HEX64 = /^[0-9a-f]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** Parses `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex`. */
export function parseAuthorization(value: string): ParsedAuthorization {
  const space = value.indexOf(' ');
  if (space < 0 || value.slice(0, space) !== SIGV4_ALGORITHM) {
    throw incomplete(`Unsupported authorization type; only ${SIGV4_ALGORITHM} is accepted.`);
  }
  const params = new Map<string, string>();
  for (const part of value.slice(space + 1).split(',')) {
    const item = part.trim();
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    if (eq < 0 || params.has(key) || !['Credential', 'SignedHeaders', 'Signature'].includes(key)) {
      throw incomplete('Authorization header is malformed: expected Credential=, SignedHeaders= and Signature= once each.');
    }
    params.set(key, item.slice(eq + 1));
  }
  // AWS names every missing parameter in one message.
  const missing = ['Credential', 'Signature', 'SignedHeaders'].filter((k) => !params.get(k));
  if (missing.length) throw incomplete(missing.map((k) => `Authorization header requires '${k}' parameter.`).join(' '));

  const cred = params.get('Credential')!.split('/');
  if (cred.length !== 5 || cred.some((c) => c === '') || cred[4] !== 'aws4_request' || !/^\d{8}$/.test(cred[1])) {
    throw incomplete("Credential must have the form 'AccessKeyId/YYYYMMDD/region/service/aws4_request'.");
  }
  const signedHeaders = params.get('SignedHeaders')!.split(';');
  if (signedHeaders.length > MAX_SIGNED_HEADERS || !signedHeaders.every((h) => TOKEN.test(h))) {
    throw incomplete(`SignedHeaders must be a semicolon-separated list of at most ${MAX_SIGNED_HEADERS} lower-case header names.`);
  }
  const signature = params.get('Signature')!.toLowerCase();
  if (!HEX64.test(signature)) throw incomplete('Signature must be 64 hexadecimal digits.');
  const [accessKeyId, date, region, service] = cred;
  return { accessKeyId, date, region, service, scope: cred.slice(1).join('/'), signedHeaders, signature };
}

/** RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~ is %XX (upper-case hex). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

function safeDecode(s: string): string {
  try { return decodeURIComponent(s); } catch { return s; }
}

/**
 * Canonical URI for every service but S3: remove empty and dot segments, then URI-encode the
 * path as received (so it is encoded twice overall), keeping `/` (@smithy getCanonicalPath).
 */
export function canonicalUri(path: string): string {
  const segments: string[] = [];
  for (const seg of path.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') segments.pop(); else segments.push(seg);
  }
  const trailing = segments.length > 0 && path.endsWith('/') ? '/' : '';
  return uriEncode(`/${segments.join('/')}${trailing}`).replace(/%2F/g, '/');
}

/** Canonical query: decode, re-encode strictly, sort by name then value (code point order). */
export function canonicalQuery(query: string): string {
  const pairs: [string, string][] = [];
  for (const item of query.split('&')) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    const name = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? '' : item.slice(eq + 1);
    pairs.push([uriEncode(safeDecode(name)), uriEncode(safeDecode(value))]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([n, v]) => `${n}=${v}`).join('&');
}

/** All values of one header (case-insensitive), in arrival order. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i].toLowerCase() === name) out.push(rawHeaders[i + 1]);
  }
  return out;
}

/** Canonical headers block: `name:value\n` per signed header; values trimmed, inner runs of spaces collapsed. */
export function canonicalHeaders(rawHeaders: readonly string[], signedHeaders: readonly string[]): string {
  return signedHeaders.map((name) => {
    const values = headerValues(rawHeaders, name).map((v) => v.trim().replace(/\s+/g, ' '));
    return `${name}:${values.join(',')}\n`;
  }).join('');
}

export interface CanonicalRequestParts {
  method: string;
  target: string;
  rawHeaders: readonly string[];
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function canonicalRequest(p: CanonicalRequestParts): string {
  const q = p.target.indexOf('?');
  const path = q < 0 ? p.target : p.target.slice(0, q);
  const query = q < 0 ? '' : p.target.slice(q + 1);
  return [p.method, canonicalUri(path), canonicalQuery(query),
    canonicalHeaders(p.rawHeaders, p.signedHeaders), p.signedHeaders.join(';'), p.payloadHash].join('\n');
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return [SIGV4_ALGORITHM, amzDate, scope, sha256Hex(Buffer.from(canonical, 'utf8'))].join('\n');
}

/** kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request"). */
export function signingKey(secretAccessKey: string, date: string, region: string, service: string): Buffer {
  let key: Buffer = Buffer.from(`AWS4${secretAccessKey}`, 'utf8');
  for (const part of [date, region, service, 'aws4_request']) {
    const next = hmac('sha256', key, Buffer.from(part, 'utf8'));
    key.fill(0); // intermediate keys are secret-derived; do not leave them lying in the heap
    key = next;
  }
  return key;
}

/**
 * kSigning changes once a day per credential, so deriving it (four HMACs) on every request is
 * waste: this keeps the keys of requests that verified, per (access key, date, region, service),
 * with the secret they came from (a rotated secret misses and replaces its entry). Bounded; an
 * evicted or replaced key is zeroed. Only a verified request adds an entry, so a caller without
 * the secret cannot fill it.
 */
export class SigningKeyCache {
  private readonly entries = new Map<string, { secret: string; key: Buffer }>();

  constructor(private readonly max = 4096) {}

  private static id(accessKeyId: string, auth: ParsedAuthorization): string {
    return `${accessKeyId}\u0000${auth.date}\u0000${auth.region}\u0000${auth.service}`;
  }

  get(accessKeyId: string, auth: ParsedAuthorization, secret: string): Buffer | undefined {
    const hit = this.entries.get(SigningKeyCache.id(accessKeyId, auth));
    return hit && hit.secret === secret ? hit.key : undefined;
  }

  set(accessKeyId: string, auth: ParsedAuthorization, secret: string, key: Buffer): void {
    const id = SigningKeyCache.id(accessKeyId, auth);
    const old = this.entries.get(id);
    if (old) { this.entries.delete(id); old.key.fill(0); }
    while (this.entries.size >= this.max) {
      const [oldest, e] = this.entries.entries().next().value as [string, { key: Buffer }];
      this.entries.delete(oldest);
      e.key.fill(0);
    }
    this.entries.set(id, { secret, key });
  }

  get size(): number { return this.entries.size; }
}

export function computeSignature(secretAccessKey: string, auth: ParsedAuthorization, amzDate: string, canonical: string): string {
  const key = signingKey(secretAccessKey, auth.date, auth.region, auth.service);
  const sig = hmac('sha256', key, Buffer.from(stringToSign(amzDate, auth.scope, canonical), 'utf8')).toString('hex');
  key.fill(0);
  return sig;
}

export function sha256Hex(data: Buffer): string {
  return digest('sha256', data).toString('hex');
}

/** `YYYYMMDDTHHMMSSZ` → epoch ms, or undefined when it is not a real instant in that format. */
export function parseAmzDate(value: string): number | undefined {
  const m = AMZ_DATE.exec(value);
  if (!m) return undefined;
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return formatAmzDate(ms) === value ? ms : undefined; // rejects 20151399T..., hour 25, etc.
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
}

function singleHeader(rawHeaders: readonly string[], name: string): string | undefined {
  const values = headerValues(rawHeaders, name);
  if (values.length > 1) throw incomplete(`The ${name} header must appear once.`);
  return values[0];
}

/** Date, scope and clock checks (AWS IAM guide, "Troubleshoot Signature Version 4", credential scope errors). */
function checkDateAndScope(auth: ParsedAuthorization, amzDate: string, opts: VerifyOptions<unknown>): void {
  const at = parseAmzDate(amzDate);
  if (at === undefined) {
    throw incomplete(`Date must be in ISO-8601 'basic format'. Got '${amzDate.slice(0, 32)}'.`);
  }
  if (auth.date !== amzDate.slice(0, 8)) {
    throw invalid('Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '
      + `'${auth.date}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`);
  }
  const service = opts.service ?? 'kms';
  if (auth.service !== service) throw invalid(`Credential should be scoped to correct service: '${service}'.`);
  if (opts.regions && !opts.regions.includes(auth.region)) {
    throw invalid('Credential should be scoped to a valid region.');
  }
  const now = (opts.now ?? Date.now)();
  const skew = opts.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  const minutes = Math.round(skew / 60000);
  if (at < now - skew) {
    throw invalid(`Signature expired: ${amzDate} is now earlier than ${formatAmzDate(now - skew)} `
      + `(${formatAmzDate(now)} - ${minutes} min.)`);
  }
  if (at > now + skew) {
    throw invalid(`Signature not yet current: ${amzDate} is still later than ${formatAmzDate(now + skew)} `
      + `(${formatAmzDate(now)} + ${minutes} min.)`);
  }
}

/** The payload hash: the body's SHA-256; a client-supplied x-amz-content-sha256 must equal it. */
function payloadHash(req: SignedRequest): string {
  const computed = sha256Hex(req.body);
  const claimed = singleHeader(req.rawHeaders, 'x-amz-content-sha256');
  // UNSIGNED-PAYLOAD and streaming modes are S3-only; KMS bodies are always hashed.
  if (claimed !== undefined && claimed.trim().toLowerCase() !== computed) {
    throw invalid("The provided 'x-amz-content-sha256' header does not match what was computed.");
  }
  return computed;
}

/**
 * Verifies the request's SigV4 signature and returns who signed it. Structural checks come
 * first (they reveal nothing secret), then the key lookup, then one constant-time comparison.
 */
export async function verifySigV4<P>(req: SignedRequest, opts: VerifyOptions<P>): Promise<VerifiedCaller<P>> {
  const authorization = singleHeader(req.rawHeaders, 'authorization');
  if (authorization === undefined) {
    throw new KmsError('MissingAuthenticationTokenException', 'Missing Authentication Token');
  }
  const auth = parseAuthorization(authorization.trim());
  const amzDate = singleHeader(req.rawHeaders, 'x-amz-date')?.trim();
  if (amzDate === undefined) {
    throw incomplete("Authorization header requires existence of an 'X-Amz-Date' header.");
  }
  for (const name of [...ALWAYS_SIGNED, ...(opts.requiredSignedHeaders ?? [])]) {
    if (!auth.signedHeaders.includes(name)) {
      const shown = name.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
      throw invalid(`'${shown}' must be a 'SignedHeader' in the AWS Authorization.`);
    }
  }
  checkDateAndScope(auth, amzDate, opts);
  const hash = payloadHash(req);

  const record = await opts.lookupSecret(auth.accessKeyId);
  if (record === undefined) throw new KmsError('UnrecognizedClientException', UNRECOGNIZED_CLIENT_MESSAGE);
  const canonical = canonicalRequest({
    method: req.method, target: req.target, rawHeaders: req.rawHeaders, signedHeaders: auth.signedHeaders, payloadHash: hash,
  });
  const cached = opts.signingKeys?.get(auth.accessKeyId, auth, record.secretAccessKey);
  const key = cached ?? signingKey(record.secretAccessKey, auth.date, auth.region, auth.service);
  const expected = hmac('sha256', key, Buffer.from(stringToSign(amzDate, auth.scope, canonical), 'utf8')).toString('hex');
  const ok = timingSafeEqual(Buffer.from(expected, 'latin1'), Buffer.from(auth.signature, 'latin1'));
  if (!cached) { if (ok && opts.signingKeys) opts.signingKeys.set(auth.accessKeyId, auth, record.secretAccessKey, key); else key.fill(0); }
  if (!ok) throw invalid(SIGNATURE_MISMATCH_MESSAGE);
  return { accessKeyId: auth.accessKeyId, principal: record.principal, region: auth.region, service: auth.service, amzDate };
}
