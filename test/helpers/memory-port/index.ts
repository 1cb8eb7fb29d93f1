// TEST ONLY — never imported by src/. An in-memory stand-in for the core behind the face-neutral
// key port (src/api/key-port.ts, AkvBackend, XksBackend), so the Key Vault and XKS wire layers
// can be tested with the real SDKs before the core's managed-key model lands. Roles follow
// docs/akv.md (Crypto User uses and manages keys, Crypto Officer purges, Crypto Auditor reads).
import * as c from '../../../src/crypto/node-crypto';
import type { AkvBackend } from '../../../src/api/akv/backend';
import type { XksBackend } from '../../../src/api/xks/backend';
import {
  KeyPortError, type CallContext, type CipherAlgorithm, type DecryptInput, type DeletedKey, type EncryptInput,
  type ImportedMaterial, type KeyKind, type KeyRef, type KeyUse, type KeyVersion, type KeyVersionUpdate,
  type NewKeyAttributes, type Page, type PageRequest, type RotationPolicy, type SignAlgorithm,
} from '../../../src/api/key-port';
import * as m from './material';

export type Role = 'user' | 'officer' | 'auditor';
export interface TestCaller { subject: string; role: Role }
type Ctx = CallContext<TestCaller>;

interface Version { info: KeyVersion; material: m.Material }
interface ManagedKey { name: string; versions: Version[]; policy?: RotationPolicy; deleted?: { at: Date; purgeAt: Date } }

const READ = new Set(['getKey', 'listKeys', 'listVersions', 'getDeletedKey', 'listDeletedKeys', 'getRotationPolicy', 'health']);
const OFFICER = new Set([...READ, 'purgeKey']);
const DAY_MS = 86_400_000;

export interface MemoryPortOptions { retentionDays?: number; purgeProtected?: boolean; now?: () => number }

export class InMemoryKeyPort implements AkvBackend<TestCaller>, XksBackend<TestCaller> {
  /** Every call with its context, for assertions on what reaches the audit trail. */
  readonly calls: { method: string; ctx: Ctx }[] = [];
  readonly keys = new Map<string, ManagedKey>();
  private readonly clients = new Map<string, { secret: string; subject: string; role: Role; locked?: boolean }>();
  private readonly xksCredentials = new Map<string, { secret: string; caller: TestCaller }>();
  private readonly tokenKey = c.ed25519PrivateFromSeed(c.randomBytes(32));
  private readonly tokenKeyId = c.randomUuid();
  private readonly sealingKey = c.secretKey(c.randomBytes(32));
  private readonly opts: Required<MemoryPortOptions>;
  failedLogins = 0;

  constructor(opts: MemoryPortOptions = {}) {
    this.opts = { retentionDays: opts.retentionDays ?? 90, purgeProtected: opts.purgeProtected ?? false, now: opts.now ?? Date.now };
  }

  // --- test set-up -----------------------------------------------------------------------
  addClient(clientId: string, secret: string, role: Role = 'user'): void { this.clients.set(clientId, { secret, subject: `sub-${clientId}`, role }); }
  removeClient(clientId: string): void { this.clients.delete(clientId); }
  addXksCredential(storePath: string, accessKeyId: string, secret: string, role: Role = 'user'): void {
    this.xksCredentials.set(`${storePath}\n${accessKeyId}`, { secret, caller: { subject: `xks-${accessKeyId}`, role } });
  }
  private now(): Date { return new Date(this.opts.now()); }

  // --- identity ----------------------------------------------------------------------------
  async authenticateClient(clientId: string, secret: string) {
    const client = this.clients.get(clientId);
    const ok = client !== undefined && !client.locked && c.timingSafeEqual(Buffer.from(c.digest('sha256', Buffer.from(secret))), c.digest('sha256', Buffer.from(client.secret)));
    if (!ok) { this.failedLogins++; return undefined; }
    return { subject: client.subject };
  }
  async callerFor(subject: string): Promise<TestCaller | undefined> {
    for (const client of this.clients.values()) if (client.subject === subject && !client.locked) return { subject, role: client.role };
    return undefined;
  }
  async tokenKeys() { return [{ keyId: this.tokenKeyId, publicKey: Buffer.from(c.exportJwk(c.publicOf(this.tokenKey)).x!, 'base64url') }]; }
  async signToken(keyId: string, input: Buffer) {
    if (keyId !== this.tokenKeyId) throw new KeyPortError('invalid-input', 'not the current token key');
    return c.sign(null, input, this.tokenKey);
  }
  async verifyTokenSignature(keyId: string, input: Buffer, sig: Buffer) {
    return keyId === this.tokenKeyId && c.verify(null, input, c.publicOf(this.tokenKey), sig);
  }
  async lookupCredential(storePath: string, accessKeyId: string) {
    const cred = this.xksCredentials.get(`${storePath}\n${accessKeyId}`);
    return cred && { secretAccessKey: cred.secret, caller: cred.caller };
  }
  async health(ctx: Ctx) {
    this.gate('health', ctx);
    return { nodes: [{ id: 'memory-1', model: 'Inkan test port', status: 'active' as const }] };
  }

