// Quorum (M of N) for admin services, CloudHSM's token-sign model: an officer sets a quorum value
// per service; an operation of a service whose value is above 1 runs only with a token that
// binds the exact operation, its arguments, the requester, the partition and an expiry, and
// that enough distinct approvers signed with their own registered keys (quorum-token/token.ts:
// the private keys stay on their machines). The requester counts once, implicitly (it is logged
// in when it asks and when it uses the token); it may not also sign. A token is used once: the
// use is an optimistic update of the token's row, so two nodes cannot both use it. Everything —
// values, keys, tokens — is a MACed row of the store (`quorum` table), so a cluster shares it.
// Every request, approval, use and refusal is an audited operation. docs/operators.md.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { RecordRow } from '../keystore/types';
import { canonicalBytes, canonicalJson, publicSigningKey, TOKEN_SCHEME, verifyToken, type JsonValue, type TokenBody } from '../quorum-token/token';
import { Change } from './change';
import { Coherence, LruCache } from './coherence';
import type { ObjectStore } from './object-store';
import type { Operations, OpRecord } from './operation';
import type { Admitted, Gate } from './policy/gate';
import type { Caller } from './principal';
import { normaliseArgs, quorumOperation, Service, SERVICES } from './quorum-operations';
import type { Records } from './records';
import type { UserInfo } from './users';

export const MAX_QUORUM = 20;
const DEFAULT_TTL_S = 15 * 60;
const MAX_TTL_S = 24 * 3600;
/** Tokens kept per partition (open, used or recently expired); requests beyond are refused. */
const MAX_TOKENS = 256;
/** A used or expired token stays this long (so its reuse is refused as such), then it is pruned. */
const KEEP_MS = 3600_000;

export interface Approval { userId: string; username: string; fingerprint: string; signature: string; at: string }
interface TokenData { body: TokenBody; approvals: Approval[]; usedAt?: string }
interface SigningKeyData { kind: string; pem: string; fingerprint: string; registered: string }

/** What the quorum service needs of users (users.ts answers it). */
export interface ApproverDirectory {
  byId(id: string): Promise<UserInfo | undefined>;
  find(partition: string, username: string): Promise<UserInfo | undefined>;
}

/** A token as shown: everything it binds, its canonical bytes, its approvals and state. */
export interface TokenView {
  body: TokenBody;
  canonical: string;
  approvals: Omit<Approval, 'signature'>[];
  /** Approvals counted now (the requester's implicit one included). */
  count: number;
  required: number;
  state: 'open' | 'used' | 'expired';
}

const valuesId = (partition: string) => `qv:${partition}`;
const keyId = (userId: string) => `qk:${userId}`;

export class QuorumService {
  private readonly cache = new LruCache<{ row?: RecordRow }>(10_000);
  /** The use quorum of a key, for key-use tokens (key-quorum.ts sets it). */
  keyRequirement: (a: Admitted, keyId: string) => Promise<{ required: number; approvers: string[] }> = async () => { throw new HsmError('NOT_SUPPORTED'); };
  /** Key-use token arguments as requested → as bound: the key named by id or label becomes its id,
   *  an activation's window defaults to the key's (key-quorum.ts). */
  keyArgs: (a: Admitted, operation: string, args: { [k: string]: JsonValue }) => Promise<{ [k: string]: JsonValue }> = async (_a, _o, args) => args;

  constructor(private readonly records: Records, private readonly gate: Gate, private readonly ops: Operations,
    private readonly users: ApproverDirectory, private readonly objects: ObjectStore, coherence: Coherence, private readonly now: () => number = Date.now) {
    coherence.register('quorum', (id) => this.cache.delete(id), () => this.cache.clear());
  }

  // --- rows -----------------------------------------------------------------------------------

  private async cached(id: string): Promise<RecordRow | undefined> {
    const hit = this.cache.get(id);
    if (hit) return hit.row;
    const row = await this.records.get('quorum', id);
    this.cache.set(id, { row });
    return row;
  }

  /** Puts a row of the quorum table into `change` (insert, or the next version of `old`). */
  putIn(change: Change, fields: { id: string; partition: string; kind: string; ref: string; data: unknown }, old?: RecordRow): RecordRow {
    const row = this.records.make('quorum', { id: fields.id, partition: fields.partition, cols: { kind: fields.kind, ref: fields.ref }, data: JSON.stringify(fields.data), sealed: null }, old);
    if (old) change.update('quorum', row, old); else change.insert('quorum', row);
    change.onCommit(() => { this.records.wrote('quorum', row); this.cache.delete(row.id); });
    return row;
  }

