// An object of the module as the core sees it: class, owner, public attributes in typed
// form, the sealed secret, and (once unsealed) the key material mechanisms operate on. Objects
// are replaced, not mutated: a change builds the next version (object-store.ts), which takes the
// old one's place in the cache once committed. A face holding an old version gets the current
// one at its next use (the core looks objects up by id for every operation).
import { CKA, CKK, CKO } from '../pkcs11/constants';
import type { RecordRow } from '../keystore/types';
import type { AttrValue } from './policy/attributes';
import type { KeyMaterial } from '../mechanisms/types';

export class HsmObject {
  material?: KeyMaterial;

  constructor(
    readonly id: string,
    readonly partition: string,
    /** The owning user's id; '' for objects owned by no user (made in a PKCS#11 public session). */
    readonly owner: string,
    readonly cls: number,
    readonly attrs: ReadonlyMap<number, AttrValue>,
    readonly sharedWith: readonly string[],
    readonly sealed: Buffer | null,
    readonly created: number,
    /** The managed key (core/managed-keys.ts) this object is a version of, or ''. */
    readonly managed: string,
    /** The stored row (undefined for session objects and for objects not yet committed). */
    readonly row?: RecordRow,
    /** Set for session objects (CKA_TOKEN false): the PKCS#11 session that owns it. */
    readonly session?: string,
  ) {}

  get version(): number { return this.row?.version ?? 0; }

  get token(): boolean { return this.attrs.get(CKA.TOKEN) === true; }
  get label(): string { return (this.attrs.get(CKA.LABEL) as string | undefined) ?? ''; }
  get keyType(): number | undefined { return this.attrs.get(CKA.KEY_TYPE) as number | undefined; }
  get isKey(): boolean { return this.cls === CKO.PUBLIC_KEY || this.cls === CKO.PRIVATE_KEY || this.cls === CKO.SECRET_KEY; }
  bool(type: number): boolean { return this.attrs.get(type) === true; }

  /** A short public description for listings (never secret values). */
  summary(): Record<string, unknown> {
    const id = this.attrs.get(CKA.ID);
    return {
      id: this.id,
      label: this.label,
      class: CLASS_NAMES[this.cls] ?? String(this.cls),
      keyType: this.keyType === undefined ? undefined : KEY_TYPE_NAMES[this.keyType] ?? String(this.keyType),
      size: this.sizeDescription(),
      ckaId: Buffer.isBuffer(id) && id.length ? id.toString('hex') : undefined,
      owner: this.owner,
      sharedWith: this.sharedWith,
      token: this.token,
      sensitive: this.attrs.get(CKA.SENSITIVE),
      extractable: this.attrs.get(CKA.EXTRACTABLE),
      usage: USAGE.filter(([t]) => this.bool(t)).map(([, n]) => n),
      created: new Date(this.created).toISOString(),
    };
  }

  private sizeDescription(): number | undefined {
    if (this.keyType === CKK.RSA) return (this.attrs.get(CKA.MODULUS) as Buffer | undefined ?? Buffer.alloc(0)).length * 8 || undefined;
    if (this.keyType === CKK.AES || this.keyType === CKK.GENERIC_SECRET || this.keyType === CKK.DES || this.keyType === CKK.DES3) return ((this.attrs.get(CKA.VALUE_LEN) as number) ?? 0) * 8;
    return this.material?.size;
  }
}

export const CLASS_NAMES: Record<number, string> = {
  [CKO.DATA]: 'data', [CKO.CERTIFICATE]: 'certificate', [CKO.PUBLIC_KEY]: 'public-key',
  [CKO.PRIVATE_KEY]: 'private-key', [CKO.SECRET_KEY]: 'secret-key',
};
export const KEY_TYPE_NAMES: Record<number, string> = {
  [CKK.RSA]: 'rsa', [CKK.EC]: 'ec', [CKK.EC_EDWARDS]: 'ed25519', [CKK.AES]: 'aes', [CKK.GENERIC_SECRET]: 'generic-secret', [CKK.DES]: 'des', [CKK.DES3]: 'des3',
};
export const USAGE: readonly [number, string][] = [
  [CKA.ENCRYPT, 'encrypt'], [CKA.DECRYPT, 'decrypt'], [CKA.SIGN, 'sign'], [CKA.VERIFY, 'verify'],
  [CKA.WRAP, 'wrap'], [CKA.UNWRAP, 'unwrap'], [CKA.DERIVE, 'derive'],
];
