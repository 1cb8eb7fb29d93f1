// What a managed key is, in the core's own terms (no face's vocabulary): a kind with a size or a
// curve, and a purpose. Which PKCS#11 generation mechanism and template make each, and how an
// object made through another face is described in these terms. The faces map their names
// (KMS KeySpec/KeyUsage, Key Vault kty/key_ops) onto these in api/.
import { CKA, CKK, CKM, CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { CURVES, ED25519_OID } from '../mechanisms/key-types';
import type { HsmObject } from './hsm-object';
import type { AttrValue } from './policy/attributes';
import type { Template } from './templates';

export type KeyKind = 'aes' | 'hmac' | 'rsa' | 'ec' | 'ed25519';
export type KeyPurpose = 'encrypt' | 'sign' | 'mac' | 'agree';

export interface KeySpec {
  kind: KeyKind;
  /** Bits: AES 128/192/256, HMAC key length in bits, RSA modulus. */
  size?: number;
  /** EC curve (P-256, P-384, P-521, secp256k1). */
  curve?: string;
}

/** Which purposes each kind of key may serve. */
export const PURPOSES: Readonly<Record<KeyKind, readonly KeyPurpose[]>> = {
  aes: ['encrypt'], hmac: ['mac'], rsa: ['encrypt', 'sign'], ec: ['sign', 'agree'], ed25519: ['sign'],
};

export function checkSpec(spec: KeySpec, purpose: KeyPurpose): void {
  if (!PURPOSES[spec.kind]?.includes(purpose)) throw new HsmError('BAD_REQUEST', `a ${spec.kind} key cannot be used to ${purpose}`);
  const size = spec.size ?? 0;
  if (spec.kind === 'aes' && ![128, 192, 256].includes(size)) throw new HsmError('KEY_SIZE_RANGE', 'AES keys are 128, 192 or 256 bits');
  if (spec.kind === 'hmac' && (size < 112 || size > 4096 || size % 8)) throw new HsmError('KEY_SIZE_RANGE', 'HMAC keys are 112-4096 bits');
  if (spec.kind === 'rsa' && (size < 2048 || size > 4096 || size % 8)) throw new HsmError('KEY_SIZE_RANGE', 'RSA keys are 2048-4096 bits');
  if (spec.kind === 'ec' && !CURVES.some((c) => c.name === spec.curve)) throw new HsmError('CURVE_NOT_SUPPORTED');
}

/** What one version of a key may be used for (the gate's KeyUse): a face-neutral list that is kept
 *  as the PKCS#11 usage flags of the version's objects, so every face is bound by it. */
export type VersionUse = 'encrypt' | 'decrypt' | 'sign' | 'verify' | 'wrap' | 'unwrap' | 'derive';

/** Which uses each kind of key may have at all. */
export const KIND_USES: Readonly<Record<KeyKind, readonly VersionUse[]>> = {
  aes: ['encrypt', 'decrypt', 'wrap', 'unwrap'], hmac: ['sign', 'verify'], rsa: ['encrypt', 'decrypt', 'sign', 'verify', 'wrap', 'unwrap'],
  ec: ['sign', 'verify', 'derive'], ed25519: ['sign', 'verify'],
};

const USE_FLAG: Readonly<Record<VersionUse, number>> = {
  encrypt: CKA.ENCRYPT, decrypt: CKA.DECRYPT, sign: CKA.SIGN, verify: CKA.VERIFY, wrap: CKA.WRAP, unwrap: CKA.UNWRAP, derive: CKA.DERIVE,
};
/** In a pair, the public half encrypts, verifies and wraps (PKCS#11 2.40 §4.8); the private half does the rest. */
const PUBLIC_USES: readonly VersionUse[] = ['encrypt', 'verify', 'wrap'];

export function checkUses(kind: KeyKind, uses: readonly VersionUse[]): void {
  const bad = uses.find((u) => !KIND_USES[kind].includes(u));
  if (bad !== undefined) throw new HsmError('BAD_REQUEST', `a ${kind} key cannot be used to ${String(bad).slice(0, 16)}`);
}

/** The usage flags of one object of a version for an explicit list of uses. */
export function flagsForUses(cls: number, uses: readonly VersionUse[]): [number, boolean][] {
  const mine = (Object.keys(USE_FLAG) as VersionUse[]).filter((u) => cls === CKO.SECRET_KEY || (cls === CKO.PUBLIC_KEY) === PUBLIC_USES.includes(u));
  return mine.map((u) => [USE_FLAG[u], uses.includes(u)]);
}

/** The uses a version's objects allow. Without a public half, a private key's SIGN and DECRYPT also
 *  stand for verify and encrypt (gate.ts: the private half is governed by them). */
export function usesOfObjects(main: HsmObject, pub?: HsmObject): VersionUse[] {
  const all = Object.keys(USE_FLAG) as VersionUse[];
  if (main.cls === CKO.SECRET_KEY) return all.filter((u) => main.bool(USE_FLAG[u]));
  return all.filter((u) => {
    if (!PUBLIC_USES.includes(u)) return main.bool(USE_FLAG[u]);
    if (pub) return pub.bool(USE_FLAG[u]);
    return u === 'verify' ? main.bool(CKA.SIGN) : u === 'encrypt' ? main.bool(CKA.DECRYPT) : false;
  });
}

/** The usage flags of each half for one purpose: nothing beyond what the purpose needs. */
function usageFlags(purpose: KeyPurpose, cls: number): [number, boolean][] {
  const on = (attrs: number[]) => (a: number): [number, boolean] => [a, attrs.includes(a)];
  if (cls === CKO.PUBLIC_KEY) {
    return [CKA.ENCRYPT, CKA.VERIFY, CKA.WRAP].map(on(purpose === 'encrypt' ? [CKA.ENCRYPT] : purpose === 'sign' ? [CKA.VERIFY] : []));
  }
  const wanted = purpose === 'encrypt' ? (cls === CKO.SECRET_KEY ? [CKA.ENCRYPT, CKA.DECRYPT] : [CKA.DECRYPT])
    : purpose === 'sign' ? [CKA.SIGN] : purpose === 'mac' ? [CKA.SIGN, CKA.VERIFY] : [CKA.DERIVE];
  const all = cls === CKO.SECRET_KEY ? [CKA.ENCRYPT, CKA.DECRYPT, CKA.SIGN, CKA.VERIFY, CKA.WRAP, CKA.UNWRAP, CKA.DERIVE]
    : [CKA.DECRYPT, CKA.SIGN, CKA.UNWRAP, CKA.DERIVE];
  return all.map(on(wanted));
}

/** Template for one object of a managed key: token, sensitive, never extractable, labelled, usage-limited. */
export function versionTemplate(cls: number, purpose: KeyPurpose, label: string, ckaId: Buffer, uses?: readonly VersionUse[]): Template {
  const t = new Map<number, AttrValue>([[CKA.TOKEN, true], [CKA.LABEL, label], [CKA.ID, ckaId]]);
  if (cls !== CKO.PUBLIC_KEY) { t.set(CKA.SENSITIVE, true); t.set(CKA.EXTRACTABLE, false); }
  for (const [a, v] of uses ? flagsForUses(cls, uses) : usageFlags(purpose, cls)) t.set(a, v);
  return t;
}

export interface GenerationPlan { pair: boolean; mechanism: number; template: Template; publicTemplate: Template }

/** How to generate one version; `uses` (checked against the kind) replaces the purpose's usage flags. */
export function generationPlan(spec: KeySpec, purpose: KeyPurpose, label: string, ckaId: Buffer, uses?: readonly VersionUse[]): GenerationPlan {
  checkSpec(spec, purpose);
  if (uses) checkUses(spec.kind, uses);
  if (spec.kind === 'aes' || spec.kind === 'hmac') {
    const template = versionTemplate(CKO.SECRET_KEY, purpose, label, ckaId, uses);
    template.set(CKA.VALUE_LEN, spec.size! / 8);
    return { pair: false, mechanism: spec.kind === 'aes' ? CKM.AES_KEY_GEN : CKM.GENERIC_SECRET_KEY_GEN, template, publicTemplate: new Map() };
  }
  const publicTemplate = versionTemplate(CKO.PUBLIC_KEY, purpose, label, ckaId, uses);
  if (spec.kind === 'rsa') publicTemplate.set(CKA.MODULUS_BITS, spec.size!);
  if (spec.kind === 'ec') publicTemplate.set(CKA.EC_PARAMS, CURVES.find((c) => c.name === spec.curve)!.oid);
  if (spec.kind === 'ed25519') publicTemplate.set(CKA.EC_PARAMS, ED25519_OID);
  const mechanism = spec.kind === 'rsa' ? CKM.RSA_PKCS_KEY_PAIR_GEN : spec.kind === 'ec' ? CKM.EC_KEY_PAIR_GEN : CKM.EC_EDWARDS_KEY_PAIR_GEN;
  return { pair: true, mechanism, template: versionTemplate(CKO.PRIVATE_KEY, purpose, label, ckaId, uses), publicTemplate };
}

/** A private or secret key object described in these terms, with the purposes its flags allow
 *  (first the one shown); undefined if it is not such a key. */
export function specOfObject(obj: HsmObject): (KeySpec & { purposes: KeyPurpose[] }) | undefined {
  const flags = (pairs: [number, KeyPurpose][]) => pairs.filter(([a]) => obj.bool(a)).map(([, p]) => p);
  if (obj.cls === CKO.SECRET_KEY) {
    const len = obj.attrs.get(CKA.VALUE_LEN) as number | undefined;
    if (obj.keyType === CKK.AES && len) return { kind: 'aes', size: len * 8, purposes: obj.bool(CKA.ENCRYPT) || obj.bool(CKA.DECRYPT) ? ['encrypt'] : [] };
    if (obj.keyType === CKK.GENERIC_SECRET && len) return { kind: 'hmac', size: len * 8, purposes: flags([[CKA.SIGN, 'mac']]) };
    return undefined;
  }
  if (obj.cls !== CKO.PRIVATE_KEY) return undefined;
  if (obj.keyType === CKK.RSA) {
    const bits = ((obj.attrs.get(CKA.MODULUS) as Buffer | undefined)?.length ?? 0) * 8;
    return { kind: 'rsa', size: bits, purposes: flags([[CKA.SIGN, 'sign'], [CKA.DECRYPT, 'encrypt']]) };
  }
  if (obj.keyType === CKK.EC_EDWARDS) return { kind: 'ed25519', purposes: flags([[CKA.SIGN, 'sign']]) };
  if (obj.keyType === CKK.EC) {
    const params = obj.attrs.get(CKA.EC_PARAMS) as Buffer | undefined;
    const curve = CURVES.find((c) => params && c.oid.equals(params));
    return curve ? { kind: 'ec', curve: curve.name, purposes: flags([[CKA.SIGN, 'sign'], [CKA.DERIVE, 'agree']]) } : undefined;
  }
  return undefined;
}
