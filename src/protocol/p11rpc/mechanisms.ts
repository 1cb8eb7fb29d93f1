// CK_MECHANISM on the wire (`M`, docs/p11kit-rpc.md §5.6): u32 type, then a parameter whose
// layout depends on the type and carries no length prefix. The layouts are data: one table
// from mechanism type to parameter codec; every type not in it carries a byte string.
//
// Representation: { type, params } where params is null when the NULL marker was sent
// (what 0.24.1 sends for all 89 parameter-less mechanisms), else one of the typed forms
// below; unknown layouts arrive as { kind: 'bytes' }. Decoding a parameter only checks that
// it is well-formed on the wire; whether its values make sense (IV length, hash, salt) is
// the mechanism layer's call (CKR_MECHANISM_PARAM_INVALID, not a protocol error).
//
// Forward compatibility (§13): the layouts of p11-kit 0.25.0–0.25.5 are decoded too
// (SHAxxx_RSA_PKCS_PSS, ECDH1_DERIVE, AES_CTR, AES_GCM, *_MAC_GENERAL; IVs are plain byte
// strings, so they need no entry). 0.24.1 never sends those types (it refuses them locally),
// so the two readings cannot conflict. The presence-byte `M` of p11-kit ≥ 0.25.6 differs for
// every mechanism and is NOT supported: such clients need a different decoder.
import type { Reader } from './reader';

export type MechanismParams =
  /** Byte-string parameter: an IV, a DH public value, or any layout this table does not know. */
  | { readonly kind: 'bytes'; readonly bytes: Buffer }
  /** CK_RSA_PKCS_PSS_PARAMS: 3 × u64 (§5.6). */
  | { readonly kind: 'rsa-pkcs-pss'; readonly hashAlg: number; readonly mgf: number; readonly sLen: number }
  /** CK_RSA_PKCS_OAEP_PARAMS: 3 × u64 + byte string label (§5.6). */
  | {
    readonly kind: 'rsa-pkcs-oaep'; readonly hashAlg: number; readonly mgf: number;
    readonly source: number; readonly sourceData: Buffer | null;
  }
  /** CK_ECDH1_DERIVE_PARAMS (0.25): u64 kdf, shared data, public data. */
  | { readonly kind: 'ecdh1-derive'; readonly kdf: number; readonly sharedData: Buffer | null; readonly publicData: Buffer | null }
  /** CK_AES_CTR_PARAMS (0.25): u64 counter bits, then the 16-byte counter block as a byte string. */
  | { readonly kind: 'aes-ctr'; readonly counterBits: number; readonly cb: Buffer | null }
  /** CK_GCM_PARAMS (0.25): IV, u64 IV bits, AAD, u64 tag bits. */
  | {
    readonly kind: 'gcm'; readonly iv: Buffer | null; readonly ivBits: number;
    readonly aad: Buffer | null; readonly tagBits: number;
  }
  /** CK_MAC_GENERAL_PARAMS (0.25): one u64, the MAC length in bytes. */
  | { readonly kind: 'mac-general'; readonly macLength: number };

export interface Mechanism {
  readonly type: number;
  readonly params: MechanismParams | null;
}

/** 0.25 marker for a NULL CK_MECHANISM_PTR (C_*Init(NULL) cancels an operation); nothing follows. */
export const NULL_MECHANISM = 0xffffffff;

type ParamReader = (r: Reader) => MechanismParams;

const readPss: ParamReader = (r) => ({
  kind: 'rsa-pkcs-pss', hashAlg: r.readUlong('pss hashAlg'), mgf: r.readUlong('pss mgf'), sLen: r.readUlong('pss sLen'),
});

const readOaep: ParamReader = (r) => ({
  kind: 'rsa-pkcs-oaep', hashAlg: r.readUlong('oaep hashAlg'), mgf: r.readUlong('oaep mgf'),
  source: r.readUlong('oaep source'), sourceData: r.readByteArray('oaep source data'),
});