  /** A cached row of the quorum table (for key-quorum.ts). */
  row(id: string): Promise<RecordRow | undefined> { return this.cached(id); }

  // --- values -----------------------------------------------------------------------------------

  async valuesIn(partition: string): Promise<Record<Service, number>> {
    const row = await this.cached(valuesId(partition));
    const stored = row ? (JSON.parse(row.data) as { values: Partial<Record<Service, number>> }).values : {};
    return Object.fromEntries(SERVICES.map((s) => [s, stored[s] ?? 1])) as Record<Service, number>;
  }

  values(caller: Caller): Promise<Record<Service, number>> {
    return this.ops.run(caller, 'quorum.show', async (a) => {
      this.gate.authorize(a, 'quorum.read');
      return this.valuesIn(a.partition);
    }, { recordSuccess: false });
  }

  /** Officers able to approve in a partition: unlocked officers (the requester among them). */
  private async officers(partition: string): Promise<UserInfo[]> {
    const out: UserInfo[] = [];
    for await (const row of this.records.all('users', { partition, role: 'officer' })) {
      const u = await this.users.byId(row.id);
      if (u && !u.locked) out.push(u);
    }
    return out;
  }

  /** Sets one service's value; never above the officers able to approve. (The route asks the
   *  `quorum` service's own quorum first.) */
  setValue(caller: Caller, service: string, value: number, tokenId?: string): Promise<Record<Service, number>> {
    return QuorumService.usedOnce(this.ops.run(caller, 'quorum.set', async (a, change, rec) => {
      this.gate.authorize(a, 'quorum.set');
      if (!(SERVICES as readonly string[]).includes(service)) throw new HsmError('BAD_REQUEST', `services: ${SERVICES.join(', ')}`);
      if (!Number.isSafeInteger(value) || value < 1 || value > MAX_QUORUM) throw new HsmError('BAD_REQUEST', `a quorum value is 1 to ${MAX_QUORUM}`);
      await this.useIn(a, change, rec, 'quorum.set', { service, value }, tokenId);
      rec.detail = `${service} = ${value}${tokenId ? `; ${rec.detail}` : ''}`.slice(0, 400);
      const able = (await this.officers(a.partition)).length;
      if (value > able) throw new HsmError('QUORUM_VALUE_TOO_HIGH', `${service} cannot need ${value} approvals: the partition has ${able} unlocked officer(s)`);
      const values = { ...(await this.valuesIn(a.partition)), [service]: value };
      const old = await this.records.get('quorum', valuesId(a.partition));
      this.putIn(change, { id: valuesId(a.partition), partition: a.partition, kind: 'values', ref: '', data: { values } }, old);
      return values;
    }));
  }

  /** The highest value of any service in a partition (users.ts refuses to drop officers below it). */
  async highest(partition: string): Promise<number> {
    return Math.max(...Object.values(await this.valuesIn(partition)));
  }

  // --- personal signing keys --------------------------------------------------------------------

  async signingKey(userId: string): Promise<SigningKeyData | undefined> {
    const row = await this.cached(keyId(userId));
    return row && (JSON.parse(row.data) as SigningKeyData);
  }

  /** Registers a user's personal signing public key (Ed25519 or P-256); the private key never reaches the module. */
  /** Replacing a key, or registering one for somebody else, is user management (its quorum, `tokenId`);
   *  a user's first key for itself is not. `covered`: the caller's token was already checked (user.create). */
  registerKey(caller: Caller, username: string, publicKeyPem: string, tokenId?: string, covered = false): Promise<{ username: string; kind: string; fingerprint: string }> {
    return QuorumService.usedOnce(this.ops.run(caller, 'user.register-key', async (a, change, rec) => {
      rec.detail = String(username).slice(0, 64);
      const user = await this.users.find(a.partition, String(username));
      this.gate.authorize(a, 'user.register-key', { kind: 'user', id: user?.id ?? '', partition: a.partition });
      if (!user) throw new HsmError('USER_NOT_FOUND');
      rec.object = user.id;
      const key = typeof publicKeyPem === 'string' && publicKeyPem.length <= 4096 && !publicKeyPem.includes('PRIVATE') ? publicSigningKey(publicKeyPem) : undefined;
      if (!key) throw new HsmError('SIGNING_KEY_INVALID');
      const old = await this.records.get('quorum', keyId(user.id));
      if (!covered && (user.id !== a.principal?.id || old !== undefined)) {
        await this.useIn(a, change, rec, 'user.register-key', { username: user.username, fingerprint: key.fingerprint }, tokenId);
      }
      rec.object = user.id;
      rec.detail = `${user.username} ${key.kind} ${key.fingerprint.slice(0, 16)}${tokenId ? `; ${rec.detail}` : ''}`.slice(0, 400);
      this.putIn(change, { id: keyId(user.id), partition: a.partition, kind: 'signing-key', ref: user.id, data: { kind: key.kind, pem: key.pem, fingerprint: key.fingerprint, registered: new Date(this.now()).toISOString() } }, old);
      return { username: user.username, kind: key.kind, fingerprint: key.fingerprint };
    }));
  }

