// Attribute policy as data (PKCS#11 2.40 §4.4-§4.10 and the key-type sections §2):
// which attributes each object class has, their value kind, default, whether a caller may
// give them at creation, how they may change afterwards, and which are sensitive.
import { CKA, CKK, CKO } from '../../pkcs11/constants';

export type AttrKind = 'bool' | 'ulong' | 'bytes' | 'string' | 'date' | 'mechs';
export type AttrValue = boolean | number | Buffer | string | number[];
/** never: fixed at creation · any: freely · toFalse/toTrue: only in that direction (§4.4 table 10 footnotes). */
export type ChangeRule = 'never' | 'any' | 'toFalse' | 'toTrue';

export interface AttrRule {
  type: number;
  kind: AttrKind;
  /** Caller may give it in a creation template. */
  settable: boolean;
  change: ChangeRule;
  /** Never revealed (§4.9: CKA_VALUE of a sensitive key, private RSA components). */
  secret?: boolean;
}

const rule = (type: number, kind: AttrKind, settable: boolean, change: ChangeRule, secret = false): AttrRule =>
  ({ type, kind, settable, change, secret });

// §4.4 common object attributes, §4.5 storage objects
const STORAGE: AttrRule[] = [
  rule(CKA.CLASS, 'ulong', true, 'never'),
  rule(CKA.TOKEN, 'bool', true, 'never'),
  rule(CKA.PRIVATE, 'bool', true, 'never'),
  rule(CKA.MODIFIABLE, 'bool', true, 'never'),
  rule(CKA.COPYABLE, 'bool', true, 'toFalse'),
  rule(CKA.DESTROYABLE, 'bool', true, 'toFalse'),
  rule(CKA.LABEL, 'string', true, 'any'),
];
// §4.7 common key attributes
const KEY: AttrRule[] = [
  rule(CKA.KEY_TYPE, 'ulong', true, 'never'),
  rule(CKA.ID, 'bytes', true, 'any'),
  rule(CKA.START_DATE, 'date', true, 'any'),
  rule(CKA.END_DATE, 'date', true, 'any'),
  rule(CKA.DERIVE, 'bool', true, 'any'),
  rule(CKA.LOCAL, 'bool', false, 'never'),
  rule(CKA.KEY_GEN_MECHANISM, 'ulong', false, 'never'),
  rule(CKA.ALLOWED_MECHANISMS, 'mechs', true, 'never'),
  // Inkan vendor attribute: set only by the module's KMS key service (KeyService.setModuleAttribute).
  rule(CKA.INKAN_KEY_STATE, 'ulong', false, 'never'),
  // Inkan vendor attributes: use limits, fixed at creation (key-limits.ts); the count is read-only,
  // derived from the store's counter; the key PIN is write-only (kept as a hash, never revealed).
  rule(CKA.INKAN_MAX_USES, 'ulong', true, 'never'),
  rule(CKA.INKAN_USES, 'ulong', false, 'never'),
  rule(CKA.INKAN_USE_NOT_BEFORE, 'ulong', true, 'never'),
  rule(CKA.INKAN_USE_NOT_AFTER, 'ulong', true, 'never'),
  rule(CKA.INKAN_PROCESS_NOT_BEFORE, 'ulong', true, 'never'),
  rule(CKA.INKAN_PROCESS_NOT_AFTER, 'ulong', true, 'never'),
  rule(CKA.INKAN_KEY_PIN, 'string', true, 'never', true),
];
// §4.8 public keys
const PUBLIC: AttrRule[] = [
  rule(CKA.SUBJECT, 'bytes', true, 'any'),
  rule(CKA.ENCRYPT, 'bool', true, 'any'),
  rule(CKA.VERIFY, 'bool', true, 'any'),
  rule(CKA.VERIFY_RECOVER, 'bool', true, 'any'),
  rule(CKA.WRAP, 'bool', true, 'any'),
  rule(CKA.TRUSTED, 'bool', false, 'never'),
  rule(CKA.PUBLIC_KEY_INFO, 'bytes', false, 'never'),
];
// §4.9 private keys
const PRIVATE: AttrRule[] = [
  rule(CKA.SUBJECT, 'bytes', true, 'any'),
  rule(CKA.SENSITIVE, 'bool', true, 'toTrue'),
  rule(CKA.DECRYPT, 'bool', true, 'any'),
  rule(CKA.SIGN, 'bool', true, 'any'),
  rule(CKA.SIGN_RECOVER, 'bool', true, 'any'),
  rule(CKA.UNWRAP, 'bool', true, 'any'),
  rule(CKA.EXTRACTABLE, 'bool', true, 'toFalse'),
  rule(CKA.ALWAYS_SENSITIVE, 'bool', false, 'never'),
  rule(CKA.NEVER_EXTRACTABLE, 'bool', false, 'never'),
  rule(CKA.WRAP_WITH_TRUSTED, 'bool', true, 'toTrue'),
  rule(CKA.ALWAYS_AUTHENTICATE, 'bool', true, 'never'),
  rule(CKA.PUBLIC_KEY_INFO, 'bytes', false, 'never'),
];
// §4.10 secret keys
const SECRET: AttrRule[] = [
  rule(CKA.SENSITIVE, 'bool', true, 'toTrue'),
  rule(CKA.ENCRYPT, 'bool', true, 'any'),
  rule(CKA.DECRYPT, 'bool', true, 'any'),
  rule(CKA.SIGN, 'bool', true, 'any'),
  rule(CKA.VERIFY, 'bool', true, 'any'),
  rule(CKA.WRAP, 'bool', true, 'any'),
  rule(CKA.UNWRAP, 'bool', true, 'any'),
  rule(CKA.EXTRACTABLE, 'bool', true, 'toFalse'),
  rule(CKA.ALWAYS_SENSITIVE, 'bool', false, 'never'),
  rule(CKA.NEVER_EXTRACTABLE, 'bool', false, 'never'),
  rule(CKA.WRAP_WITH_TRUSTED, 'bool', true, 'toTrue'),
  rule(CKA.TRUSTED, 'bool', false, 'never'),
  rule(CKA.CHECK_VALUE, 'bytes', false, 'never'),
  rule(CKA.VALUE, 'bytes', true, 'never', true),
  rule(CKA.VALUE_LEN, 'ulong', true, 'never'),
  // Not in §4.10, but what every secret-key HSM offers (Luna, CloudHSM): per-operation authentication.
  rule(CKA.ALWAYS_AUTHENTICATE, 'bool', true, 'never'),
];
// §2.1 RSA, §2.3 EC, §2.3.5 EdDSA key attributes (public parts in clear; private parts sealed)
const RSA_PUBLIC: AttrRule[] = [
  rule(CKA.MODULUS, 'bytes', true, 'never'), rule(CKA.MODULUS_BITS, 'ulong', true, 'never'),
  rule(CKA.PUBLIC_EXPONENT, 'bytes', true, 'never'),
];
const RSA_PRIVATE: AttrRule[] = [
  rule(CKA.MODULUS, 'bytes', true, 'never'), rule(CKA.PUBLIC_EXPONENT, 'bytes', true, 'never'),
  ...[CKA.PRIVATE_EXPONENT, CKA.PRIME_1, CKA.PRIME_2, CKA.EXPONENT_1, CKA.EXPONENT_2, CKA.COEFFICIENT]
    .map((t) => rule(t, 'bytes', true, 'never', true)),
];
const EC_PUBLIC: AttrRule[] = [rule(CKA.EC_PARAMS, 'bytes', true, 'never'), rule(CKA.EC_POINT, 'bytes', true, 'never')];
const EC_PRIVATE: AttrRule[] = [rule(CKA.EC_PARAMS, 'bytes', true, 'never'), rule(CKA.VALUE, 'bytes', true, 'never', true)];
// §4.6 certificates (X.509, §4.6.3) and §4.5 data objects
const CERTIFICATE: AttrRule[] = [
  rule(CKA.CERTIFICATE_TYPE, 'ulong', true, 'never'), rule(CKA.TRUSTED, 'bool', false, 'never'),
  rule(CKA.CERTIFICATE_CATEGORY, 'ulong', true, 'never'), rule(CKA.CHECK_VALUE, 'bytes', false, 'never'),
  rule(CKA.START_DATE, 'date', true, 'any'), rule(CKA.END_DATE, 'date', true, 'any'),
  rule(CKA.SUBJECT, 'bytes', true, 'never'), rule(CKA.ID, 'bytes', true, 'any'),
  rule(CKA.ISSUER, 'bytes', true, 'any'), rule(CKA.SERIAL_NUMBER, 'bytes', true, 'any'),
  rule(CKA.VALUE, 'bytes', true, 'never'),
];
const DATA: AttrRule[] = [
  rule(CKA.APPLICATION, 'string', true, 'any'), rule(CKA.OBJECT_ID, 'bytes', true, 'any'),
  rule(CKA.VALUE, 'bytes', true, 'any'),
];

