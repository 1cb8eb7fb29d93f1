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

export interface MechanismDef {
  type: number;
  name: string;
  keyTypes: readonly number[];
  minKeySize: number;
  maxKeySize: number;
  /** CKF_* bits for C_GetMechanismInfo. */
  flags: number;
  /** Hash algorithm name for hash-and-sign mechanisms (used by faces for multi-part and KMS names). */
  hash?: 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
  /** ECDSA signatures come out as PKCS#11's raw r‖s; the core converts to DER when a face asks. */
  signature?: 'ecdsa';
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
