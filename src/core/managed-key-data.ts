// What a managed key is, as stored and as a request sees it (managed-keys.ts is the service):
// its versions with their own settings (Key Vault's per-version enable, validity and tags), one
// authoritative state, the deletion window, rotation settings, an access list and per-face data.
// Also how the gate's view of one version (KeyLifecycle) is computed from it.
import { CKA, CKO } from '../pkcs11/constants';
import type { RecordRow } from '../keystore/types';
import type { Change } from './change';
import type { HsmObject } from './hsm-object';
import { specOfObject, type KeyPurpose, type KeySpec, type VersionUse } from './key-specs';
import type { Admitted } from './policy/gate';
import type { KeyAccessAction, KeyAccessList } from './policy/key-access';
import type { KeyLifecycle } from './policy/gate';

export type KeyState = KeyLifecycle['state'];
export const DAY_MS = 86_400_000;
export const DEFAULT_ROTATION_DAYS = 365;

/** Milliseconds since the epoch; either end may be open. */
export interface Validity { notBefore?: number; notAfter?: number }

/** A calendar period (ISO 8601 PnYnMnD): months and years are not fixed lengths. */
export interface Period { years: number; months: number; days: number }

/** What a caller may set on one version. Absent members: enabled, always valid, no tags, the
 *  uses of the key's purpose. */
export interface VersionSettings {
  uses?: readonly VersionUse[];
  enabled?: boolean;
  validity?: Validity;
  tags?: [string, string][];
}

export interface KeyVersion {
  /** 32 hex digits (Key Vault's version form; KMS shows a SHA-256 of it as the KeyMaterialId). */
  id: string;
  objectId: string;
  publicObjectId?: string;
  created: number;
  origin: 'generated' | 'imported';
  rotation?: 'automatic' | 'on-demand';
  /** false: this version refuses every use, on every face (the key's state still applies too). */
  enabled?: boolean;
  validity?: Validity;
  tags?: [string, string][];
  updated?: number;
}

export interface ManagedKeyData {
  spec: KeySpec;
  purpose: KeyPurpose;
  description: string;
  tags: [string, string][];
  state: KeyState;
  /** True for a key made without material (KMS Origin EXTERNAL): its material only ever comes from outside. */
  external?: boolean;
  /** Pending deletion: when it was asked, when it is due, and what cancelling returns to. A
   *  protected soft deletion cannot be purged before it is due (Key Vault purge protection). */
  deletion?: { requested: number; due: number; windowDays: number; kind: 'scheduled' | 'soft'; cancelTo: 'enabled' | 'disabled'; protected?: boolean };
  versions: KeyVersion[];
  /** Versions below this index no longer decrypt or verify (Vault transit's min_decryption_version). */
  minDecryptVersion: number;
  /** `versionLifetime`: each new version's validity ends this long after it is made. */
  rotation: { enabled: boolean; periodDays: number; next?: number; onDemandStarted?: number; versionLifetime?: Period };
  validity?: Validity;
  /** Who of the partition may do what with the key (policy/key-access.ts; KMS key policies). */
  access?: KeyAccessList;
  /** Scoped sharing (KMS grants; managed-key-grants.ts): a grantee sees the key and may do these actions only. */
  grants?: KeyGrant[];
  /** What each face keeps about the key (KMS origin and import parameters, Key Vault rotation policy…). */
  face: Record<string, unknown>;
}

/** One grant: who may do what with the key, who may retire it, and whether it made the share. */
export interface KeyGrant {
  id: string;
  grantee: string;
  retiring?: string;
  actions: KeyAccessAction[];
  name?: string;
  created: number;
  /** The user who made it (the key's owner). */
  creator: string;
  /** True if the grant shared the key with the grantee (so retiring its last grant unshares it). */
  shared: boolean;
  /** What the face that made it calls the actions (KMS Operations), kept for its listings. */
  labels?: string[];
}

/** The actions each grantee's grants give it, merged (undefined when the key has no grants). */
export function grantsByUser(grants: readonly KeyGrant[] | undefined): Record<string, KeyAccessAction[]> | undefined {
  if (!grants?.length) return undefined;
  const out: Record<string, KeyAccessAction[]> = Object.create(null);
  for (const g of grants) out[g.grantee] = [...new Set([...(out[g.grantee] ?? []), ...g.actions])];
  return out;
}

