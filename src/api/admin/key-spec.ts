// Translates the admin API's friendly key specs ("rsa", size 3072, usage [sign]) and
// parameter objects into PKCS#11 templates and mechanism parameters for the core.
import { CKA, CKM, CKO } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import { curveByName, ED25519_OID } from '../../mechanisms/key-types';
import { HASHES } from '../../mechanisms/hashes';
import { allMechanisms, defaultMechanism, mechanismByName } from '../../mechanisms/registry';
import type { MechParams } from '../../mechanisms/types';
import type { HsmObject } from '../../core/hsm-object';
import type { AttrValue } from '../../core/attributes';
import { bool, bytes, int, str, strList } from './http-util';

type Body = Record<string, unknown>;

export interface KeyGenPlan {
  mechanism: number;
  pair: boolean;
  template: Map<number, AttrValue>;
  publicTemplate: Map<number, AttrValue>;
}

export const USAGE: Record<string, number> = {
  encrypt: CKA.ENCRYPT, decrypt: CKA.DECRYPT, sign: CKA.SIGN, verify: CKA.VERIFY,
  wrap: CKA.WRAP, unwrap: CKA.UNWRAP, derive: CKA.DERIVE,
};
/** What a key type may do when a request gives no `usage`: the usual job of each kind of key, not
 *  everything (the one definition: the CLI and the console send no usage when none is asked for).
 *  For a pair each usage goes to the half it fits: sign to the private key, verify to the public one. */
export const DEFAULT_USAGE: Readonly<Record<string, readonly string[]>> = Object.freeze({
  rsa: ['sign', 'verify'], ec: ['sign', 'verify'], ed25519: ['sign', 'verify'],
  aes: ['encrypt', 'decrypt', 'wrap', 'unwrap'],
  hmac: ['sign', 'verify'], generic: ['sign', 'verify'], 'generic-secret': ['sign', 'verify'],
});
const PUBLIC_USAGE = new Set([CKA.ENCRYPT, CKA.VERIFY, CKA.WRAP]);
const PRIVATE_USAGE = new Set([CKA.DECRYPT, CKA.SIGN, CKA.UNWRAP, CKA.DERIVE]);

/** Label, id, extractable, sensitive, usage and allowed mechanisms common to generate and import. */
export function commonTemplate(body: Body, cls: number): Map<number, AttrValue> {
  const t = new Map<number, AttrValue>();
  const label = str(body, 'label', false);
  if (label !== undefined) t.set(CKA.LABEL, label);
  const id = str(body, 'ckaId', false);
  if (id !== undefined) {
    if (!/^([0-9a-fA-F]{2})*$/.test(id)) throw new HsmError('BAD_REQUEST', 'ckaId must be hex');
    t.set(CKA.ID, Buffer.from(id, 'hex'));
  }
  t.set(CKA.TOKEN, true);
  if (cls !== CKO.PUBLIC_KEY) {
    const extractable = bool(body, 'extractable');
    const sensitive = bool(body, 'sensitive');
    if (extractable !== undefined) t.set(CKA.EXTRACTABLE, extractable);
    if (sensitive !== undefined) t.set(CKA.SENSITIVE, sensitive);
  }
  const usage = strList(body, 'usage');
  if (usage) {
    const wanted = new Set(usage.map((u) => {
      const a = USAGE[u.toLowerCase()];
      if (a === undefined) throw new HsmError('BAD_REQUEST', `unknown usage ${u}`);
      return a;
    }));
    const applies = cls === CKO.SECRET_KEY ? Object.values(USAGE) : [...(cls === CKO.PUBLIC_KEY ? PUBLIC_USAGE : PRIVATE_USAGE)];
    for (const a of applies) t.set(a, wanted.has(a));
  }
  const allowed = strList(body, 'allowedMechanisms');
  if (allowed) t.set(CKA.ALLOWED_MECHANISMS, allowed.map((m) => mechanismByName(m).type));
  return t;
}

/** `type` is rsa | ec | ed25519 | aes | hmac (generic secret); `size` bits (rsa, aes) or bytes (hmac); `curve` for ec;
 *  no `usage`: the type's DEFAULT_USAGE. */