  // --- tokens -----------------------------------------------------------------------------------

  /** How many approvals a token needs now, and who may give them (user ids; undefined: the partition's officers). */
  private async requirement(a: Admitted, body: Pick<TokenBody, 'service' | 'args'>): Promise<{ required: number; approvers?: string[] }> {
    if (body.service === 'key-use') return this.keyRequirement(a, String(body.args.key ?? ''));
    return { required: (await this.valuesIn(a.partition))[body.service as Service] ?? 1 };
  }

  /** A new token for one operation with these arguments; returned in full with its canonical bytes. */
  request(caller: Caller, operation: string, args: unknown, ttlSeconds = DEFAULT_TTL_S): Promise<TokenView> {
    return this.ops.run(caller, 'quorum.request', async (a, change, rec) => {
      this.gate.authorize(a, 'quorum.request');
      const def = quorumOperation(operation);
      let normal = normaliseArgs(operation, args);
      if (def.service === 'key-use') normal = await this.keyArgs(a, operation, normal);
      rec.detail = `${operation} ${canonicalJson(normal).slice(0, 200)}`;
      if (def.service !== 'key-use' && a.actor !== 'officer') throw new HsmError('FORBIDDEN', 'officers request tokens for admin services');
      if (!Number.isSafeInteger(ttlSeconds) || ttlSeconds < 1 || ttlSeconds > MAX_TTL_S) throw new HsmError('BAD_REQUEST', `a token lives 1 s to ${MAX_TTL_S} s`);
      const { required } = await this.requirement(a, { service: def.service, args: normal });
      await this.prune(a.partition, change);
      const now = this.now();
      const p = a.principal!;
      const body: TokenBody = {
        scheme: TOKEN_SCHEME, id: c.randomUuid(), partition: a.partition, service: def.service, operation, args: normal,
        requester: { id: p.id, username: p.username }, required,
        created: new Date(now).toISOString(), expires: new Date(now + ttlSeconds * 1000).toISOString(), nonce: c.randomBytes(16).toString('hex'),
      };
      rec.object = body.id;
      this.putIn(change, { id: body.id, partition: a.partition, kind: 'token', ref: p.id, data: { body, approvals: [] } satisfies TokenData });
      return this.view({ body, approvals: [] }, required);
    });
  }

  /** Drops tokens long expired or used; refuses a partition already holding too many. */
  private async prune(partition: string, change: Change): Promise<void> {
    const rows = await this.records.find('quorum', { partition, kind: 'token' }, { limit: MAX_TOKENS + 64 });
    let kept = 0;
    for (const row of rows) {
      const d = JSON.parse(row.data) as TokenData;
      const end = d.usedAt ? Date.parse(d.usedAt) : Date.parse(d.body.expires);
      if (end + KEEP_MS < this.now()) change.delete('quorum', row); else kept++;
    }
    if (kept >= MAX_TOKENS) throw new HsmError('QUORUM_TOO_MANY_TOKENS');
  }

  private async loadToken(a: Admitted, id: unknown): Promise<{ row: RecordRow; data: TokenData }> {
    const row = typeof id === 'string' && /^[0-9a-f-]{36}$/.test(id) ? await this.records.get('quorum', id) : undefined;
    if (!row || row.cols.kind !== 'token' || row.partition !== a.partition) throw new HsmError('QUORUM_TOKEN_NOT_FOUND');
    return { row, data: JSON.parse(row.data) as TokenData };
  }

