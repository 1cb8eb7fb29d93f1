// Credentials of the cloud faces, beside the KMS face's access keys (credentials.ts), in the same
// table, sealed and MACed the same way:
//  - 'oauth-client': a client id and secret of a user of any role, for the Key Vault face's token
//    endpoint. Failed secrets are counted per client and lock it as failed logins lock a user;
//    unknown client ids are counted and answered alike (login-throttle.ts).
//  - 'sigv4-xks': a SigV4 access key of one XKS key store (a URI prefix) in a partition, for a crypto
//    user whose keys the store serves; two may be live for one store while KMS rotates them.
// A principal is minted only by the factory a lookup returns, which faces call after they verified.
import * as c from '../crypto/node-crypto';
import { CKA } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { DomainKeys, seal, unseal } from '../keystore/seal';
import type { RecordRow } from '../keystore/types';
import { Change } from './change';
import { Coherence, LruCache } from './coherence';
import type { LoginThrottle } from './login-throttle';
import { MAX_FAILED_LOGINS } from './login-throttle';
import type { Operations } from './operation';
import type { Admitted, Gate } from './policy/gate';
import type { Caller, Principal, PrincipalRegistry, Role } from './principal';
import type { Records } from './records';
import type { UserInfo, UserService } from './users';

export const MAX_CREDENTIALS_PER_USER = 10;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const CLIENT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/** AWS KMS takes XKS access key ids of 20-30 characters A-Z and 2-7 (XksProxyAuthenticationCredential). */
const XKS_KEY_ID = /^XKS[A-Z2-7]{21}$/;
const XKS_PREFIX = /^\/xks\/[0-9a-f]{24}$/;

export interface CredentialInfo { id: string; username: string; created: string; uriPrefix?: string; locked?: boolean }
export interface VerifiedLater { secret: string; partition: string; principal(): Principal }
interface ClientState { failedLogins?: number; lastFailureAt?: number; locked?: boolean; store?: string }
type Kind = 'oauth-client' | 'sigv4-xks';

const sealId = (id: string) => `credential/${id}`;

export class ClientCredentials {
  private readonly cache = new LruCache<{ row: RecordRow; user: UserInfo }>(10_000);
  private readonly stores = new LruCache<boolean>(1_000);

  constructor(private readonly records: Records, private readonly keys: () => DomainKeys, private readonly gate: Gate,
    private readonly ops: Operations, private readonly users: UserService, private readonly registry: PrincipalRegistry,
    private readonly throttle: LoginThrottle, private readonly coherence: Coherence) {
    const flush = () => { this.cache.clear(); this.stores.clear(); };
    coherence.register('credentials', (id) => { this.cache.delete(id); this.stores.clear(); }, flush);
    coherence.register('users', flush, flush);
  }

  // --- issuing, listing, revoking ---------------------------------------------------------------

  /** A client id and secret for a user of the caller's partition (itself; an officer for anyone). */
  createOAuthClient(caller: Caller, username?: string): Promise<{ clientId: string; clientSecret: string; username: string; role: Role }> {
    return this.ops.run(caller, 'oauth-client.create', async (a, change, rec) => {
      const target = await this.target(a, username, false);
      const clientId = c.randomUuid();
      const clientSecret = c.randomBytes(30).toString('base64url');
      await this.issue(a, change, 'oauth-client', clientId, target, clientSecret, {});
      rec.object = clientId;
      rec.detail = `for ${target.username}`;
      return { clientId, clientSecret, username: target.username, role: target.role };
    });
  }

  /** An XKS key store's SigV4 credential for a crypto user: a new store (URI prefix), or a second
   *  credential of an existing one of the same user (rotation). */
  createXks(caller: Caller, o: { username?: string; uriPrefix?: string } = {}): Promise<{ uriPrefix: string; accessKeyId: string; secretAccessKey: string; username: string }> {
    return this.ops.run(caller, 'xks-credential.create', async (a, change, rec) => {
      const target = await this.target(a, o.username, true);
      let uriPrefix = `/xks/${c.randomBytes(12).toString('hex')}`;
      if (o.uriPrefix !== undefined) {
        const same = XKS_PREFIX.test(o.uriPrefix) ? await this.storeRows(o.uriPrefix) : [];
        if (!same.length || same.some((r) => r.partition !== a.partition || r.cols.user_id !== target.id)) {
          throw new HsmError('BAD_REQUEST', 'no such key store of this user in this partition');
        }
        uriPrefix = o.uriPrefix;
      }
      const bytes = c.randomBytes(21);
      const accessKeyId = 'XKS' + [...bytes].map((b) => BASE32[b & 31]).join('');
      const secretAccessKey = c.randomBytes(33).toString('base64'); // 44 characters: KMS wants 43-64
      await this.issue(a, change, 'sigv4-xks', accessKeyId, target, secretAccessKey, { store: uriPrefix });
      rec.object = accessKeyId;
      rec.detail = `store ${uriPrefix} for ${target.username}`;
      return { uriPrefix, accessKeyId, secretAccessKey, username: target.username };
    });
  }

