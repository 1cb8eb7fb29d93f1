// Readers for XKS request members (spec "API operations"): binary fields are standard base64;
// requestMetadata is required and its fields are opaque strings the proxy logs but never
// validates beyond presence (the spec forbids rejecting unknown kmsOperation values).
// Messages name members, never their values.
import { validation } from './xks-error';

export type XksInput = Readonly<Record<string, unknown>>;

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** ARNs may be up to 2048 characters (spec); other metadata fields are far shorter. */
const MAX_METADATA_FIELD = 2048;

function member(input: XksInput, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(input, name) ? input[name] : undefined;
}

export function optionalBase64(input: XksInput, name: string, maxBytes: number): Buffer | undefined {
  const v = member(input, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !BASE64.test(v)) throw validation(`'${name}' must be a standard base64 string.`);
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length > maxBytes) {
    bytes.fill(0);
    throw validation(`'${name}' is longer than ${maxBytes} bytes.`);
  }
  return bytes;
}

export function requireBase64(input: XksInput, name: string, maxBytes: number): Buffer {
  const v = optionalBase64(input, name, maxBytes);
  if (v === undefined) throw validation(`'${name}' is required.`);
  return v;
}

export function requireEnum<T extends string>(input: XksInput, name: string, values: readonly T[]): T {
  const v = member(input, name);
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw validation(`'${name}' must be one of: ${values.join(', ')}.`);
  }
  return v as T;
}

export function optionalEnum<T extends string>(input: XksInput, name: string, values: readonly T[]): T | undefined {
  const v = member(input, name);
  return v === undefined || v === null ? undefined : requireEnum(input, name, values);
}

export type RequestMetadata = Readonly<Record<string, string>>;

const KNOWN_FIELDS = ['awsPrincipalArn', 'awsSourceVpc', 'awsSourceVpce', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId', 'kmsViaService'];

/**
 * `requestMetadata` with the fields an operation requires (spec per operation; Appendix B).
 * Returns the known string fields for the audit record; unknown fields are allowed and dropped.
 */
export function readRequestMetadata(input: XksInput, required: readonly string[]): RequestMetadata {
  const md = member(input, 'requestMetadata');
  if (md === null || typeof md !== 'object' || Array.isArray(md)) throw validation("'requestMetadata' is required.");
  const out: Record<string, string> = {};
  for (const field of KNOWN_FIELDS) {
    const v = (md as Record<string, unknown>)[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string' || v.length > MAX_METADATA_FIELD) throw validation(`'requestMetadata.${field}' must be a string of at most ${MAX_METADATA_FIELD} characters.`);
    out[field] = v;
  }
  for (const field of required) {
    if (out[field] === undefined || out[field] === '') throw validation(`'requestMetadata.${field}' is required.`);
  }
  return out;
}
