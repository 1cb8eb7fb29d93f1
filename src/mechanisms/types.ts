// What a mechanism is, for the registry: identity, key types and sizes, flags, and the
// operations it implements on key material. Mechanisms never check policy (DESIGN.md):
// the core's gate has done that before any of these functions runs.
import type { KeyObject } from '../crypto/node-crypto';

/** Key material as the mechanisms see it; built by the core from a sealed object. */
export interface KeyMaterial {
  keyType: number;
  privateKey?: KeyObject;
  publicKey?: KeyObject;
  secret?: KeyObject;
  /** RSA modulus bits, EC field bits, or secret length in bytes (PKCS#11 CK_MECHANISM_INFO units). */
  size: number;
  /** node curve name for EC / EdDSA keys. */
  curve?: string;
}

/** Mechanism parameters, decoded by a face from its wire form (PKCS#11 2.40 CK_*_PARAMS). */
export interface MechParams {
  iv?: Buffer;
  aad?: Buffer;
  tagBits?: number;
  /** CKM_* hash of PSS/OAEP/HKDF parameters. */
  hashAlg?: number;
  /** CKG_MGF1_* */
  mgf?: number;
  saltLength?: number;
  /** OAEP source data (label). */
  label?: Buffer;
  counterBits?: number;
  /** ECDH peer public point (raw or DER OCTET STRING). */
  publicData?: Buffer;
  salt?: Buffer;
  info?: Buffer;
  /** RSA-AES key wrap: AES key bits of the ephemeral key. */
  aesKeyBits?: number;
  /** Unwrapping with a zero-padding block mode (ECB, CBC): the length to cut the value to (§2.8.3),
   *  from the template's CKA_VALUE_LEN or the key type, or 'der' for a private key (its PKCS#8
   *  encoding says its length). Set by the core, never by a face. */
  valueLen?: number | 'der';
  /** CKM_EDDSA: CK_EDDSA_PARAMS.phFlag (PKCS#11 3.0 §2.3.14), Ed25519ph over SHA-512 of the data. */
  phFlag?: boolean;
  /** With phFlag: the data already is the SHA-512 digest (KMS ED25519_PH_SHA_512, MessageType DIGEST). */
  prehashed?: boolean;
}

export interface GenerateSpec {
  modulusBits?: number;
  publicExponent?: Buffer;
  ecParams?: Buffer;
  valueLen?: number;
}

export type Generated =
  | { kind: 'secret'; material: KeyMaterial; value: Buffer }
  | { kind: 'pair'; material: KeyMaterial };

/** What approved-only mode (FIPS style) takes away from a mechanism; approved.ts is the one place
 *  that reads it (SP 800-131A Rev. 2). */
export interface LegacyRule {
  /** The whole mechanism is legacy (DES3: §4, three-key TDEA encryption disallowed after 2023). */
  always?: boolean;
  /** Keys below this size (CK_MECHANISM_INFO units) are legacy (RSA < 2048 bits, HMAC keys shorter than the hash). */
  minKeySize?: number;
  /** Signing is legacy (SHA-1, SP 800-131A §9); verifying stays allowed ("legacy use"). */
  signing?: boolean;
  /** Signing is legacy for these parameters (CKM_RSA_PKCS_PSS over a SHA-1 digest). */
  signingWith?: (p: MechParams) => boolean;
}

/** The operations a mechanism can implement, by the PKCS#11 function family they serve. */
export type MechanismUse = 'sign' | 'verify' | 'encrypt' | 'decrypt' | 'wrap' | 'unwrap' | 'derive' | 'digest' | 'generate';

export interface MechanismDef {
  type: number;
  name: string;
  keyTypes: readonly number[];
  /** The key-size range the module accepts at all (CK_MECHANISM_INFO units: bits for RSA/EC, bytes for secrets). */
  minKeySize: number;
  maxKeySize: number;
  /** Key sizes allowed inside the range, when not every size is (AES: 16, 24, 32 bytes). */
  keySizes?: readonly number[];
  /** CKF_* bits that are not implied by the functions present (EC curve capabilities); the rest is derived (registry.ts). */
  extraFlags?: number;
  /** What a generate() makes: a secret key (CKF_GENERATE) or a key pair (CKF_GENERATE_KEY_PAIR). */
  generates?: 'secret' | 'pair';
  /** Blocks of this size are encrypted independently (ECB): multi-part input may be processed as whole
   *  blocks arrive, each returned at once (PKCS#11 §5.8 C_EncryptUpdate). */
  blockwise?: number;
  /** The IV length a face draws when the caller gives none (bytes). */
  ivLength?: number;
  /** The hash the signature or MAC applies to the message (hash-and-sign, HMAC; SHA-512 inside Ed25519). */
  hash?: 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
  /** The AWS KMS algorithm (a SigningAlgorithm or MacAlgorithm name) this mechanism implements; the
   *  KMS face builds its tables from these (api/kms/algorithms.ts). */
  kms?: { kind: 'signing' | 'mac'; name: string };
  /** The mechanism that signs a caller's digest the same way (KMS MessageType DIGEST): with
   *  CK_RSA_PKCS_PSS_PARAMS of this mechanism's hash, or over a DigestInfo (PKCS#1 v1.5). */
  overDigest?: { type: number; pssParams?: boolean; digestInfo?: boolean };
  /** ECDSA signatures come out as PKCS#11's raw r‖s; the core converts to DER when a face asks. */
  signature?: 'ecdsa';
  /** What approved-only mode refuses (approved.ts). */
  legacy?: LegacyRule;
  /** The operations (per key type) this mechanism is the default for when a caller names none. */
  defaultFor?: readonly { use: MechanismUse; keyTypes: readonly number[] }[];
  sign?(key: KeyMaterial, data: Buffer, p: MechParams): Promise<Buffer>;
  verify?(key: KeyMaterial, data: Buffer, signature: Buffer, p: MechParams): Promise<boolean>;
  encrypt?(key: KeyMaterial, data: Buffer, p: MechParams): Promise<Buffer>;
  decrypt?(key: KeyMaterial, data: Buffer, p: MechParams): Promise<Buffer>;
  digest?(data: Buffer): Buffer;
  generate?(spec: GenerateSpec): Promise<Generated>;
  wrap?(key: KeyMaterial, keyBytes: Buffer, p: MechParams): Promise<Buffer>;
  unwrap?(key: KeyMaterial, wrapped: Buffer, p: MechParams): Promise<Buffer>;
  /** Returns the derived secret bytes. */
  derive?(key: KeyMaterial, p: MechParams, length: number): Promise<Buffer>;
}