  list(caller: Caller, kind: Kind): Promise<CredentialInfo[]> {
    return this.ops.run(caller, `${kind}.list`, async (a) => {
      const out: CredentialInfo[] = [];
      for await (const row of this.records.all('credentials', { partition: a.partition, kind })) {
        const userId = String(row.cols.user_id);
        if (!this.gate.permits(a, 'credential.list', { kind: 'credential', userId, partition: row.partition })) continue;
        const state = JSON.parse(row.data) as ClientState;
        out.push({ id: row.id, username: (await this.users.byId(userId))?.username ?? userId, created: new Date(row.created).toISOString(),
          uriPrefix: state.store, locked: kind === 'oauth-client' ? Boolean(state.locked) : undefined });
      }
      if (!out.length) this.gate.authorize(a, 'credential.list', { kind: 'credential', userId: a.principal?.id ?? '', partition: a.partition });
      return out;
    }, { recordSuccess: false });
  }

  delete(caller: Caller, kind: Kind, id: string): Promise<void> {
    return this.ops.run(caller, `${kind}.delete`, async (a, change, rec) => {
      rec.object = String(id).slice(0, 64);
      const row = typeof id === 'string' && id.length <= 64 ? await this.records.get('credentials', id) : undefined;
      if (!row || row.cols.kind !== kind) throw new HsmError('ACCESS_KEY_NOT_FOUND');
      this.gate.authorize(a, 'credential.delete', { kind: 'credential', userId: String(row.cols.user_id), partition: row.partition });
      change.delete('credentials', row).onCommit(() => { this.cache.delete(row.id); this.stores.clear(); });
    });
  }

  // --- authenticating ------------------------------------------------------------------------------

  /** The token endpoint's check of a client secret: its subject (the client id), or undefined for
   *  an unknown client, a wrong secret, a locked client or user. Every attempt is recorded. */
  async authenticateOAuth(clientId: string, secret: string, source?: string): Promise<{ subject: string } | undefined> {
    const caller: Caller = { face: 'akv', partition: '', source };
    try {
      return await this.ops.run(caller, 'oauth-client.authenticate', async (_a, _change, rec) => {
        rec.actor = `client ${String(clientId).slice(0, 64)}`;
        this.throttle.checkSource(source);
        const row = typeof clientId === 'string' && CLIENT_ID.test(clientId) ? await this.records.get('credentials', clientId) : undefined;
        if (!row || row.cols.kind !== 'oauth-client') {
          this.throttle.sourceFailed(source);
          return this.throttle.unknownName('', `oauth-client/${String(clientId).slice(0, 128)}`);
        }
        rec.object = clientId;
        const state = JSON.parse(row.data) as ClientState;
        if (state.locked) throw new HsmError('ACCOUNT_LOCKED');
        this.throttle.checkAccount(state.failedLogins ?? 0, state.lastFailureAt ?? 0);
        const stored = unseal(this.keys(), row.partition, sealId(row.id), CKA.VALUE, row.sealed!);
        const given = Buffer.from(String(secret), 'utf8');
        const ok = c.timingSafeEqual(c.digest('sha256', stored), c.digest('sha256', given));
        stored.fill(0);
        given.fill(0);
        if (!ok) {
          this.throttle.sourceFailed(source);
          const failed = (state.failedLogins ?? 0) + 1;
          await this.writeState(row, { ...state, failedLogins: failed, lastFailureAt: Date.now(), locked: failed >= MAX_FAILED_LOGINS });
          throw new HsmError(failed >= MAX_FAILED_LOGINS ? 'ACCOUNT_LOCKED' : 'LOGIN_FAILED');
        }
        if (!(await this.userOf(row))) throw new HsmError('LOGIN_FAILED');
        if (state.failedLogins) await this.writeState(row, { ...state, failedLogins: 0, lastFailureAt: 0 });
        return { subject: row.id };
      }, { unauthenticated: true });
    } catch (err) {
      if (err instanceof HsmError && ['LOGIN_FAILED', 'ACCOUNT_LOCKED', 'LOGIN_THROTTLED'].includes(err.code)) return undefined;
      throw err;
    }
  }

  /** For a token the face verified: the principal factory of its client, unless revoked since. */
  async lookupOAuth(clientId: string): Promise<{ partition: string; principal(): Principal } | undefined> {
    const hit = await this.usable(clientId, 'oauth-client', CLIENT_ID);
    if (!hit || (JSON.parse(hit.row.data) as ClientState).locked) return undefined;
    return { partition: hit.row.partition, principal: () => this.registry.mintUser(hit.user) };
  }

