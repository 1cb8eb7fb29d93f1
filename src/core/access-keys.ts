// SigV4 access keys for the KMS face (DESIGN.md "Identity and roles"): issued to crypto users,
// the secret half sealed with the partition key like a key attribute, every row MACed.
// The secret is shown once, at creation; lookups unseal it only to verify a signature.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import { checkAccessKey, DomainKeys, macAccessKey, seal, unseal } from '../keystore/seal';
import type { AccessKeyRow, KeyStore } from '../keystore/types';
import { CKA } from '../pkcs11/constants';
import { DEFAULT_PARTITION } from './key-service';
import { requireRole } from './policy/gate';
import type { Principal, Role } from './principal';
import type { UserService } from './users';

export const MAX_ACCESS_KEYS_PER_USER = 10;
/** A verified lookup is reused this long: revocation (key deletion elsewhere, user locked or deleted)
 *  takes effect within it on every node; deleting through this node takes effect at once. */
export const LOOKUP_TTL_MS = 2000;
const MAX_CACHED = 10_000;

type Lookup = { secretAccessKey: string; principal: Principal };
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface AccessKeyInfo { accessKeyId: string; username: string; created: string }

/** `AKIA` + 16 base-32 characters, the shape AWS SDKs and tools expect of an access key id. */
function newAccessKeyId(): string {
  const bytes = c.randomBytes(16);
  let id = 'AKIA';
  for (let i = 0; i < 16; i++) id += BASE32[bytes[i] & 31];
  return id;
}

export class AccessKeyService {
  /** Per DomainKeys instance, so sealing (which drops the instance) drops the cache with it. */
  private readonly cache = new WeakMap<DomainKeys, Map<string, { at: number; value: Lookup }>>();

  constructor(private readonly store: KeyStore, private readonly keys: () => DomainKeys, private readonly users: UserService) {}

  /** A crypto user issues a key for itself; a crypto officer may issue one for any crypto user. */
  async create(actor: Principal, username?: string): Promise<{ accessKeyId: string; secretAccessKey: string; username: string }> {
    const target = await this.target(actor, username);
    const existing = (await this.store.listAccessKeys()).filter((r) => r.userId === target.id);
    if (existing.length >= MAX_ACCESS_KEYS_PER_USER) throw new HsmError('BAD_REQUEST', `a user may hold at most ${MAX_ACCESS_KEYS_PER_USER} access keys`);
    const accessKeyId = newAccessKeyId();
    const secret = c.randomBytes(30).toString('base64'); // 40 characters, like AWS secrets
    const row = macAccessKey(this.keys(), {
      id: accessKeyId, userId: target.id, created: Date.now(),
      sealed: seal(this.keys(), DEFAULT_PARTITION, `access-key/${accessKeyId}`, CKA.VALUE, Buffer.from(secret, 'utf8')),
    });
    await this.store.insertAccessKey(row);
    return { accessKeyId, secretAccessKey: secret, username: target.username };
  }

  async list(actor: Principal): Promise<AccessKeyInfo[]> {
    if (actor.role !== 'officer') requireRole(actor, 'key.create');
    const rows = (await this.store.listAccessKeys()).map((r) => checkAccessKey(this.keys(), r))
      .filter((r) => actor.role === 'officer' || r.userId === actor.id);
    return Promise.all(rows.map(async (r) => ({
      accessKeyId: r.id, username: (await this.users.byId(r.userId))?.username ?? r.userId, created: new Date(r.created).toISOString(),
    })));
  }

  async delete(actor: Principal, accessKeyId: string): Promise<void> {
    const row = typeof accessKeyId === 'string' ? await this.store.getAccessKey(accessKeyId) : undefined;
    if (!row || (actor.role !== 'officer' && row.userId !== actor.id)) throw new HsmError('ACCESS_KEY_NOT_FOUND');
    await this.store.deleteAccessKey(row.id);
    this.cache.get(this.keys())?.delete(row.id);
  }

  /** For SigV4 verification: the secret and the crypto user it authenticates, or undefined.
   *  Keys of deleted, locked or no-longer-crypto users authenticate nobody. */
  async lookup(accessKeyId: string): Promise<Lookup | undefined> {
    const keys = this.keys();
    let cached = this.cache.get(keys);
    if (!cached) { cached = new Map(); this.cache.set(keys, cached); }
    const hit = cached.get(accessKeyId);
    if (hit && Date.now() - hit.at < LOOKUP_TTL_MS) return hit.value;
    const value = await this.load(keys, accessKeyId);
    if (value) {
      if (cached.size >= MAX_CACHED) cached.clear(); // only known keys are cached, so this bound is rarely met
      cached.set(accessKeyId, { at: Date.now(), value });
    } else {
      cached.delete(accessKeyId);
    }
    return value;
  }

  private async load(keys: DomainKeys, accessKeyId: string): Promise<Lookup | undefined> {
    const row = await this.store.getAccessKey(accessKeyId);
    if (!row) return undefined;
    checkAccessKey(keys, row);
    const user = await this.users.byId(row.userId);
    if (!user || user.locked || user.role !== 'user') return undefined;
    const secret = this.unsealSecret(keys, row);
    return { secretAccessKey: secret, principal: { id: user.id, username: user.username, role: user.role as Role } };
  }

  private unsealSecret(keys: DomainKeys, row: AccessKeyRow): string {
    const bytes = unseal(keys, DEFAULT_PARTITION, `access-key/${row.id}`, CKA.VALUE, row.sealed);
    try { return bytes.toString('utf8'); } finally { bytes.fill(0); }
  }

  private async target(actor: Principal, username?: string): Promise<{ id: string; username: string }> {
    if (actor.role === 'officer') {
      if (!username) throw new HsmError('BAD_REQUEST', 'name the crypto user the access key is for');
      const user = await this.users.find(username);
      if (!user) throw new HsmError('USER_NOT_FOUND');
      if (user.role !== 'user') throw new HsmError('BAD_REQUEST', 'access keys are issued to crypto users only');
      return user;
    }
    requireRole(actor, 'key.create');
    if (username !== undefined && username !== actor.username) throw new HsmError('FORBIDDEN', 'a crypto user may only create its own access keys');
    return { id: actor.id, username: actor.username };
  }
}
