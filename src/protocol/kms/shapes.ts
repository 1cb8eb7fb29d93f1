// Readers and writers for KMS JSON 1.1 members (docs/kms-wire.md §1.1): blobs are standard
// base64, timestamps epoch seconds, maps objects, enums strings. A member of the wrong JSON type
// or undecodable base64 is a SerializationException (Smithy malformed-request tests); a member
// that decodes but breaks a model constraint is a ValidationException in AWS's wording.
// Messages never echo strings, blobs or map contents: they may be plaintexts or secrets.
import { KmsError } from './kms-error';

export type KmsInput = Readonly<Record<string, unknown>>;

export interface LengthRule { min?: number; max?: number }
export interface StringRule extends LengthRule { pattern?: RegExp }
export interface MapRule { key?: StringRule; value?: StringRule; maxEntries?: number }
export interface ListRule { min?: number; max?: number; item?: StringRule }

/** AWS names members in validation messages in lower camel case: `Plaintext` → `plaintext`. */
function memberPath(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

/** `1 validation error detected: Value at 'x' failed to satisfy constraint: ...` (AWS/Coral wording). */
export function validationError(name: string, constraint: string, shownValue?: string): KmsError {
  const value = shownValue === undefined ? 'Value' : `Value ${shownValue}`;
  return new KmsError('ValidationException',
    `1 validation error detected: ${value} at '${memberPath(name)}' failed to satisfy constraint: ${constraint}`);
}

function typeError(name: string, expected: string): KmsError {
  return new KmsError('SerializationException', `Member '${name}' must be ${expected}.`);
}

function missing(name: string): KmsError {
  return validationError(name, 'Member must not be null', 'null');
}

/** Own members only (never `constructor` from the prototype); JSON null reads as absent, as AWS does. */
function member(input: KmsInput, name: string): unknown {
  if (!Object.prototype.hasOwnProperty.call(input, name)) return undefined;
  const v = input[name];
  return v === null ? undefined : v;
}

function checkLength(name: string, length: number, rule: LengthRule): void {
  if (rule.min !== undefined && length < rule.min) {
    throw validationError(name, `Member must have length greater than or equal to ${rule.min}`);
  }
  if (rule.max !== undefined && length > rule.max) {
    throw validationError(name, `Member must have length less than or equal to ${rule.max}`);
  }
}

function checkString(name: string, v: unknown, rule: StringRule): string {
  if (typeof v !== 'string') throw typeError(name, 'a string');
  checkLength(name, v.length, rule); // UTF-16 code units, as the service's Java String.length()
  if (rule.pattern && !rule.pattern.test(v)) {
    throw validationError(name, `Member must satisfy regular expression pattern: ${rule.pattern.source}`);
  }
  return v;
}

export function optionalString(input: KmsInput, name: string, rule: StringRule = {}): string | undefined {
  const v = member(input, name);
  return v === undefined ? undefined : checkString(name, v, rule);
}

export function requireString(input: KmsInput, name: string, rule: StringRule = {}): string {
  const v = optionalString(input, name, rule);
  if (v === undefined) throw missing(name);
  return v;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard base64 with padding, as every AWS SDK writes blobs; anything else is refused, not guessed at. */
export function decodeBase64(name: string, v: unknown): Buffer {
  if (typeof v !== 'string') throw typeError(name, 'a base64-encoded string');
  if (!BASE64.test(v)) throw typeError(name, 'valid standard base64');
  return Buffer.from(v, 'base64');
}

export function optionalBlob(input: KmsInput, name: string, rule: LengthRule = {}): Buffer | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  const bytes = decodeBase64(name, v);
  try {
    checkLength(name, bytes.length, rule);
  } catch (err) {
    bytes.fill(0); // the blob may be a plaintext; do not leave it behind on the error path
    throw err;
  }
  return bytes;
}

export function requireBlob(input: KmsInput, name: string, rule: LengthRule = {}): Buffer {
  const v = optionalBlob(input, name, rule);
  if (v === undefined) throw missing(name);
  return v;
}

export function optionalInteger(input: KmsInput, name: string, rule: LengthRule = {}): number | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw typeError(name, 'an integer');
  if (rule.min !== undefined && v < rule.min) {
    throw validationError(name, `Member must have value greater than or equal to ${rule.min}`, `'${v}'`);
  }
  if (rule.max !== undefined && v > rule.max) {
    throw validationError(name, `Member must have value less than or equal to ${rule.max}`, `'${v}'`);
  }
  return v;
}

export function requireInteger(input: KmsInput, name: string, rule: LengthRule = {}): number {
  const v = optionalInteger(input, name, rule);
  if (v === undefined) throw missing(name);
  return v;
}

const SHOWABLE_ENUM = /^[A-Za-z0-9_:.-]{1,64}$/;

export function optionalEnum<T extends string>(input: KmsInput, name: string, values: readonly T[]): T | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw typeError(name, 'a string');
  if (!(values as readonly string[]).includes(v)) {
    // AWS echoes the rejected enum value; we do too, but only when it is short and plain.
    throw validationError(name, `Member must satisfy enum value set: [${values.join(', ')}]`,
      SHOWABLE_ENUM.test(v) ? `'${v}'` : undefined);
  }
  return v as T;
}

export function requireEnum<T extends string>(input: KmsInput, name: string, values: readonly T[]): T {
  const v = optionalEnum(input, name, values);
  if (v === undefined) throw missing(name);
  return v;
}

export function optionalBoolean(input: KmsInput, name: string): boolean | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw typeError(name, 'a boolean');
  return v;
}

/** A map of string to string, e.g. EncryptionContext. Entries keep their order; `__proto__` is an ordinary key. */
export function optionalStringMap(input: KmsInput, name: string, rule: MapRule = {}): Record<string, string> | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw typeError(name, 'a JSON object of strings');
  const entries = Object.entries(v as Record<string, unknown>);
  if (rule.maxEntries !== undefined && entries.length > rule.maxEntries) {
    throw validationError(name, `Member must have length less than or equal to ${rule.maxEntries}`);
  }
  const out: [string, string][] = entries.map(([k, val]) => {
    if (typeof val !== 'string') throw typeError(name, 'a JSON object of strings');
    return [checkString(name, k, rule.key ?? {}), checkString(name, val, rule.value ?? {})];
  });
  return Object.fromEntries(out); // defines own properties, so no prototype is touched
}

/** A list of strings, e.g. GrantTokens. */
export function optionalStringList(input: KmsInput, name: string, rule: ListRule = {}): string[] | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw typeError(name, 'a JSON array of strings');
  checkLength(name, v.length, rule);
  return v.map((item) => checkString(name, item, rule.item ?? {}));
}

/** Epoch seconds (fractions allowed) → Date. */
export function optionalTimestamp(input: KmsInput, name: string): Date | undefined {
  const v = member(input, name);
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw typeError(name, 'a timestamp in epoch seconds');
  const date = new Date(v * 1000);
  if (Number.isNaN(date.getTime())) throw typeError(name, 'a timestamp in epoch seconds');
  return date;
}

/** Blob → standard base64 string. */
export function writeBlob(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** Date or epoch milliseconds → epoch seconds as a JSON number (fractions kept, as the SDK parses them). */
export function writeTimestamp(time: Date | number): number {
  const ms = typeof time === 'number' ? time : time.getTime();
  return ms / 1000;
}
