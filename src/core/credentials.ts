// Credentials of users for the HTTP faces (DESIGN.md "Identity and roles"): SigV4 access keys for
// the KMS face, issued to crypto users, the secret half sealed with the partition's key like a key
// value, every row MACed. The secret is shown once, at creation; a lookup unseals it only to verify
// a signature. A principal is minted only once the face has verified the signature, and a deleted
// key, or a deleted, locked or re-passworded user, authenticates nobody from the next request on.
import * as c from '../crypto/node-crypto';
import { CKA } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { DomainKeys, seal, unseal } from '../keystore/seal';
import type { RecordRow } from '../keystore/types';
import { Coherence, LruCache } from './coherence';
import type { Operations } from './operation';
import type { Gate } from './policy/gate';
import type { Caller, Principal, PrincipalRegistry, Role } from './principal';
import type { Records } from './records';
import type { UserService } from './users';
import { ClientCredentials } from './client-credentials';

export const MAX_ACCESS_KEYS_PER_USER = 10;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export interface AccessKeyInfo { accessKeyId: string; username: string; created: string }
/** What a face needs to verify a request: the secret, and the principal to mint once it verified. */
export interface CredentialLookup { secretAccessKey: string; partition: string; principal(): Principal }

/** `AKIA` + 16 base-32 characters, the shape AWS SDKs and tools expect of an access key id. */
function newAccessKeyId(): string {
  const bytes = c.randomBytes(16);
  let id = 'AKIA';
  for (let i = 0; i < 16; i++) id += BASE32[bytes[i] & 31];
  return id;
}

const sealId = (id: string) => `credential/${id}`;

export class CredentialService {
  /** The cloud faces' credentials: Key Vault OAuth clients and XKS key stores (client-credentials.ts). */
  readonly clients: ClientCredentials;
  private readonly cache = new LruCache<{ row: RecordRow; user: { id: string; username: string; role: Role; partition: string } }>(10_000);

  constructor(private readonly records: Records, private readonly keys: () => DomainKeys, private readonly gate: Gate,
    private readonly ops: Operations, private readonly users: UserService, private readonly registry: PrincipalRegistry, private readonly coherence: Coherence) {
    coherence.register('credentials', (id) => this.cache.delete(id), () => this.cache.clear());
    coherence.register('users', () => this.cache.clear(), () => this.cache.clear());
    this.clients = new ClientCredentials(records, keys, gate, ops, users, registry, users.throttle, coherence);
  }

  /** A crypto user issues a key for itself; an officer for any crypto user of its partition. */
  create(caller: Caller, username?: string): Promise<{ accessKeyId: string; secretAccessKey: string; username: string }> {
    return this.ops.run(caller, 'access-key.create', async (a, change, rec) => {
      const me = a.principal;
      const name = username ?? (a.actor === 'user' ? me?.username : undefined);
      if (!name) throw new HsmError('BAD_REQUEST', 'name the crypto user the access key is for');
      const target = await this.users.find(a.partition, name);
      this.gate.authorize(a, 'credential.create', { kind: 'credential', userId: target?.id ?? '', partition: a.partition });
      if (!target) throw new HsmError('USER_NOT_FOUND');
      if (target.role !== 'user') throw new HsmError('BAD_REQUEST', 'access keys are issued to crypto users only');
      if ((await this.records.store.count('credentials', { user_id: target.id })) >= MAX_ACCESS_KEYS_PER_USER) {
        throw new HsmError('BAD_REQUEST', `a user may hold at most ${MAX_ACCESS_KEYS_PER_USER} access keys`);
      }
      const accessKeyId = newAccessKeyId();
      const secret = c.randomBytes(30).toString('base64'); // 40 characters, like AWS secrets
      const row = this.records.make('credentials', {
        id: accessKeyId, partition: a.partition, cols: { kind: 'sigv4', user_id: target.id }, data: JSON.stringify({}),
        sealed: seal(this.keys(), a.partition, sealId(accessKeyId), CKA.VALUE, Buffer.from(secret, 'utf8')),
      });
      change.insert('credentials', row).onCommit(() => this.records.wrote('credentials', row));
      rec.object = accessKeyId;
      rec.detail = `for ${target.username}`;
      return { accessKeyId, secretAccessKey: secret, username: target.username };
    });
  }

  list(caller: Caller): Promise<AccessKeyInfo[]> {
    return this.ops.run(caller, 'access-key.list', async (a) => {
      const out: AccessKeyInfo[] = [];
      for await (const row of this.records.all('credentials', { partition: a.partition, kind: 'sigv4' })) {
        const userId = String(row.cols.user_id);
        if (!this.gate.permits(a, 'credential.list', { kind: 'credential', userId, partition: row.partition })) continue;
        out.push({ accessKeyId: row.id, username: (await this.users.byId(userId))?.username ?? userId, created: new Date(row.created).toISOString() });
      }
      if (!out.length) this.gate.authorize(a, 'credential.list', { kind: 'credential', userId: a.principal?.id ?? '', partition: a.partition });
      return out;
    }, { recordSuccess: false });
  }

  delete(caller: Caller, accessKeyId: string): Promise<void> {
    return this.ops.run(caller, 'access-key.delete', async (a, change, rec) => {
      rec.object = String(accessKeyId).slice(0, 64);
      const row = typeof accessKeyId === 'string' && accessKeyId.length <= 64 ? await this.records.get('credentials', accessKeyId) : undefined;
      if (!row || row.cols.kind !== 'sigv4') throw new HsmError('ACCESS_KEY_NOT_FOUND');
      this.gate.authorize(a, 'credential.delete', { kind: 'credential', userId: String(row.cols.user_id), partition: row.partition });
      change.delete('credentials', row).onCommit(() => this.cache.delete(row.id));
    });
  }

  /** For SigV4 verification: the secret and a principal factory, or undefined. Keys of deleted,
   *  locked or no-longer-crypto users authenticate nobody. */
  async lookup(accessKeyId: string): Promise<CredentialLookup | undefined> {
    if (typeof accessKeyId !== 'string' || !/^AKIA[A-Z2-7]{16}$/.test(accessKeyId)) return undefined;
    // Before the operation's own look at the change log: a user unlocked on another node is seen here too.
    await this.coherence.sync();
    let hit = this.cache.get(accessKeyId);
    if (!hit) {
      const row = await this.records.get('credentials', accessKeyId);
      if (!row || row.cols.kind !== 'sigv4') return undefined;
      const user = await this.users.byId(String(row.cols.user_id));
      if (!user || user.role !== 'user' || user.partition !== row.partition) return undefined;
      hit = { row, user: { id: user.id, username: user.username, role: user.role, partition: user.partition } };
      this.cache.set(accessKeyId, hit);
    }
    // The user's lock and epoch are read on every request (the users' coherent cache), never kept
    // here: a lock, an unlock or a password change is seen by the next request, not after eviction.
    const state = await this.users.userState(hit.user.id);
    if (!state || state.locked || state.partition !== hit.row.partition) return undefined;
    const { row } = hit;
    const user = { ...hit.user, epoch: state.epoch };
    const bytes = unseal(this.keys(), row.partition, sealId(row.id), CKA.VALUE, row.sealed!);
    let secretAccessKey: string;
    try { secretAccessKey = bytes.toString('utf8'); } finally { bytes.fill(0); }
    return { secretAccessKey, partition: row.partition, principal: () => this.registry.mintUser(user) };
  }
}