const readEcdh1: ParamReader = (r) => ({
  kind: 'ecdh1-derive', kdf: r.readUlong('ecdh kdf'),
  sharedData: r.readByteArray('ecdh shared data'), publicData: r.readByteArray('ecdh public data'),
});

const readAesCtr: ParamReader = (r) => ({
  kind: 'aes-ctr', counterBits: r.readUlong('ctr counter bits'), cb: r.readByteArray('ctr block'),
});

const readGcm: ParamReader = (r) => ({
  kind: 'gcm', iv: r.readByteArray('gcm iv'), ivBits: r.readUlong('gcm iv bits'),
  aad: r.readByteArray('gcm aad'), tagBits: r.readUlong('gcm tag bits'),
});

const readMacGeneral: ParamReader = (r) => ({ kind: 'mac-general', macLength: r.readUlong('mac length') });

/** Mechanism type → parameter layout; names as in pkcs11t.h. */
const PARAM_LAYOUTS: ReadonlyMap<number, ParamReader> = new Map<number, ParamReader>([
  [0x0009, readOaep],       // CKM_RSA_PKCS_OAEP (§5.6)
  [0x000d, readPss],        // CKM_RSA_PKCS_PSS (§5.6)
  [0x000e, readPss],        // CKM_SHA1_RSA_PKCS_PSS (0.25)
  [0x0043, readPss],        // CKM_SHA256_RSA_PKCS_PSS
  [0x0044, readPss],        // CKM_SHA384_RSA_PKCS_PSS
  [0x0045, readPss],        // CKM_SHA512_RSA_PKCS_PSS
  [0x0047, readPss],        // CKM_SHA224_RSA_PKCS_PSS
  [0x1050, readEcdh1],      // CKM_ECDH1_DERIVE
  [0x1086, readAesCtr],     // CKM_AES_CTR
  [0x1087, readGcm],        // CKM_AES_GCM
  [0x0222, readMacGeneral], // CKM_SHA_1_HMAC_GENERAL
  [0x0252, readMacGeneral], // CKM_SHA256_HMAC_GENERAL
  [0x0257, readMacGeneral], // CKM_SHA224_HMAC_GENERAL
  [0x0262, readMacGeneral], // CKM_SHA384_HMAC_GENERAL
  [0x0272, readMacGeneral], // CKM_SHA512_HMAC_GENERAL
  [0x004a, readMacGeneral], // CKM_SHA512_224_HMAC_GENERAL
  [0x004e, readMacGeneral], // CKM_SHA512_256_HMAC_GENERAL
  [0x1084, readMacGeneral], // CKM_AES_MAC_GENERAL
  [0x108b, readMacGeneral], // CKM_AES_CMAC_GENERAL
  [0x0135, readMacGeneral], // CKM_DES3_MAC_GENERAL
  [0x0137, readMacGeneral], // CKM_DES3_CMAC_GENERAL
]);

/** The mechanism types whose parameter has a fixed layout rather than a byte string. */
export const STRUCTURED_PARAM_MECHANISMS: readonly number[] = Object.freeze([...PARAM_LAYOUTS.keys()]);

/** `M`: returns null for the NULL-mechanism marker. */
export function readMechanism(r: Reader): Mechanism | null {
  const type = r.readUint32('mechanism type');
  if (type === NULL_MECHANISM) return null;
  const layout = PARAM_LAYOUTS.get(type);
  if (layout) return { type, params: layout(r) };
  const bytes = r.readByteArray('mechanism parameter');
  return { type, params: bytes === null ? null : { kind: 'bytes', bytes } };
}

/** Narrowing helper for the api layer: the params if they have the given kind, else undefined. */
export function paramsOfKind<K extends MechanismParams['kind']>(
  m: Mechanism, kind: K,
): Extract<MechanismParams, { kind: K }> | undefined {
  return m.params !== null && m.params.kind === kind ? (m.params as Extract<MechanismParams, { kind: K }>) : undefined;
}
