// Readers for Key Vault JSON members: binary fields are base64url without padding (RFC 7515
// §2, as the SDK writes them), dates are epoch seconds, enums are strings. A member of the wrong
// type or an undecodable value is BadParameter. Messages name the member, never its value
// (it may be a plaintext, a digest or key material).
import { badParameter } from './akv-error';

export type AkvInput = Readonly<Record<string, unknown>>;

/** Own members only; JSON null reads as absent. */
function member(input: AkvInput, name: string): unknown {
  if (!Object.prototype.hasOwnProperty.call(input, name)) return undefined;
  const v = input[name];
  return v === null ? undefined : v;
}

const missing = (name: string) => badParameter(`Property '${name}' is required.`);
const wrongType = (name: string, expected: string) => badParameter(`Property '${name}' must be ${expected}.`);

export function optionalObject(input: AkvInput, name: string): AkvInput | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw wrongType(name, 'a JSON object');
  return v as AkvInput;
}

export function optionalString(input: AkvInput, name: string, maxLength = 1024): string | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw wrongType(name, 'a string');
  if (v.length > maxLength) throw badParameter(`Property '${name}' is longer than ${maxLength} characters.`);
  return v;
}

export function requireString(input: AkvInput, name: string, maxLength?: number): string {
  const v = optionalString(input, name, maxLength);
  if (v === undefined) throw missing(name);
  return v;
}

export function optionalEnum<T extends string>(input: AkvInput, name: string, values: readonly T[]): T | undefined {
  const v = optionalString(input, name, 64);
  if (v === undefined) return undefined;
  if (!(values as readonly string[]).includes(v)) {
    // Echo only short, plain values: enums are not secret, but a hostile string should not be reflected.
    const shown = /^[A-Za-z0-9_+.-]{1,40}$/.test(v) ? ` '${v}'` : '';
    throw badParameter(`Property '${name}' has an invalid value${shown}; expected one of: ${values.join(', ')}.`);
  }
  return v as T;
}

export function requireEnum<T extends string>(input: AkvInput, name: string, values: readonly T[]): T {
  const v = optionalEnum(input, name, values);
  if (v === undefined) throw missing(name);
  return v;
}

export function optionalBoolean(input: AkvInput, name: string): boolean | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw wrongType(name, 'a boolean');
  return v;
}

export function optionalInteger(input: AkvInput, name: string, min: number, max: number): number | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw wrongType(name, 'an integer');
  if (v < min || v > max) throw badParameter(`Property '${name}' must be between ${min} and ${max}.`);
  return v;
}

/** Epoch seconds → Date (Key Vault's IntDate for nbf/exp). */
export function optionalDate(input: AkvInput, name: string): Date | undefined {
  const v = optionalInteger(input, name, 0, 253402300799); // up to 9999-12-31
  return v === undefined ? undefined : new Date(v * 1000);
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/**
 * base64url, padding tolerated (some clients add it); anything outside the alphabet is refused
 * rather than skipped, since Buffer.from(…, 'base64url') would silently drop it.
 */
export function decodeBase64Url(name: string, v: unknown, maxBytes: number): Buffer {
  if (typeof v !== 'string') throw wrongType(name, 'a base64url string');
  const text = v.replace(/={0,2}$/, '');
  if (!BASE64URL.test(text) || text.length % 4 === 1) throw wrongType(name, 'valid base64url');
  if (Math.floor((text.length * 3) / 4) > maxBytes) throw badParameter(`Property '${name}' is longer than ${maxBytes} bytes.`);
  return Buffer.from(text, 'base64url');
}

export function optionalBytes(input: AkvInput, name: string, maxBytes: number): Buffer | undefined {
  const v = member(input, name);
  return v === undefined ? undefined : decodeBase64Url(name, v, maxBytes);
}

export function requireBytes(input: AkvInput, name: string, maxBytes: number): Buffer {
  const v = optionalBytes(input, name, maxBytes);
  if (v === undefined) throw missing(name);
  return v;
}

export function optionalStringList(input: AkvInput, name: string, maxItems: number): string[] | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.length > maxItems || !v.every((s) => typeof s === 'string' && s.length <= 64)) {
    throw wrongType(name, `an array of at most ${maxItems} short strings`);
  }
  return v as string[];
}

/** Key Vault's tag limits: at most 15 tags, names ≤ 512 and values ≤ 256 characters. */
export const MAX_TAGS = 15;

export function optionalTags(input: AkvInput, name = 'tags'): Record<string, string> | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw wrongType(name, 'a JSON object of strings');
  const entries = Object.entries(v as Record<string, unknown>);
  if (entries.length > MAX_TAGS) throw badParameter(`At most ${MAX_TAGS} tags are allowed.`);
  for (const [k, val] of entries) {
    if (typeof val !== 'string') throw wrongType(name, 'a JSON object of strings');
    if (k.length === 0 || k.length > 512 || val.length > 256) {
      throw badParameter('Tag names must have 1 to 512 characters and values at most 256.');
    }
  }
  return Object.fromEntries(entries as [string, string][]);
}

/** Bytes → base64url without padding. */
export function b64u(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Date → epoch seconds (integer), as Key Vault writes created/updated/nbf/exp. */
export function epochSeconds(d: Date): number {
  return Math.floor(d.getTime() / 1000);
}