export function keyGenPlan(request: Body): KeyGenPlan {
  const type = (str(request, 'type') ?? '').toLowerCase();
  const defaults = Object.hasOwn(DEFAULT_USAGE, type) ? DEFAULT_USAGE[type] : undefined;
  const body: Body = request.usage == null && defaults ? { ...request, usage: [...defaults] } : request;
  const size = int(body, 'size');
  const secretT = () => commonTemplate(body, CKO.SECRET_KEY);
  const pair = (mechanism: number, pub: Map<number, AttrValue>): KeyGenPlan => {
    const publicTemplate = commonTemplate(body, CKO.PUBLIC_KEY);
    for (const [k, v] of pub) publicTemplate.set(k, v);
    return { mechanism, pair: true, template: commonTemplate(body, CKO.PRIVATE_KEY), publicTemplate };
  };
  switch (type) {
    case 'rsa':
      return pair(CKM.RSA_PKCS_KEY_PAIR_GEN, new Map([[CKA.MODULUS_BITS, size ?? 2048]]));
    case 'ec': {
      const curve = curveByName(str(body, 'curve', false) ?? 'P-256');
      if (!curve) throw new HsmError('CURVE_NOT_SUPPORTED', 'curve must be P-256, P-384, P-521 or secp256k1');
      return pair(CKM.EC_KEY_PAIR_GEN, new Map([[CKA.EC_PARAMS, curve.oid]]));
    }
    case 'ed25519':
      return pair(CKM.EC_EDWARDS_KEY_PAIR_GEN, new Map([[CKA.EC_PARAMS, ED25519_OID]]));
    case 'aes': {
      const t = secretT();
      t.set(CKA.VALUE_LEN, (size ?? 256) / 8);
      return { mechanism: CKM.AES_KEY_GEN, pair: false, template: t, publicTemplate: new Map() };
    }
    case 'hmac': case 'generic': case 'generic-secret': {
      const t = secretT();
      t.set(CKA.VALUE_LEN, size ?? 32);
      return { mechanism: CKM.GENERIC_SECRET_KEY_GEN, pair: false, template: t, publicTemplate: new Map() };
    }
    default:
      throw new HsmError('BAD_REQUEST', 'type must be rsa, ec, ed25519, aes or hmac');
  }
}

/** The operations a request may leave the mechanism of to the registry's defaults (MechanismDef.defaultFor). */
export type DefaultedUse = 'sign' | 'encrypt' | 'wrap' | 'derive';

/** The mechanism a request names, or the usual one for the key type and operation (the registry's data). */
export function chooseMechanism(body: Body, key: HsmObject, op: DefaultedUse): number {
  const name = str(body, 'mechanism', false);
  if (name) return mechanismByName(name).type;
  const m = defaultMechanism(op, key.keyType ?? -1);
  if (m === undefined) throw new HsmError('MECHANISM_INVALID', `no default ${op} mechanism for this key; name one`);
  return m.type;
}

/** Mechanism parameters from JSON: binary fields in base64, `hash` by name (sha256). */
export function mechParams(p: Body): MechParams {
  const hashName = str(p, 'hash', false);
  const hash = hashName ? HASHES.find((h) => h.name === hashName.toLowerCase().replace('-', '')) : undefined;
  if (hashName && !hash) throw new HsmError('MECHANISM_PARAM_INVALID', `unknown hash ${hashName}`);
  return {
    iv: bytes(p, 'iv', false), aad: bytes(p, 'aad', false), tagBits: int(p, 'tagBits'),
    hashAlg: hash?.ckm, mgf: hash?.mgf, saltLength: int(p, 'saltLength'), label: bytes(p, 'label', false),
    counterBits: int(p, 'counterBits'), publicData: bytes(p, 'publicData', false), salt: bytes(p, 'salt', false),
    info: bytes(p, 'info', false), aesKeyBits: int(p, 'aesKeyBits'),
  };
}

/** Modes that need an IV get a fresh random one when the caller gives none (returned in the answer);
 *  the lengths are the registry's (MechanismDef.ivLength). */
export const IV_LENGTH: Readonly<Record<number, number>> = Object.freeze(Object.fromEntries(
  allMechanisms().filter((m) => m.ivLength !== undefined).map((m) => [m.type, m.ivLength!])));
