// The face-neutral key port (key-port.ts) implemented over the core, shared by the Key Vault and
// XKS faces: a key is a managed key named in its partition (names kind 'akv-key'), a port version
// is one of its versions, and every call is one core operation for the caller (hsm.managed,
// hsm.names, hsm.lookup, hsm.crypto: gate and audit). Refusals come back as KeyPortErrors.
import * as c from '../crypto/node-crypto';
import { CKM } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import type { ErrorCode } from '../errors/catalog';
import { hashByName } from '../mechanisms/hashes';
import type { Hsm } from '../core/hsm';
import type { Caller } from '../core/principal';
import type { KeySpec } from '../core/key-specs';
import type { KeyVersion as CoreVersion, ManagedKey, VersionInfo } from '../core/managed-keys';
import {
  KeyPortError, type CallContext, type CipherAlgorithm, type DecryptInput, type DecryptOutput, type EcCurve, type EncryptInput,
  type EncryptOutput, type KeyKind, type KeyPortErrorCode, type KeyRef, type KeyVersion, type PublicKey, type SignAlgorithm,
} from './key-port';

/** The names Key Vault keys (and XKS external key ids) have in a partition. */
export const KEY_NAME_KIND = 'akv-key';
const KEY_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface CorePortOptions {
  /** Days a deleted key stays recoverable (Key Vault's retention), and whether it may be purged before. */
  retentionDays: number;
  purgeProtected: boolean;
}

const PORT_ERRORS: Partial<Record<ErrorCode, KeyPortErrorCode>> = {
  KEY_NOT_FOUND: 'not-found', ALIAS_EXISTS: 'exists', EXISTS: 'exists',
  FORBIDDEN: 'forbidden', NOT_OWNER: 'forbidden', KEY_ACCESS_DENIED: 'forbidden', AUTH_REQUIRED: 'forbidden', SESSION_REVOKED: 'forbidden',
  KEY_DISABLED: 'disabled', KEY_PENDING_DELETION: 'disabled', KEY_EXPIRED: 'expired', KEY_NOT_YET_VALID: 'not-yet-valid',
  KEY_FUNCTION_NOT_PERMITTED: 'use-not-permitted', MECHANISM_NOT_ALLOWED: 'use-not-permitted',
  KEY_TYPE_INCONSISTENT: 'algorithm-mismatch', MECHANISM_INVALID: 'algorithm-mismatch',
  ENCRYPTED_DATA_INVALID: 'decrypt-failed', ENCRYPTED_DATA_LEN_RANGE: 'decrypt-failed', WRAPPED_KEY_INVALID: 'decrypt-failed',
  DATA_LEN_RANGE: 'invalid-input', DATA_INVALID: 'invalid-input', BAD_REQUEST: 'invalid-input', KEY_SIZE_RANGE: 'invalid-input',
  CURVE_NOT_SUPPORTED: 'invalid-input', KEY_IMPORT_INVALID: 'invalid-input', KEY_MATERIAL_INCORRECT: 'invalid-input',
  MECHANISM_PARAM_INVALID: 'invalid-input', ATTRIBUTE_VALUE_INVALID: 'invalid-input', TEMPLATE_INCONSISTENT: 'invalid-input',
  TEMPLATE_INCOMPLETE: 'invalid-input', NOT_SUPPORTED: 'invalid-input', KEY_STATE_INVALID: 'invalid-input',
  KEY_PURGE_PROTECTED: 'purge-protected', BACKUP_INVALID: 'invalid-backup',
  LOGIN_THROTTLED: 'throttled', QUOTA_EXCEEDED: 'throttled', BUSY: 'throttled',
  SEALED: 'unavailable', NOT_INITIALIZED: 'unavailable', SELF_TEST_FAILED: 'unavailable', AUDIT_FAILED: 'unavailable', DEVICE_MEMORY: 'unavailable',
};

/** The core's refusal in the port's terms (its message is already safe to show); anything else is rethrown. */
export function toPortError(err: unknown): unknown {
  if (!(err instanceof HsmError)) return err;
  const code = PORT_ERRORS[err.code];
  return code ? new KeyPortError(code, err.message) : err;
}

export async function guarded<T>(fn: () => Promise<T>): Promise<T> {
  try { return await fn(); } catch (err) { throw toPortError(err); }
}