  // --- reads -------------------------------------------------------------------------------
  private gate(method: string, ctx: Ctx): void {
    this.calls.push({ method, ctx });
    const role = ctx.caller.role;
    const allowed = role === 'user' ? method !== 'purgeKey' : role === 'officer' ? OFFICER.has(method) : READ.has(method);
    if (!allowed) throw new KeyPortError('forbidden', `The caller's role may not perform ${method}.`);
  }
  private live(name: string): ManagedKey {
    const key = this.keys.get(name);
    if (!key || key.deleted) throw new KeyPortError('not-found', `A key with (name/id) ${name} was not found in this key vault.`);
    return key;
  }
  private version(ref: KeyRef): Version {
    const key = this.live(ref.name);
    const v = ref.version ? key.versions.find((x) => x.info.version === ref.version) : key.versions[key.versions.length - 1];
    if (!v) throw new KeyPortError('not-found', `A key with (name/id) ${ref.name}/${ref.version} was not found in this key vault.`);
    return v;
  }
  private snapshot(v: Version): KeyVersion { return { ...v.info, uses: [...v.info.uses], tags: { ...v.info.tags } }; }
  async getKey(ctx: Ctx, ref: KeyRef) { this.gate('getKey', ctx); return this.snapshot(this.version(ref)); }

  private page<T>(items: T[], req: PageRequest): Page<T> {
    const start = req.cursor === undefined ? 0 : Number(req.cursor);
    if (!Number.isSafeInteger(start) || start < 0) throw new KeyPortError('invalid-input', 'bad cursor');
    const slice = items.slice(start, start + req.limit);
    return { items: slice, next: start + req.limit < items.length ? String(start + req.limit) : undefined };
  }
  async listKeys(ctx: Ctx, req: PageRequest) {
    this.gate('listKeys', ctx);
    const live = [...this.keys.values()].filter((k) => !k.deleted).sort((a, b) => (a.name < b.name ? -1 : 1));
    return this.page(live.map((k) => this.snapshot(k.versions[k.versions.length - 1])), req);
  }
  async listVersions(ctx: Ctx, name: string, req: PageRequest) {
    this.gate('listVersions', ctx);
    return this.page(this.live(name).versions.map((v) => this.snapshot(v)), req);
  }