  private view(d: TokenData, required: number): TokenView {
    const state = d.usedAt ? 'used' : Date.parse(d.body.expires) <= this.now() ? 'expired' : 'open';
    return {
      body: d.body, canonical: canonicalBytes(d.body).toString('base64'),
      approvals: d.approvals.map(({ signature: _s, ...rest }) => rest), count: 1 + d.approvals.length, required, state,
    };
  }

  /** A token in full (any officer or user of the partition may look: approvers must see what they sign). */
  show(caller: Caller, id: string): Promise<TokenView> {
    return this.ops.run(caller, 'quorum.show', async (a, _c, rec) => {
      this.gate.authorize(a, 'quorum.read');
      rec.object = String(id).slice(0, 40);
      const { data } = await this.loadToken(a, id);
      return this.view(data, Math.max(data.body.required, (await this.requirement(a, data.body)).required));
    }, { recordSuccess: false });
  }

  /** The open tokens of the partition. */
  list(caller: Caller): Promise<TokenView[]> {
    return this.ops.run(caller, 'quorum.list', async (a) => {
      this.gate.authorize(a, 'quorum.read');
      const out: TokenView[] = [];
      for (const row of await this.records.find('quorum', { partition: a.partition, kind: 'token' }, { limit: MAX_TOKENS + 64 })) {
        const d = JSON.parse(row.data) as TokenData;
        out.push(this.view(d, d.body.required));
      }
      return out.filter((t) => t.state === 'open').sort((x, y) => x.body.created.localeCompare(y.body.created));
    }, { recordSuccess: false });
  }

  /** Whether a user may approve this token: an officer of the partition for admin services; the
   *  key's owner or a user it is shared with for key use (asked of the gate). */
  private async entitled(a: Admitted, body: TokenBody): Promise<boolean> {
    if (body.service !== 'key-use') return a.actor === 'officer';
    const obj = await this.objects.get(String(body.args.key ?? ''));
    return obj !== undefined && this.gate.permits(a, 'key.use', { kind: 'object', object: obj });
  }

  /** Records one approval: the caller's signature over the token's canonical bytes, made with the
   *  private key that matches its registered public key. */
  approve(caller: Caller, id: string, signature: string): Promise<TokenView> {
    return this.ops.run(caller, 'quorum.approve', async (a, change, rec) => {
      this.gate.authorize(a, 'quorum.approve');
      rec.object = String(id).slice(0, 40);
      const { row, data } = await this.loadToken(a, id);
      const p = a.principal!;
      rec.detail = `${data.body.operation} requested by ${data.body.requester.username}`;
      if (data.usedAt) throw new HsmError('QUORUM_TOKEN_USED');
      if (Date.parse(data.body.expires) <= this.now()) throw new HsmError('QUORUM_TOKEN_EXPIRED');
      if (data.body.requester.id === p.id) throw new HsmError('QUORUM_SELF_APPROVAL');
      if (data.approvals.some((x) => x.userId === p.id)) throw new HsmError('QUORUM_DUPLICATE_APPROVAL');
      if (!(await this.entitled(a, data.body))) throw new HsmError('QUORUM_NOT_APPROVER');
      if (data.approvals.length >= MAX_QUORUM) throw new HsmError('QUORUM_DUPLICATE_APPROVAL', 'the token has the most approvals it can hold');
      const key = await this.signingKey(p.id);
      if (!key) throw new HsmError('QUORUM_NO_SIGNING_KEY');
      if (!(await verifyToken(data.body, key.pem, signature))) throw new HsmError('QUORUM_SIGNATURE_INVALID');
      const next: TokenData = { ...data, approvals: [...data.approvals, { userId: p.id, username: p.username, fingerprint: key.fingerprint, signature, at: new Date(this.now()).toISOString() }] };
      this.putIn(change, { id: row.id, partition: row.partition, kind: 'token', ref: String(row.cols.ref), data: next }, row);
      return this.view(next, Math.max(data.body.required, (await this.requirement(a, data.body)).required));
    });
  }

  /** Authorises one run of `operation` with `args`: nothing to do if its service needs 1 approval
   *  and no token was given; else the token must be the caller's own, open, for exactly this
   *  operation and these arguments, and signed by enough approvers who are still entitled.
   *  Marks the token used (once, across nodes). Audited as quorum.use. */
  async consume(caller: Caller, operation: string, args: unknown, tokenId: string | undefined): Promise<void> {
    quorumOperation(operation);
    // Inside an operation, so the value is read after catching up with other nodes; a run that
    // needed no token writes nothing and leaves no record.
    await QuorumService.usedOnce(this.ops.run(caller, 'quorum.use', (a, change, rec) => this.useIn(a, change, rec, operation, args, tokenId), { recordSuccess: false }));
  }