function table(...groups: AttrRule[][]): ReadonlyMap<number, AttrRule> {
  const map = new Map<number, AttrRule>();
  for (const group of groups) for (const r of group) map.set(r.type, r);
  return map;
}

const KEY_TABLES: Record<string, ReadonlyMap<number, AttrRule>> = {
  [`${CKO.PUBLIC_KEY}/${CKK.RSA}`]: table(STORAGE, KEY, PUBLIC, RSA_PUBLIC),
  [`${CKO.PRIVATE_KEY}/${CKK.RSA}`]: table(STORAGE, KEY, PRIVATE, RSA_PRIVATE),
  [`${CKO.PUBLIC_KEY}/${CKK.EC}`]: table(STORAGE, KEY, PUBLIC, EC_PUBLIC),
  [`${CKO.PRIVATE_KEY}/${CKK.EC}`]: table(STORAGE, KEY, PRIVATE, EC_PRIVATE),
  [`${CKO.PUBLIC_KEY}/${CKK.EC_EDWARDS}`]: table(STORAGE, KEY, PUBLIC, EC_PUBLIC),
  [`${CKO.PRIVATE_KEY}/${CKK.EC_EDWARDS}`]: table(STORAGE, KEY, PRIVATE, EC_PRIVATE),
  [`${CKO.SECRET_KEY}/${CKK.AES}`]: table(STORAGE, KEY, SECRET),
  [`${CKO.SECRET_KEY}/${CKK.GENERIC_SECRET}`]: table(STORAGE, KEY, SECRET),
  // §2.9 DES and §2.10 DES3 keys (legacy: approved-only partitions refuse them, mechanisms/approved.ts)
  [`${CKO.SECRET_KEY}/${CKK.DES}`]: table(STORAGE, KEY, SECRET),
  [`${CKO.SECRET_KEY}/${CKK.DES3}`]: table(STORAGE, KEY, SECRET),
};
const CERT_TABLE = table(STORAGE, CERTIFICATE);
const DATA_TABLE = table(STORAGE, DATA);