/** One managed key as a request sees it. `row` is undefined for a key made by another face that was
 *  never managed: it is described from its object, and gets a stored record on its first change. */
export class ManagedKey {
  constructor(readonly id: string, readonly partition: string, readonly owner: string, readonly created: number,
    readonly data: ManagedKeyData, readonly row?: RecordRow) {}
  get current(): KeyVersion | undefined { return this.data.versions[this.data.versions.length - 1]; }
  get state(): KeyState { return this.data.state; }
}

/** `ms` plus a calendar period, in UTC (31 January + P1M is 3 March, as Date.UTC normalises). */
export function addPeriod(ms: number, p: Period): number {
  const d = new Date(ms);
  return Date.UTC(d.getUTCFullYear() + p.years, d.getUTCMonth() + p.months, d.getUTCDate() + p.days,
    d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds());
}

/** The version an object belongs to (its private, secret or public half). */
export function versionOf(key: ManagedKey, objectId: string): KeyVersion | undefined {
  return key.data.versions.find((v) => v.objectId === objectId || v.publicObjectId === objectId);
}

const later = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.max(a, b));
const earlier = (a?: number, b?: number) => (a === undefined ? b : b === undefined ? a : Math.min(a, b));

/** What the gate checks for a use of one object of the key: the key's state (a disabled version
 *  reads as disabled), the tighter of the key's and the version's validity, the access list. */
export function versionLifecycle(key: ManagedKey, objectId: string, state: KeyState): KeyLifecycle {
  const v = versionOf(key, objectId);
  return {
    state: state === 'enabled' && v?.enabled === false ? 'disabled' : state,
    notBefore: later(key.data.validity?.notBefore, v?.validity?.notBefore),
    notAfter: earlier(key.data.validity?.notAfter, v?.validity?.notAfter),
    access: key.data.access,
    grants: grantsByUser(key.data.grants),
  };
}

/** A version's settings, as given (uses live in its objects' flags, set when they are made or changed). */
export function applySettings(v: KeyVersion, s: VersionSettings, now: number): void {
  if (s.enabled !== undefined) v.enabled = s.enabled;
  if (s.validity !== undefined) v.validity = { ...s.validity };
  if (s.tags !== undefined) v.tags = s.tags.map(([k, x]) => [k, x]);
  v.updated = now;
}

export interface CreateKeyOptions {
  spec: KeySpec;
  purpose: KeyPurpose;
  description?: string;
  tags?: [string, string][];
  /** 'external': no material yet (KMS Origin EXTERNAL); it arrives with addImportedVersion. */
  origin?: 'generated' | 'external';
  /** A name in the partition (Key Vault key names), in the same transaction. */
  name?: { kind: string; name: string };
  face?: Record<string, unknown>;
  validity?: ManagedKeyData['validity'];
  /** The first version's settings (uses instead of the purpose's, enabled, validity, tags). */
  version?: VersionSettings;
  /** Material from outside as the first version (Key Vault import), made inside this operation's
   *  transaction: the secret or private object, and the public half if any. */
  firstVersion?: (a: Admitted, change: Change) => Promise<HsmObject[]>;
  /** The key's access list from the start (a KMS key policy given at creation). */
  access?: KeyAccessList;
}

/** A private or secret key made through another face (its public half `partner`), described as a
 *  managed key with one version; undefined if it is not such a key. */
export function describeObject(obj: HsmObject, partner?: HsmObject): ManagedKey | undefined {
  const spec = specOfObject(obj);
  if (!spec || (obj.cls !== CKO.PRIVATE_KEY && obj.cls !== CKO.SECRET_KEY)) return undefined;
  const data: ManagedKeyData = {
    spec: { kind: spec.kind, size: spec.size, curve: spec.curve }, purpose: spec.purposes[0] ?? 'sign', description: '', tags: [], state: 'enabled',
    versions: [{ id: obj.id.replace(/-/g, ''), objectId: obj.id, publicObjectId: partner?.id, created: obj.created, origin: obj.bool(CKA.LOCAL) ? 'generated' : 'imported' }],
    minDecryptVersion: 0, rotation: { enabled: false, periodDays: DEFAULT_ROTATION_DAYS }, face: {},
  };
  return new ManagedKey(obj.id, obj.partition, obj.owner, obj.created, data);
}