export const notFound = (name: string, version?: string) =>
  new KeyPortError('not-found', `A key with (name/id) ${name}${version ? `/${version}` : ''} was not found in this key vault.`);

export const isSoftDeleted = (k: ManagedKey) => k.state === 'pending-deletion' && k.data.deletion?.kind === 'soft';

/** The port's kind of a core key spec; undefined for kinds the port cannot name (Ed25519, HMAC). */
export function kindOf(spec: KeySpec, publicExponent = 65537): KeyKind | undefined {
  if (spec.kind === 'rsa' && (spec.size === 2048 || spec.size === 3072 || spec.size === 4096)) return { type: 'rsa', bits: spec.size, publicExponent };
  if (spec.kind === 'ec' && ['P-256', 'P-384', 'P-521', 'secp256k1'].includes(spec.curve ?? '')) return { type: 'ec', curve: spec.curve as EcCurve };
  if (spec.kind === 'aes' && (spec.size === 128 || spec.size === 192 || spec.size === 256)) return { type: 'aes', bits: spec.size };
  return undefined;
}

export function specOf(kind: KeyKind): KeySpec {
  if (kind.type === 'rsa') return { kind: 'rsa', size: kind.bits };
  if (kind.type === 'ec') return { kind: 'ec', curve: kind.curve };
  return { kind: 'aes', size: kind.bits };
}

function publicKeyOf(spki: Buffer | undefined): PublicKey | undefined {
  if (!spki) return undefined;
  const jwk = c.exportJwk(c.publicKeyFromDer(spki));
  const b = (s?: string) => Buffer.from(s ?? '', 'base64url');
  if (jwk.kty === 'RSA') return { type: 'rsa', n: b(jwk.n), e: b(jwk.e) };
  return { type: 'ec', curve: jwk.crv as EcCurve, x: b(jwk.x), y: b(jwk.y) };
}

const OAEP = (hash: 'sha1' | 'sha256') => { const h = hashByName(hash); return { hashAlg: h.ckm, mgf: h.mgf }; };
const GCM_TAG = 16;

export class CoreKeyPort {
  constructor(protected readonly hsm: Hsm, protected readonly opts: CorePortOptions) {}

  /** The core caller of a call, with the face's audit context (XKS requestMetadata) if any. */
  protected callerOf(ctx: CallContext<Caller>): Caller {
    if (!ctx.audit) return ctx.caller;
    const context = Object.entries(ctx.audit).map(([k, v]) => `${k}=${v.replace(/[^\x21-\x7e]/g, '?').slice(0, 160)}`).join(' ');
    return { ...ctx.caller, context: context.slice(0, 400) };
  }

  /** The managed key a name points at (live or soft-deleted), as the caller sees it. A key made
   *  through another face (KMS, PKCS#11) has no such name: it is reached by its key id. */
  protected async named(caller: Caller, name: string): Promise<ManagedKey> {
    try {
      const id = await this.hsm.names.resolve(caller, KEY_NAME_KIND, name).catch((err) => {
        if (err instanceof HsmError && err.code === 'KEY_NOT_FOUND' && KEY_ID.test(name)) return name;
        throw err;
      });
      const key = await this.hsm.managed.get(caller, id);
      if (!kindOf(key.data.spec)) throw notFound(name);
      return key;
    } catch (err) {
      if (err instanceof HsmError && err.code === 'KEY_NOT_FOUND') throw notFound(name);
      throw err;
    }
  }

  protected async live(caller: Caller, name: string): Promise<ManagedKey> {
    const key = await this.named(caller, name);
    if (isSoftDeleted(key)) throw notFound(name);
    return key;
  }

  protected versionIndex(key: ManagedKey, ref: KeyRef): number {
    const i = ref.version === undefined ? key.data.versions.length - 1 : key.data.versions.findIndex((v) => v.id === ref.version);
    if (i < 0) throw notFound(ref.name, ref.version);
    return i;
  }