  /** For SigV4 verification on the XKS face: the secret and the principal factory, for this store only. */
  async lookupXks(uriPrefix: string, accessKeyId: string): Promise<VerifiedLater | undefined> {
    const hit = await this.usable(accessKeyId, 'sigv4-xks', XKS_KEY_ID);
    if (!hit || (JSON.parse(hit.row.data) as ClientState).store !== uriPrefix || hit.user.role !== 'user') return undefined;
    const bytes = unseal(this.keys(), hit.row.partition, sealId(hit.row.id), CKA.VALUE, hit.row.sealed!);
    let secret: string;
    try { secret = bytes.toString('utf8'); } finally { bytes.fill(0); }
    return { secret, partition: hit.row.partition, principal: () => this.registry.mintUser(hit.user) };
  }

  /** Whether some credential serves this XKS URI prefix (unknown prefixes are InvalidUriPath). */
  async xksStoreExists(uriPrefix: string): Promise<boolean> {
    if (!XKS_PREFIX.test(uriPrefix)) return false;
    const hit = this.stores.get(uriPrefix);
    if (hit !== undefined) return hit;
    const exists = (await this.storeRows(uriPrefix)).length > 0;
    this.stores.set(uriPrefix, exists);
    return exists;
  }

  // --- internals -------------------------------------------------------------------------------------

  private async target(a: Admitted, username: string | undefined, cryptoUserOnly: boolean): Promise<UserInfo> {
    const name = username ?? (a.actor === 'user' || a.actor === 'officer' ? a.principal?.username : undefined);
    if (!name) throw new HsmError('BAD_REQUEST', 'name the user the credential is for');
    const target = await this.users.find(a.partition, name);
    this.gate.authorize(a, 'credential.create', { kind: 'credential', userId: target?.id ?? '', partition: a.partition });
    if (!target) throw new HsmError('USER_NOT_FOUND');
    if (cryptoUserOnly && target.role !== 'user') throw new HsmError('BAD_REQUEST', 'XKS key stores serve the keys of a crypto user');
    if ((await this.records.store.count('credentials', { user_id: target.id })) >= MAX_CREDENTIALS_PER_USER) {
      throw new HsmError('BAD_REQUEST', `a user may hold at most ${MAX_CREDENTIALS_PER_USER} credentials`);
    }
    return target;
  }

  private async issue(a: Admitted, change: Change, kind: Kind, id: string, target: UserInfo, secret: string, state: ClientState): Promise<void> {
    const row = this.records.make('credentials', {
      id, partition: a.partition, cols: { kind, user_id: target.id }, data: JSON.stringify(state),
      sealed: seal(this.keys(), a.partition, sealId(id), CKA.VALUE, Buffer.from(secret, 'utf8')),
    });
    change.insert('credentials', row).onCommit(() => { this.records.wrote('credentials', row); this.stores.clear(); });
  }

  private async storeRows(uriPrefix: string): Promise<RecordRow[]> {
    const out: RecordRow[] = [];
    for await (const row of this.records.all('credentials', { kind: 'sigv4-xks' }, () => undefined)) {
      if ((JSON.parse(row.data) as ClientState).store === uriPrefix) out.push(row);
    }
    return out;
  }

  /** The row and its user, if the user still exists, is not locked and is of the row's partition. The
   *  row and the user's name are cached; its epoch and lock come from the users' coherent cache. */
  private async usable(id: string, kind: Kind, shape: RegExp): Promise<{ row: RecordRow; user: UserInfo & { epoch: number } } | undefined> {
    if (typeof id !== 'string' || !shape.test(id)) return undefined;
    await this.coherence.sync();
    let hit = this.cache.get(id);
    if (!hit) {
      const row = await this.records.get('credentials', id);
      const user = row && row.cols.kind === kind ? await this.users.byId(String(row.cols.user_id)) : undefined;
      if (!row || !user) return undefined;
      hit = { row, user };
      this.cache.set(id, hit);
    }
    const state = await this.users.userState(hit.user.id);
    if (!state || state.locked || hit.user.partition !== hit.row.partition || state.partition !== hit.row.partition) return undefined;
    return { row: hit.row, user: { ...hit.user, epoch: state.epoch } };
  }

  private async userOf(row: RecordRow): Promise<UserInfo | undefined> {
    const user = await this.users.byId(String(row.cols.user_id));
    const state = user && await this.users.userState(user.id);
    if (!user || !state || state.locked || user.partition !== row.partition) return undefined;
    return user;
  }

  /** A client's failure count, outside the attempt's own record (which follows with its outcome). */
  private async writeState(old: RecordRow, state: ClientState): Promise<void> {
    const row = this.records.make('credentials', { id: old.id, partition: old.partition, cols: old.cols, data: JSON.stringify(state), sealed: old.sealed }, old);
    const change = new Change().update('credentials', row, old).onCommit(() => { this.records.wrote('credentials', row); this.cache.delete(row.id); });
    try { await this.ops.applyUnrecorded(change); } catch (err) {
      if (!(err instanceof HsmError) || err.code !== 'STORE_CONFLICT') throw err; // a concurrent attempt counted; fine
    }
  }
}