/** The attribute rules of one class (and key type); undefined if the combination is unsupported. */
export function rulesFor(cls: number, keyType?: number): ReadonlyMap<number, AttrRule> | undefined {
  if (cls === CKO.CERTIFICATE) return CERT_TABLE;
  if (cls === CKO.DATA) return DATA_TABLE;
  return KEY_TABLES[`${cls}/${keyType}`];
}

/** Defaults applied where the template is silent (PKCS#11 leaves many token-specific; ours follow SoftHSM's). */
export function defaultsFor(cls: number): Map<number, AttrValue> {
  const d = new Map<number, AttrValue>([
    [CKA.TOKEN, false], [CKA.MODIFIABLE, true], [CKA.COPYABLE, true], [CKA.DESTROYABLE, true], [CKA.LABEL, ''],
  ]);
  const isKey = cls === CKO.PUBLIC_KEY || cls === CKO.PRIVATE_KEY || cls === CKO.SECRET_KEY;
  d.set(CKA.PRIVATE, cls === CKO.PRIVATE_KEY || cls === CKO.SECRET_KEY);
  if (isKey) {
    for (const [t, v] of [[CKA.ID, Buffer.alloc(0)], [CKA.START_DATE, ''], [CKA.END_DATE, ''], [CKA.DERIVE, false],
      [CKA.LOCAL, false], [CKA.ALLOWED_MECHANISMS, []]] as const) d.set(t, v as AttrValue);
  }
  if (cls === CKO.PUBLIC_KEY) {
    for (const t of [CKA.ENCRYPT, CKA.VERIFY, CKA.WRAP]) d.set(t, true);
    for (const t of [CKA.VERIFY_RECOVER, CKA.TRUSTED]) d.set(t, false);
    d.set(CKA.SUBJECT, Buffer.alloc(0));
  }
  if (cls === CKO.PRIVATE_KEY || cls === CKO.SECRET_KEY) {
    d.set(CKA.SENSITIVE, true);
    d.set(CKA.EXTRACTABLE, false);
    for (const t of [CKA.DECRYPT, CKA.SIGN, CKA.UNWRAP]) d.set(t, true);
    d.set(CKA.WRAP_WITH_TRUSTED, false);
  }
  if (cls === CKO.PRIVATE_KEY) {
    d.set(CKA.SIGN_RECOVER, false);
    d.set(CKA.ALWAYS_AUTHENTICATE, false);
    d.set(CKA.SUBJECT, Buffer.alloc(0));
  }
  if (cls === CKO.SECRET_KEY) {
    for (const t of [CKA.ENCRYPT, CKA.VERIFY, CKA.WRAP]) d.set(t, true);
    d.set(CKA.TRUSTED, false);
  }
  if (cls === CKO.CERTIFICATE) {
    for (const [t, v] of [[CKA.TRUSTED, false], [CKA.CERTIFICATE_CATEGORY, 0], [CKA.ID, Buffer.alloc(0)],
      [CKA.START_DATE, ''], [CKA.END_DATE, ''], [CKA.ISSUER, Buffer.alloc(0)], [CKA.SERIAL_NUMBER, Buffer.alloc(0)]] as const) {
      d.set(t, v as AttrValue);
    }
  }
  if (cls === CKO.DATA) {
    d.set(CKA.APPLICATION, '');
    d.set(CKA.OBJECT_ID, Buffer.alloc(0));
    d.set(CKA.VALUE, Buffer.alloc(0));
  }
  return d;
}