  /** One version as the port describes it. */
  protected view(name: string, key: ManagedKey, v: VersionInfo): KeyVersion {
    const pub = publicKeyOf(v.publicKeyInfo);
    const e = pub?.type === 'rsa' ? Number(BigInt('0x' + (pub.e.toString('hex') || '0'))) : undefined;
    const d = key.data.deletion;
    const keyEnabled = key.state === 'enabled' || (isSoftDeleted(key) && d?.cancelTo === 'enabled');
    return {
      name, version: v.id, kind: kindOf(key.data.spec, e)!, uses: v.uses.filter((u) => u !== 'derive') as KeyVersion['uses'],
      enabled: keyEnabled && v.enabled, notBefore: v.validity?.notBefore === undefined ? undefined : new Date(v.validity.notBefore),
      expiresAt: v.validity?.notAfter === undefined ? undefined : new Date(v.validity.notAfter),
      createdAt: new Date(v.created), updatedAt: new Date(v.updated), tags: Object.fromEntries(v.tags), publicKey: pub, origin: v.origin,
      retentionDays: d?.kind === 'soft' ? d.windowDays : this.opts.retentionDays, purgeProtected: d?.kind === 'soft' ? Boolean(d.protected) : this.opts.purgeProtected,
    };
  }

  /** Every version of a key, oldest first. */
  protected async views(caller: Caller, name: string, key: ManagedKey): Promise<KeyVersion[]> {
    return (await this.hsm.managed.versions.info(caller, key)).map((v) => this.view(name, key, v));
  }

  protected async viewOf(caller: Caller, name: string, key: ManagedKey, index = key.data.versions.length - 1): Promise<KeyVersion> {
    const all = await this.views(caller, name, key);
    if (!all[index]) throw notFound(name);
    return all[index];
  }

  getKey(ctx: CallContext<Caller>, ref: KeyRef): Promise<KeyVersion> {
    const caller = this.callerOf(ctx);
    return guarded(async () => {
      const key = await this.live(caller, ref.name);
      return this.viewOf(caller, ref.name, key, this.versionIndex(key, ref));
    });
  }

  private async version(caller: Caller, ref: KeyRef): Promise<{ key: ManagedKey; v: CoreVersion }> {
    const key = await this.live(caller, ref.name);
    return { key, v: key.data.versions[this.versionIndex(key, ref)] };
  }

  encrypt(ctx: CallContext<Caller>, ref: KeyRef, purpose: 'encrypt' | 'wrap', alg: CipherAlgorithm, input: EncryptInput): Promise<EncryptOutput> {
    const caller = this.callerOf(ctx);
    return guarded(async () => {
      const { key, v } = await this.version(caller, ref);
      checkCipher(key.data.spec, alg);
      const crypto = this.hsm.crypto;
      if (alg.scheme === 'rsa-oaep') {
        const obj = await this.hsm.lookup.get(caller, v.publicObjectId ?? v.objectId);
        const data = purpose === 'wrap' ? await crypto.wrapData(caller, obj, CKM.RSA_PKCS_OAEP, OAEP(alg.hash), input.data)
          : await crypto.encrypt(caller, obj, CKM.RSA_PKCS_OAEP, OAEP(alg.hash), input.data);
        return { version: v.id, data };
      }
      const obj = await this.hsm.lookup.get(caller, v.objectId);
      if (alg.scheme === 'aes-gcm') {
        const out = await crypto.encryptWithIv(caller, obj, CKM.AES_GCM, { aad: input.aad, tagBits: GCM_TAG * 8 }, input.data, 12);
        const cut = out.data.length - GCM_TAG;
        return { version: v.id, data: out.data.subarray(0, cut), iv: out.iv, tag: out.data.subarray(cut) };
      }
      if (alg.scheme === 'aes-cbc') {
        const mech = alg.padding ? CKM.AES_CBC_PAD : CKM.AES_CBC;
        if (input.iv) return { version: v.id, data: await crypto.encrypt(caller, obj, mech, { iv: input.iv }, input.data), iv: input.iv };
        const out = await crypto.encryptWithIv(caller, obj, mech, {}, input.data, 16);
        return { version: v.id, data: out.data, iv: out.iv };
      }
      const mech = alg.padding ? CKM.AES_KEY_WRAP_PAD : CKM.AES_KEY_WRAP;
      const data = purpose === 'wrap' ? await crypto.wrapData(caller, obj, mech, {}, input.data) : await crypto.encrypt(caller, obj, mech, {}, input.data);
      return { version: v.id, data };
    });
  }

