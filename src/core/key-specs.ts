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
export function versionTemplate(cls: number, purpose: KeyPurpose, label: string, ckaId: Buffer): Template {
  const t = new Map<number, AttrValue>([[CKA.TOKEN, true], [CKA.LABEL, label], [CKA.ID, ckaId]]);
  if (cls !== CKO.PUBLIC_KEY) { t.set(CKA.SENSITIVE, true); t.set(CKA.EXTRACTABLE, false); }
  for (const [a, v] of usageFlags(purpose, cls)) t.set(a, v);
  return t;
}

export interface GenerationPlan { pair: boolean; mechanism: number; template: Template; publicTemplate: Template }

export function generationPlan(spec: KeySpec, purpose: KeyPurpose, label: string, ckaId: Buffer): GenerationPlan {
  checkSpec(spec, purpose);
  if (spec.kind === 'aes' || spec.kind === 'hmac') {
    const template = versionTemplate(CKO.SECRET_KEY, purpose, label, ckaId);
    template.set(CKA.VALUE_LEN, spec.size! / 8);
    return { pair: false, mechanism: spec.kind === 'aes' ? CKM.AES_KEY_GEN : CKM.GENERIC_SECRET_KEY_GEN, template, publicTemplate: new Map() };
  }
  const publicTemplate = versionTemplate(CKO.PUBLIC_KEY, purpose, label, ckaId);
  if (spec.kind === 'rsa') publicTemplate.set(CKA.MODULUS_BITS, spec.size!);
  if (spec.kind === 'ec') publicTemplate.set(CKA.EC_PARAMS, CURVES.find((c) => c.name === spec.curve)!.oid);
  if (spec.kind === 'ed25519') publicTemplate.set(CKA.EC_PARAMS, ED25519_OID);
  const mechanism = spec.kind === 'rsa' ? CKM.RSA_PKCS_KEY_PAIR_GEN : spec.kind === 'ec' ? CKM.EC_KEY_PAIR_GEN : CKM.EC_EDWARDS_KEY_PAIR_GEN;
  return { pair: true, mechanism, template: versionTemplate(CKO.PRIVATE_KEY, purpose, label, ckaId), publicTemplate };
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