/** True if a value has the JS type its kind requires (the faces decode bytes into these). */
export function valueFits(kind: AttrKind, value: AttrValue): boolean {
  switch (kind) {
    case 'bool': return typeof value === 'boolean';
    case 'ulong': return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
    case 'bytes': return Buffer.isBuffer(value);
    case 'string': return typeof value === 'string';
    case 'date': return typeof value === 'string' && (value === '' || /^\d{8}$/.test(value));
    case 'mechs': return Array.isArray(value) && value.every((m) => Number.isSafeInteger(m) && m >= 0);
  }
}

/** JSON encoding of public attributes for the store: Buffers become {"$b": base64}. */
export function encodeAttrs(attrs: ReadonlyMap<number, AttrValue>): string {
  const out: Record<string, unknown> = {};
  for (const [t, v] of attrs) out[t] = Buffer.isBuffer(v) ? { $b: v.toString('base64') } : v;
  return JSON.stringify(out);
}
export function decodeAttrs(json: string): Map<number, AttrValue> {
  const raw = JSON.parse(json) as Record<string, unknown>;
  const out = new Map<number, AttrValue>();
  for (const [t, v] of Object.entries(raw)) {
    out.set(Number(t), v && typeof v === 'object' && !Array.isArray(v) ? Buffer.from((v as { $b: string }).$b, 'base64') : v as AttrValue);
  }
  return out;
}