  // --- create, import, update ----------------------------------------------------------------
  private async addVersion(name: string, material: m.Material, attrs: NewKeyAttributes, origin: 'generated' | 'imported'): Promise<KeyVersion> {
    const existing = this.keys.get(name);
    if (existing?.deleted) throw new KeyPortError('deleted', `Key ${name} is currently in a deleted but recoverable state, and its name cannot be reused; in this state, the key can only be recovered or purged.`);
    if (existing && existing.versions[0].info.kind.type !== material.kind.type) {
      throw new KeyPortError('invalid-input', `Key ${name} exists with another key type.`);
    }
    const now = this.now();
    const info: KeyVersion = {
      name, version: c.randomBytes(16).toString('hex'), kind: material.kind, uses: [...(attrs.uses ?? [])],
      enabled: attrs.enabled ?? true, notBefore: attrs.notBefore, expiresAt: attrs.expiresAt, createdAt: now, updatedAt: now,
      tags: { ...(attrs.tags ?? {}) }, publicKey: m.publicKeyOf(material), origin,
      retentionDays: this.opts.retentionDays, purgeProtected: this.opts.purgeProtected,
    };
    const key = existing ?? { name, versions: [] };
    key.versions.push({ info, material });
    this.keys.set(name, key);
    return this.snapshot(key.versions[key.versions.length - 1]);
  }
  async createKey(ctx: Ctx, name: string, kind: KeyKind, attrs: NewKeyAttributes) {
    this.gate('createKey', ctx);
    return this.addVersion(name, await m.generate(kind), attrs, 'generated');
  }
  async importKey(ctx: Ctx, name: string, material: ImportedMaterial, attrs: NewKeyAttributes) {
    this.gate('importKey', ctx);
    try {
      return await this.addVersion(name, m.fromImport(material), attrs, 'imported');
    } finally {
      for (const v of Object.values(material)) if (Buffer.isBuffer(v)) v.fill(0);
    }
  }
  async updateKey(ctx: Ctx, ref: KeyRef, change: KeyVersionUpdate) {
    this.gate('updateKey', ctx);
    const v = this.version(ref);
    const i = v.info;
    if (change.enabled !== undefined) i.enabled = change.enabled;
    if (change.notBefore !== undefined) i.notBefore = change.notBefore;
    if (change.expiresAt !== undefined) i.expiresAt = change.expiresAt;
    if (change.uses !== undefined) i.uses = [...change.uses];
    if (change.tags !== undefined) i.tags = { ...change.tags };
    i.updatedAt = this.now();
    return this.snapshot(v);
  }

  // --- deletion ------------------------------------------------------------------------------
  private deletedView(key: ManagedKey): DeletedKey {
    return { latest: this.snapshot(key.versions[key.versions.length - 1]), deletedAt: key.deleted!.at, purgeAt: key.deleted!.purgeAt };
  }
  private deleted(name: string): ManagedKey {
    const key = this.keys.get(name);
    if (!key?.deleted) throw new KeyPortError('not-found', `Deleted Key not found: ${name}`);
    return key;
  }
  async deleteKey(ctx: Ctx, name: string) {
    this.gate('deleteKey', ctx);
    const key = this.live(name);
    const at = this.now();
    key.deleted = { at, purgeAt: new Date(at.getTime() + this.opts.retentionDays * DAY_MS) };
    return this.deletedView(key);
  }
  async getDeletedKey(ctx: Ctx, name: string) { this.gate('getDeletedKey', ctx); return this.deletedView(this.deleted(name)); }
  async listDeletedKeys(ctx: Ctx, req: PageRequest) {
    this.gate('listDeletedKeys', ctx);
    return this.page([...this.keys.values()].filter((k) => k.deleted).map((k) => this.deletedView(k)), req);
  }
  async recoverKey(ctx: Ctx, name: string) {
    this.gate('recoverKey', ctx);
    const key = this.deleted(name);
    key.deleted = undefined;
    return this.snapshot(key.versions[key.versions.length - 1]);
  }
  async purgeKey(ctx: Ctx, name: string) {
    this.gate('purgeKey', ctx);
    this.deleted(name);
    if (this.opts.purgeProtected) throw new KeyPortError('purge-protected', 'Purge protection is enabled: the key can only be recovered until its retention ends.');
    this.keys.delete(name);
  }

