// Cryptographic operations with keys: every call is one Operation (gate, audit), the key looked
// up afresh (a face may hold a stale version), its managed key's lifecycle checked, then the
// mechanism runs on the unsealed material. Signature encodings (PKCS#11's raw r‖s or DER) are
// converted here, so no face does crypto. Nothing here logs data or key bytes.
import * as c from '../crypto/node-crypto';
import { derToRaw, rawToDer } from '../crypto/raw-ecdsa';
import { CKA, CKK, CKM, CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { fixedKeyLength, mechanism, requireApprovedUse } from '../mechanisms/registry';
import type { MechanismDef, MechParams, KeyMaterial } from '../mechanisms/types';
import type { HsmObject } from './hsm-object';
import type { KeyReads } from './key-reads';
import type { CreateOptions, KeyService } from './key-service';
import type { Change } from './change';
import type { KeyLimits } from './key-limits';
import type { ObjectStore } from './object-store';
import type { Operations, OpRecord } from './operation';
import { Admitted, checkKeySize, Gate, KeyLifecycle, KeyQuorumState, KeyUse } from './policy/gate';
import type { Caller } from './principal';
import type { Template } from './templates';
import { parseKey } from './key-material';

export const MAX_DATA = 64 * 1024 * 1024;
export const MAX_RANDOM = 1024 * 1024;

/** How a face wants ECDSA signatures: PKCS#11's raw r‖s (default) or DER (openssl, KMS). */
export interface SignatureFormat { signatureFormat?: 'raw' | 'der' }

export class CryptoService {
  lifecycle: (obj: HsmObject) => Promise<KeyLifecycle | undefined> = async () => undefined;
  /** The key's use quorum (key-quorum.ts), checked by the gate after the use itself. */
  keyQuorum: (obj: HsmObject) => Promise<KeyQuorumState | undefined> = async () => undefined;
  /** Per-key authorisation and use counters (key-limits.ts), set by the module. */
  limits?: KeyLimits;

  constructor(private readonly objects: ObjectStore, private readonly reads: KeyReads, private readonly keys: KeyService,
    private readonly gate: Gate, private readonly ops: Operations) {}

  /** The gate's checks for a key use, without using it (C_SignInit and friends, for early errors). */
  checkUse(caller: Caller, obj: HsmObject, use: KeyUse, mechType: number, params: MechParams = {}): Promise<void> {
    return this.ops.run(caller, `key.${use}-init`, async (a, _c, rec) => { await this.prepare(a, obj, use, mechType, rec, params); }, { recordSuccess: false });
  }

  /** The gate, then material, its size check and the partition's approved-only mode
   *  (mechanisms/approved.ts, the same rule KeyService applies when keys are made); shared by every keyed operation. */
  private async prepare(a: Admitted, obj: HsmObject, use: KeyUse, mechType: number, rec: OpRecord, params: MechParams = {},
    change?: Change): Promise<{ key: HsmObject; mech: MechanismDef; material: KeyMaterial }> {
    rec.object = obj.id;
    this.gate.requireAble(a, 'key.use');
    const mech = mechanism(mechType);
    rec.detail = mech.name;
    const key = await this.reads.current(a, obj);
    this.gate.checkUse(a, key, use, mech, await this.lifecycle(key));
    this.gate.checkKeyQuorum(key, await this.keyQuorum(key));
    const material = this.objects.material(key);
    checkKeySize(mech, material.size);
    requireApprovedUse(a.policy.approvedOnly, mech, use, material.size, params);
    // A real use (not an *Init's early check): spend the context-specific login, take one use.
    if (change) await this.limits?.beforeUse(a, change, key);
    return { key, mech, material };
  }

  sign(caller: Caller, obj: HsmObject, mechType: number, params: MechParams, data: Buffer, opts: SignatureFormat = {}): Promise<Buffer> {
    return this.ops.run(caller, 'key.sign', async (a, change, rec) => {
      checkSize(data);
      const { mech, material } = await this.prepare(a, obj, 'sign', mechType, rec, params, change);
      const sig = await mech.sign!(material, data, params);
      return opts.signatureFormat === 'der' && mech.signature === 'ecdsa' ? rawToDer(material.curve!, sig) : sig;
    });
  }

  /** False for a signature that does not verify (a DER signature that does not parse does not verify). */
  verify(caller: Caller, obj: HsmObject, mechType: number, params: MechParams, data: Buffer, signature: Buffer, opts: SignatureFormat = {}): Promise<boolean> {
    return this.ops.run(caller, 'key.verify', async (a, change, rec) => {
      checkSize(data);
      const { mech, material } = await this.prepare(a, obj, 'verify', mechType, rec, params, change);
      let sig = signature;
      if (opts.signatureFormat === 'der' && mech.signature === 'ecdsa') {
        try { sig = derToRaw(material.curve!, signature); } catch { return false; }
      }
      return mech.verify!(material, data, sig, params);
    });
  }

  encrypt(caller: Caller, obj: HsmObject, mechType: number, params: MechParams, data: Buffer): Promise<Buffer> {
    return this.ops.run(caller, 'key.encrypt', async (a, change, rec) => {
      checkSize(data);
      const { mech, material } = await this.prepare(a, obj, 'encrypt', mechType, rec, params, change);
      return mech.encrypt!(material, data, params);
    });
  }

  decrypt(caller: Caller, obj: HsmObject, mechType: number, params: MechParams, data: Buffer): Promise<Buffer> {
    return this.ops.run(caller, 'key.decrypt', async (a, change, rec) => {
      checkSize(data);
      const { mech, material } = await this.prepare(a, obj, 'decrypt', mechType, rec, params, change);
      return mech.decrypt!(material, data, params);
    });
  }

  /** Encryption whose IV the module makes (`ivBytes` fresh random bytes; AES-GCM, AES-CBC): no caller
   *  can choose, and so reuse, one. Returns the IV with the mechanism's output. */
  encryptWithIv(caller: Caller, obj: HsmObject, mechType: number, params: Omit<MechParams, 'iv'>, data: Buffer, ivBytes: number): Promise<{ iv: Buffer; data: Buffer }> {
    return this.ops.run(caller, 'key.encrypt', async (a, change, rec) => {
      checkSize(data);
      if (!Number.isSafeInteger(ivBytes) || ivBytes < 8 || ivBytes > 16) throw new HsmError('MECHANISM_PARAM_INVALID', 'IVs are 8-16 bytes');
      const { mech, material } = await this.prepare(a, obj, 'encrypt', mechType, rec, {}, change);
      const iv = c.randomBytes(ivBytes);
      return { iv, data: await mech.encrypt!(material, data, { ...params, iv }) };
    });
  }

  /** Wraps bytes the caller gives (Key Vault wrapKey: a key held outside the module) under a key
   *  whose CKA_WRAP allows it; unlike C_WrapKey no object of the module is wrapped. */
  wrapData(caller: Caller, obj: HsmObject, mechType: number, params: MechParams, data: Buffer): Promise<Buffer> {
    return this.ops.run(caller, 'key.wrap', async (a, change, rec) => {
      checkSize(data);
      const { mech, material } = await this.prepare(a, obj, 'wrap', mechType, rec, {}, change);
      if (!mech.wrap) throw new HsmError('MECHANISM_INVALID', `${mech.name} cannot wrap`);
      return mech.wrap(material, data, params);
    });
  }

  /** The inverse of wrapData: the bytes go back to the caller (CKA_UNWRAP), no object is made. */
  unwrapData(caller: Caller, obj: HsmObject, mechType: number, params: MechParams, wrapped: Buffer): Promise<Buffer> {
    return this.ops.run(caller, 'key.unwrap', async (a, change, rec) => {
      checkSize(wrapped);
      const { mech, material } = await this.prepare(a, obj, 'unwrap', mechType, rec, {}, change);
      if (!mech.unwrap) throw new HsmError('MECHANISM_INVALID', `${mech.name} cannot unwrap`);
      return mech.unwrap(material, wrapped, params);
    });
  }

  /** A deep health check that uses no customer key (XKS GetHealthStatus): an AES-256-GCM round trip
   *  through the registry's mechanism with a fresh key, and the random generator. Refusals recorded. */
  selfCheck(caller: Caller): Promise<void> {
    return this.ops.run(caller, 'module.health', async (a) => {
      this.gate.authorize(a, 'random');
      const gcm = mechanism(CKM.AES_GCM);
      const value = c.randomBytes(32);
      const material = { keyType: CKK.AES, secret: c.secretKey(value), size: 32 };
      value.fill(0);
      const probe = c.randomBytes(32);
      const params = { iv: c.randomBytes(12), aad: Buffer.from('inkan-health'), tagBits: 128 };
      const back = await gcm.decrypt!(material, await gcm.encrypt!(material, probe, params), params);
      if (!c.timingSafeEqual(back, probe)) throw new HsmError('INTERNAL', 'the health check round trip failed');
    }, { recordSuccess: false });
  }

  digest(caller: Caller, mechType: number, data: Buffer): Promise<Buffer> {
    return this.ops.run(caller, 'digest', async (a, _c, rec) => {
      this.gate.authorize(a, 'digest');
      checkSize(data);
      const mech = mechanism(mechType);
      rec.detail = mech.name;
      if (!mech.digest) throw new HsmError('MECHANISM_INVALID', `${mech.name} is not a digest`);
      return mech.digest(data);
    }, { recordSuccess: false });
  }

  random(caller: Caller, n: number): Promise<Buffer> {
    return this.ops.run(caller, 'random', async (a) => {
      this.gate.authorize(a, 'random');
      if (!Number.isSafeInteger(n) || n < 0 || n > MAX_RANDOM) throw new HsmError('DATA_LEN_RANGE', `random length must be 0-${MAX_RANDOM}`);
      // A thread-pool hop costs more than drawing a few KiB; only large requests leave the event loop.
      return n <= 4096 ? c.randomBytes(n) : c.randomBytesAsync(n);
    }, { recordSuccess: false });
  }

  /** C_WrapKey: the target must be extractable; CKA_WRAP_WITH_TRUSTED needs a trusted wrapping key (§4.9). */
  wrap(caller: Caller, wrapping: HsmObject, mechType: number, params: MechParams, target: HsmObject): Promise<Buffer> {
    return this.ops.run(caller, 'key.wrap', async (a, change, rec) => {
      const { key, mech, material } = await this.prepare(a, wrapping, 'wrap', mechType, rec, params, change);
      const t = await this.reads.current(a, target);
      this.gate.checkWrapTarget(a, key, t, await this.lifecycle(t));
      rec.object = t.id;
      rec.detail = `${mech.name} by ${key.id}`;
      const value = this.objects.secretValue(t);
      try { return await mech.wrap!(material, value, params); } finally { value.fill(0); }
    });
  }

  /** C_UnwrapKey: the template says what the unwrapped bytes are (class, key type). One transaction. */
  unwrap(caller: Caller, unwrapping: HsmObject, mechType: number, params: MechParams, wrapped: Buffer, template: Template): Promise<HsmObject> {
    return this.ops.run(caller, 'key.unwrap', (a, change, rec) => this.unwrapIn(a, change, rec, unwrapping, mechType, params, wrapped, template));
  }

  /** The same inside another operation's transaction (KMS ImportKeyMaterial makes a managed key's version). */
  async unwrapIn(a: Admitted, change: Change, rec: OpRecord, unwrapping: HsmObject, mechType: number, params: MechParams, wrapped: Buffer, template: Template,
    opts: CreateOptions = {}): Promise<HsmObject> {
    checkSize(wrapped);
    const { mech, material, key } = await this.prepare(a, unwrapping, 'unwrap', mechType, rec, params, change);
    const cls = template.get(CKA.CLASS);
    if (cls !== CKO.SECRET_KEY && cls !== CKO.PRIVATE_KEY) throw new HsmError('TEMPLATE_INCOMPLETE', 'the template must give CKA_CLASS secret or private key');
    // Zero-padding block modes cut the value to the template's length (§2.8.3); a private key's DER says its own.
    const valueLen = cls === CKO.PRIVATE_KEY ? 'der' as const : (template.get(CKA.VALUE_LEN) as number | undefined) ?? fixedKeyLength(template.get(CKA.KEY_TYPE) as number | undefined);
    const value = await mech.unwrap!(material, wrapped, { ...params, valueLen });
    try {
      const t = new Map(template);
      let obj: HsmObject;
      if (cls === CKO.SECRET_KEY) {
        t.set(CKA.VALUE, value);
        obj = await this.keys.createObjectIn(a, change, t, opts);
      } else {
        // Check what the bytes are before anything is stored: a public key, unparsable bytes or a key
        // of another type than CKA_KEY_TYPE asks for must fail without leaving an object behind.
        let parsed: ReturnType<typeof parseKey>;
        try { parsed = parseKey(value); } catch { throw new HsmError('WRAPPED_KEY_INVALID'); }
        if (parsed.cls !== CKO.PRIVATE_KEY) throw new HsmError('WRAPPED_KEY_INVALID');
        if (t.has(CKA.KEY_TYPE) && t.get(CKA.KEY_TYPE) !== parsed.keyType) throw new HsmError('TEMPLATE_INCONSISTENT', 'CKA_KEY_TYPE does not match the unwrapped key');
        t.delete(CKA.CLASS);
        t.delete(CKA.KEY_TYPE);
        obj = await this.keys.importKeyIn(a, change, value, 'key', t, opts);
      }
      rec.object = obj.id;
      rec.detail = `${mech.name} by ${key.id}`;
      return obj;
    } finally { value.fill(0); }
  }

  /** Key agreement whose result goes back to the caller (KMS DeriveSharedSecret); the same gate as C_DeriveKey. */
  deriveSecret(caller: Caller, base: HsmObject, mechType: number, params: MechParams, length: number): Promise<Buffer> {
    return this.ops.run(caller, 'key.derive', async (a, change, rec) => {
      const { mech, material } = await this.prepare(a, base, 'derive', mechType, rec, params, change);
      return mech.derive!(material, params, length);
    });
  }

  /** C_DeriveKey (ECDH1, HKDF): the new secret key's length comes from CKA_VALUE_LEN or the key type. */
  derive(caller: Caller, base: HsmObject, mechType: number, params: MechParams, template: Template): Promise<HsmObject> {
    return this.ops.run(caller, 'key.derive', async (a, change, rec) => {
      const { mech, material, key } = await this.prepare(a, base, 'derive', mechType, rec, params, change);
      const len = (template.get(CKA.VALUE_LEN) as number | undefined) ?? 32;
      const value = await mech.derive!(material, params, len);
      try {
        const t = new Map(template);
        t.set(CKA.CLASS, CKO.SECRET_KEY);
        t.delete(CKA.VALUE_LEN);
        t.set(CKA.VALUE, value);
        const obj = await this.keys.createObjectIn(a, change, t);
        rec.object = obj.id;
        rec.detail = `${mech.name} from ${key.id}`;
        return obj;
      } finally { value.fill(0); }
    });
  }

  /** A key pair generated inside the module and handed out, never stored (KMS GenerateDataKeyPair):
   *  made by the registry's generation mechanism, recorded like any generation. */
  generateDataKeyPair(caller: Caller, mechType: number, spec: { modulusBits?: number; ecParams?: Buffer }): Promise<{ pkcs8: Buffer; spki: Buffer }> {
    return this.ops.run(caller, 'key.generate-data-pair', async (a, _c, rec) => {
      this.gate.authorize(a, 'key.create');
      const mech = mechanism(mechType);
      rec.detail = mech.name;
      if (!mech.generate) throw new HsmError('MECHANISM_INVALID', `${mech.name} does not generate keys`);
      requireApprovedUse(a.policy.approvedOnly, mech, 'generate', spec.modulusBits);
      const gen = await mech.generate(spec);
      if (gen.kind !== 'pair') throw new HsmError('MECHANISM_INVALID', `${mech.name} does not generate key pairs`);
      return { pkcs8: c.exportPkcs8(gen.material.privateKey!), spki: c.exportSpki(gen.material.publicKey!) };
    });
  }
}

function checkSize(data: Buffer): void {
  if (data.length > MAX_DATA) throw new HsmError('DATA_LEN_RANGE', 'input too large');
}