  decrypt(ctx: CallContext<Caller>, ref: KeyRef, purpose: 'decrypt' | 'unwrap', alg: CipherAlgorithm, input: DecryptInput): Promise<DecryptOutput> {
    const caller = this.callerOf(ctx);
    return guarded(async () => {
      const { key, v } = await this.version(caller, ref);
      checkCipher(key.data.spec, alg);
      const obj = await this.hsm.lookup.get(caller, v.objectId);
      const crypto = this.hsm.crypto;
      const run = (mech: number, params: object, data: Buffer) => purpose === 'unwrap'
        ? crypto.unwrapData(caller, obj, mech, params, data) : crypto.decrypt(caller, obj, mech, params, data);
      let data: Buffer;
      if (alg.scheme === 'rsa-oaep') data = await run(CKM.RSA_PKCS_OAEP, OAEP(alg.hash), input.data);
      else if (alg.scheme === 'aes-gcm') {
        if (!input.iv || !input.tag) throw new KeyPortError('invalid-input', 'AES-GCM decryption needs the IV and tag from encryption.');
        data = await run(CKM.AES_GCM, { iv: input.iv, aad: input.aad, tagBits: input.tag.length * 8 }, Buffer.concat([input.data, input.tag]));
      } else if (alg.scheme === 'aes-cbc') data = await run(alg.padding ? CKM.AES_CBC_PAD : CKM.AES_CBC, { iv: input.iv }, input.data);
      else data = await run(alg.padding ? CKM.AES_KEY_WRAP_PAD : CKM.AES_KEY_WRAP, {}, input.data);
      return { version: v.id, data };
    });
  }

  sign(ctx: CallContext<Caller>, ref: KeyRef, alg: SignAlgorithm, digest: Buffer): Promise<{ version: string; signature: Buffer }> {
    const caller = this.callerOf(ctx);
    return guarded(async () => {
      const { key, v } = await this.version(caller, ref);
      const s = signScheme(key.data.spec, alg, digest);
      const obj = await this.hsm.lookup.get(caller, v.objectId);
      return { version: v.id, signature: await this.hsm.crypto.sign(caller, obj, s.mech, s.params, s.data) };
    });
  }

  verify(ctx: CallContext<Caller>, ref: KeyRef, alg: SignAlgorithm, digest: Buffer, signature: Buffer): Promise<{ version: string; valid: boolean }> {
    const caller = this.callerOf(ctx);
    return guarded(async () => {
      const { key, v } = await this.version(caller, ref);
      const s = signScheme(key.data.spec, alg, digest);
      const obj = await this.hsm.lookup.get(caller, v.publicObjectId ?? v.objectId);
      try {
        return { version: v.id, valid: await this.hsm.crypto.verify(caller, obj, s.mech, s.params, s.data, signature) };
      } catch (err) {
        if (err instanceof HsmError && ['SIGNATURE_LEN_RANGE', 'SIGNATURE_INVALID', 'DATA_LEN_RANGE'].includes(err.code)) return { version: v.id, valid: false };
        throw err;
      }
    });
  }

  randomBytes(ctx: CallContext<Caller>, count: number): Promise<Buffer> {
    return guarded(() => this.hsm.crypto.random(this.callerOf(ctx), count));
  }
}

function checkCipher(spec: KeySpec, alg: CipherAlgorithm): void {
  const fits = alg.scheme === 'rsa-oaep' ? spec.kind === 'rsa' : spec.kind === 'aes' && spec.size === alg.keyBits;
  if (!fits) throw new KeyPortError('algorithm-mismatch', 'The encryption algorithm does not fit this key.');
}

/** The mechanism, parameters and input for a signature over a caller's digest. */
function signScheme(spec: KeySpec, alg: SignAlgorithm, digest: Buffer): { mech: number; params: object; data: Buffer } {
  const fits = alg.scheme === 'ecdsa' ? spec.kind === 'ec' && spec.curve === alg.curve : spec.kind === 'rsa';
  if (!fits) throw new KeyPortError('algorithm-mismatch', 'The signature algorithm does not fit this key.');
  const h = hashByName(alg.hash);
  if (digest.length !== h.len) throw new KeyPortError('invalid-input', `The digest must be ${h.len} bytes.`);
  if (alg.scheme === 'ecdsa') return { mech: CKM.ECDSA, params: {}, data: digest };
  if (alg.scheme === 'rsa-pss') return { mech: CKM.RSA_PKCS_PSS, params: { hashAlg: h.ckm, mgf: h.mgf, saltLength: h.len }, data: digest };
  return { mech: CKM.RSA_PKCS, params: {}, data: Buffer.concat([h.digestInfo, digest]) };
}