  // --- backup, rotation --------------------------------------------------------------------------
  async backupKey(ctx: Ctx, name: string) {
    this.gate('backupKey', ctx);
    const key = this.live(name);
    const plain = Buffer.from(JSON.stringify({ name, versions: key.versions.map((v) => ({ info: v.info, material: m.exportMaterial(v.material) })) }));
    const iv = c.randomBytes(12);
    const out = c.cipher('aes-256-gcm', this.sealingKey, iv, plain, { tagLength: 16 });
    plain.fill(0);
    return Buffer.concat([Buffer.from('IKB1'), iv, out.tag!, out.data]);
  }
  async restoreKey(ctx: Ctx, blob: Buffer) {
    this.gate('restoreKey', ctx);
    let parsed: { name: string; versions: { info: KeyVersion; material: string }[] };
    try {
      if (blob.subarray(0, 4).toString() !== 'IKB1') throw new Error('magic');
      const plain = c.decipher('aes-256-gcm', this.sealingKey, blob.subarray(4, 16), blob.subarray(32), { tag: blob.subarray(16, 32), tagLength: 16 });
      parsed = JSON.parse(plain.toString('utf8'));
    } catch {
      throw new KeyPortError('invalid-backup', 'The backup blob is invalid or was not made by this module.');
    }
    if (this.keys.has(parsed.name)) throw new KeyPortError('exists', `There was a conflict restoring the key: ${parsed.name} already exists.`);
    const revive = (i: KeyVersion): KeyVersion => ({ ...i, createdAt: new Date(i.createdAt), updatedAt: new Date(i.updatedAt),
      notBefore: i.notBefore && new Date(i.notBefore), expiresAt: i.expiresAt && new Date(i.expiresAt),
      publicKey: undefined });
    const versions = parsed.versions.map((v) => {
      const material = m.importExported(v.info.kind, v.material);
      return { info: { ...revive(v.info), publicKey: m.publicKeyOf(material) }, material };
    });
    this.keys.set(parsed.name, { name: parsed.name, versions });
    return this.snapshot(versions[versions.length - 1]);
  }
  async rotateKey(ctx: Ctx, name: string) {
    this.gate('rotateKey', ctx);
    const key = this.live(name);
    const last = key.versions[key.versions.length - 1].info;
    const life = key.policy?.versionLifetime;
    const now = this.now();
    const expiresAt = life && new Date(Date.UTC(now.getUTCFullYear() + life.years, now.getUTCMonth() + life.months, now.getUTCDate() + life.days,
      now.getUTCHours(), now.getUTCMinutes(), now.getUTCSeconds()));
    return this.addVersion(name, await m.generate(last.kind), { uses: last.uses, tags: last.tags, expiresAt }, 'generated');
  }
  async getRotationPolicy(ctx: Ctx, name: string): Promise<RotationPolicy> {
    this.gate('getRotationPolicy', ctx);
    return this.live(name).policy ?? { actions: [{ action: 'notify', beforeExpiry: { years: 0, months: 0, days: 30 } }] };
  }
  async setRotationPolicy(ctx: Ctx, name: string, policy: RotationPolicy) {
    this.gate('setRotationPolicy', ctx);
    const key = this.live(name);
    const now = this.now();
    key.policy = { ...policy, createdAt: key.policy?.createdAt ?? now, updatedAt: now };
    return key.policy;
  }

  // --- crypto --------------------------------------------------------------------------------------
  private usable(ref: KeyRef, use: KeyUse): Version {
    const v = this.version(ref);
    const now = this.now();
    if (!v.info.enabled) throw new KeyPortError('disabled', `Operation ${use} is not allowed on a disabled key.`);
    if (v.info.notBefore && now < v.info.notBefore) throw new KeyPortError('not-yet-valid', `Operation ${use} is not allowed before the key's activation date.`);
    if (v.info.expiresAt && now >= v.info.expiresAt && ['encrypt', 'wrap', 'sign'].includes(use)) {
      throw new KeyPortError('expired', `Operation ${use} is not allowed on an expired key.`);
    }
    if (!v.info.uses.includes(use)) throw new KeyPortError('use-not-permitted', `Operation ${use} is not permitted on this key.`);
    return v;
  }
  async encrypt(ctx: Ctx, ref: KeyRef, purpose: 'encrypt' | 'wrap', alg: CipherAlgorithm, input: EncryptInput) {
    this.gate('encrypt', ctx);
    const v = this.usable(ref, purpose);
    return { version: v.info.version, ...m.encryptWith(v.material, alg, input) };
  }
  async decrypt(ctx: Ctx, ref: KeyRef, purpose: 'decrypt' | 'unwrap', alg: CipherAlgorithm, input: DecryptInput) {
    this.gate('decrypt', ctx);
    const v = this.usable(ref, purpose);
    return { version: v.info.version, data: m.decryptWith(v.material, alg, input) };
  }
  async sign(ctx: Ctx, ref: KeyRef, alg: SignAlgorithm, digest: Buffer) {
    this.gate('sign', ctx);
    const v = this.usable(ref, 'sign');
    return { version: v.info.version, signature: await m.signWith(v.material, alg, digest) };
  }
  async verify(ctx: Ctx, ref: KeyRef, alg: SignAlgorithm, digest: Buffer, signature: Buffer) {
    this.gate('verify', ctx);
    const v = this.usable(ref, 'verify');
    return { version: v.info.version, valid: m.verifyWith(v.material, alg, digest, signature) };
  }
  async randomBytes(ctx: Ctx, count: number) { this.gate('randomBytes', ctx); return c.randomBytes(count); }
}
