// Cryptographic operations with keys: every call passes the policy gate, then the
// mechanism runs on the unsealed key material. Nothing here logs data or key bytes.
import * as c from '../crypto/node-crypto';
import { CKA, CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { mechanism } from '../mechanisms/registry';
import type { MechanismDef, MechParams } from '../mechanisms/types';
import type { HsmObject } from './hsm-object';
import { checkKeySize, checkUse, checkWrapTarget, KeyUse } from './policy/gate';
import type { Caller } from './principal';
import type { EventSink, KeyService } from './key-service';
import type { Template } from './templates';
import { parseKey } from './key-material';

export const MAX_DATA = 64 * 1024 * 1024;
export const MAX_RANDOM = 1024 * 1024;

export class CryptoService {
  constructor(private readonly keys: KeyService, private readonly emit: EventSink = () => {}) {}

  /** The gate, then material and its size check; shared by every keyed operation. */
  private prepare(caller: Caller, obj: HsmObject, use: KeyUse, mechType: number) {
    const mech = mechanism(mechType);
    checkUse(caller, obj, use, mech);
    const material = this.keys.material(obj);
    checkKeySize(mech, material.size);
    return { mech, material };
  }

  private record(caller: Caller, op: string, obj: HsmObject, mech: MechanismDef): void {
    this.emit({ caller, op, objectId: obj.id, detail: mech.name });
  }

  async sign(caller: Caller, obj: HsmObject, mechType: number, params: MechParams, data: Buffer): Promise<Buffer> {
    checkSize(data);
    const { mech, material } = this.prepare(caller, obj, 'sign', mechType);
    const sig = await mech.sign!(material, data, params);
    this.record(caller, 'key.sign', obj, mech);
    return sig;
  }

  async verify(caller: Caller, obj: HsmObject, mechType: number, params: MechParams, data: Buffer, signature: Buffer): Promise<boolean> {
    checkSize(data);
    const { mech, material } = this.prepare(caller, obj, 'verify', mechType);
    const ok = await mech.verify!(material, data, signature, params);
    this.record(caller, 'key.verify', obj, mech);
    return ok;
  }

  async encrypt(caller: Caller, obj: HsmObject, mechType: number, params: MechParams, data: Buffer): Promise<Buffer> {
    checkSize(data);
    const { mech, material } = this.prepare(caller, obj, 'encrypt', mechType);
    const out = await mech.encrypt!(material, data, params);
    this.record(caller, 'key.encrypt', obj, mech);
    return out;
  }

  async decrypt(caller: Caller, obj: HsmObject, mechType: number, params: MechParams, data: Buffer): Promise<Buffer> {
    checkSize(data);
    const { mech, material } = this.prepare(caller, obj, 'decrypt', mechType);
    const out = await mech.decrypt!(material, data, params);
    this.record(caller, 'key.decrypt', obj, mech);
    return out;
  }

  digest(mechType: number, data: Buffer): Buffer {
    checkSize(data);
    const mech = mechanism(mechType);
    if (!mech.digest) throw new HsmError('MECHANISM_INVALID', `${mech.name} is not a digest`);
    return mech.digest(data);
  }

  async random(n: number): Promise<Buffer> {
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_RANDOM) throw new HsmError('DATA_LEN_RANGE', `random length must be 0-${MAX_RANDOM}`);
    // A thread-pool hop costs more than drawing a few KiB; only large requests leave the event loop.
    return n <= 4096 ? c.randomBytes(n) : c.randomBytesAsync(n);
  }

  /** C_WrapKey: the target must be extractable; CKA_WRAP_WITH_TRUSTED needs a trusted wrapping key (§4.9). */
  async wrap(caller: Caller, wrapping: HsmObject, mechType: number, params: MechParams, target: HsmObject): Promise<Buffer> {
    const { mech, material } = this.prepare(caller, wrapping, 'wrap', mechType);
    checkWrapTarget(caller, wrapping, target);
    const value = this.keys.wrappableValue(target);
    try {
      const out = await mech.wrap!(material, value, params);
      this.emit({ caller, op: 'key.wrap', objectId: target.id, detail: `${mech.name} by ${wrapping.id}` });
      return out;
    } finally { value.fill(0); }
  }

  /** C_UnwrapKey: the template says what the unwrapped bytes are (class, key type). */
  async unwrap(caller: Caller, unwrapping: HsmObject, mechType: number, params: MechParams, wrapped: Buffer, template: Template): Promise<HsmObject> {
    checkSize(wrapped);
    const { mech, material } = this.prepare(caller, unwrapping, 'unwrap', mechType);
    const cls = template.get(CKA.CLASS);
    if (cls !== CKO.SECRET_KEY && cls !== CKO.PRIVATE_KEY) throw new HsmError('TEMPLATE_INCOMPLETE', 'the template must give CKA_CLASS secret or private key');
    const value = await mech.unwrap!(material, wrapped, params);
    try {
      const t = new Map(template);
      let obj: HsmObject;
      if (cls === CKO.SECRET_KEY) {
        t.set(CKA.VALUE, value);
        obj = await this.keys.createObject(caller, t);
      } else {
        // Check what the bytes are before anything is stored: a public key, unparsable bytes or a key
        // of another type than CKA_KEY_TYPE asks for must fail without leaving an object behind.
        let parsed: ReturnType<typeof parseKey>;
        try { parsed = parseKey(value); } catch { throw new HsmError('WRAPPED_KEY_INVALID'); }
        if (parsed.cls !== CKO.PRIVATE_KEY) throw new HsmError('WRAPPED_KEY_INVALID');
        if (t.has(CKA.KEY_TYPE) && t.get(CKA.KEY_TYPE) !== parsed.keyType) throw new HsmError('TEMPLATE_INCONSISTENT', 'CKA_KEY_TYPE does not match the unwrapped key');
        obj = await this.keys.importKey(caller, value, 'key', withoutClass(t));
      }
      this.emit({ caller, op: 'key.unwrap', objectId: obj.id, detail: mech.name });
      return obj;
    } finally { value.fill(0); }
  }

  /** Key agreement whose result goes back to the caller rather than into a new object
   *  (KMS DeriveSharedSecret); the same gate as C_DeriveKey. */
  async deriveSecret(caller: Caller, base: HsmObject, mechType: number, params: MechParams, length: number): Promise<Buffer> {
    const { mech, material } = this.prepare(caller, base, 'derive', mechType);
    const value = await mech.derive!(material, params, length);
    this.record(caller, 'key.derive', base, mech);
    return value;
  }

  /** C_DeriveKey (ECDH1, HKDF): the new secret key's length comes from CKA_VALUE_LEN or the key type. */
  async derive(caller: Caller, base: HsmObject, mechType: number, params: MechParams, template: Template): Promise<HsmObject> {
    const { mech, material } = this.prepare(caller, base, 'derive', mechType);
    const len = (template.get(CKA.VALUE_LEN) as number | undefined) ?? 32;
    const value = await mech.derive!(material, params, len);
    try {
      const t = new Map(template);
      t.set(CKA.CLASS, CKO.SECRET_KEY);
      t.delete(CKA.VALUE_LEN);
      t.set(CKA.VALUE, value);
      const obj = await this.keys.createObject(caller, t);
      this.emit({ caller, op: 'key.derive', objectId: obj.id, detail: `${mech.name} from ${base.id}` });
      return obj;
    } finally { value.fill(0); }
  }
}

function withoutClass(t: Template): Template {
  const out = new Map(t);
  out.delete(CKA.CLASS);
  out.delete(CKA.KEY_TYPE);
  return out;
}

function checkSize(data: Buffer): void {
  if (data.length > MAX_DATA) throw new HsmError('DATA_LEN_RANGE', 'input too large');
}