  /** A use that lost the race for the token's row (another node or request used it first) is a reuse. */
  static async usedOnce<T>(p: Promise<T>): Promise<T> {
    try { return await p; } catch (err) {
      if (err instanceof HsmError && err.code === 'STORE_CONFLICT') throw new HsmError('QUORUM_TOKEN_USED');
      throw err;
    }
  }

  /** The check and the token's use inside another operation's transaction (so the operation and
   *  the use commit together): nothing when the service needs 1 approval and no token was given. */
  async useIn(a: Admitted, change: Change, rec: OpRecord, operation: string, args: unknown, tokenId: string | undefined): Promise<void> {
    const def = quorumOperation(operation);
    const normal = normaliseArgs(operation, args);
    rec.detail = `${operation} ${canonicalJson(normal).slice(0, 200)}`;
    const need = await this.requirement(a, { service: def.service, args: normal });
    if (tokenId === undefined) {
      if (need.required <= 1) return;
      throw new HsmError('QUORUM_TOKEN_REQUIRED', `${operation} needs ${need.required} approvals (service ${def.service}): request a token`);
    }
    const { row, data } = await this.loadToken(a, tokenId);
    rec.object = row.id;
    const b = data.body;
    if (b.requester.id !== a.principal?.id) throw new HsmError('QUORUM_NOT_REQUESTER');
    if (data.usedAt) throw new HsmError('QUORUM_TOKEN_USED');
    if (Date.parse(b.expires) <= this.now()) throw new HsmError('QUORUM_TOKEN_EXPIRED');
    if (b.operation !== operation || canonicalJson(b.args) !== canonicalJson(normal) || b.partition !== a.partition) {
      throw new HsmError('QUORUM_TOKEN_MISMATCH', `the token is for ${b.operation} ${canonicalJson(b.args).slice(0, 120)}`);
    }
    await this.checkApprovals(a, data);
    const required = Math.max(b.required, need.required);
    const count = 1 + new Set(data.approvals.map((x) => x.userId)).size;
    if (count < required) throw new HsmError('QUORUM_UNDER_SIGNED', `${count} of ${required} approvals (the requester counts once)`);
    rec.detail = `${rec.detail} with ${count} of ${required}: ${[b.requester.username, ...data.approvals.map((x) => x.username)].join(', ')}`.slice(0, 400);
    this.putIn(change, { id: row.id, partition: row.partition, kind: 'token', ref: String(row.cols.ref), data: { ...data, usedAt: new Date(this.now()).toISOString() } }, row);
  }

  /** Every approval again, at use: the approver still exists, is not locked, still may approve,
   *  still holds the key it signed with, and the signature verifies. */
  private async checkApprovals(a: Admitted, data: TokenData): Promise<void> {
    const seen = new Set<string>();
    for (const ap of data.approvals) {
      if (seen.has(ap.userId) || ap.userId === data.body.requester.id) throw new HsmError('QUORUM_DUPLICATE_APPROVAL');
      seen.add(ap.userId);
      const user = await this.users.byId(ap.userId);
      if (!user || user.locked || user.partition !== a.partition) throw new HsmError('QUORUM_APPROVER_INVALID', `${ap.username} is locked or deleted`);
      if (data.body.service !== 'key-use' && user.role !== 'officer') throw new HsmError('QUORUM_APPROVER_INVALID', `${ap.username} is no longer an officer`);
      if (data.body.service === 'key-use') {
        const { approvers } = await this.keyRequirement(a, String(data.body.args.key ?? ''));
        if (!approvers.includes(ap.userId)) throw new HsmError('QUORUM_APPROVER_INVALID', `${ap.username} no longer shares the key`);
      }
      const key = await this.signingKey(ap.userId);
      if (!key || key.fingerprint !== ap.fingerprint) throw new HsmError('QUORUM_APPROVER_INVALID', `${ap.username}'s signing key changed since the approval`);
      if (!(await verifyToken(data.body, key.pem, ap.signature))) throw new HsmError('QUORUM_SIGNATURE_INVALID');
    }
  }

  /** For tests and docs: the JSON a client signs, from a view. */
  static bytesOf(view: TokenView): Buffer { return Buffer.from(view.canonical, 'base64'); }
}

export type { JsonValue };
