// The module: lifecycle (uninitialised → sealed → unsealed, or error), the domain master
// key split with Shamir's scheme (shamir-secret-sharing, audited), power-up self-tests,
// and the services every face uses. A sealed module refuses everything but status and unseal.
import { combine, split } from 'shamir-secret-sharing';
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import { DomainKeys } from '../keystore/seal';
import type { KeyStore } from '../keystore/types';
import { allMechanisms } from '../mechanisms/registry';
import { CryptoService } from './crypto-service';
import { EventSink, KeyService } from './key-service';
import { ObjectStore } from './object-store';
import { requireRole } from './policy/gate';
import type { Principal } from './principal';
import { runSelfTests, SelfTestResult } from './self-test/self-tests';
import { UserService } from './users';

export type ModuleState = 'uninitialized' | 'sealed' | 'unsealed' | 'error';
const SHARE_PREFIX = 'inkan-share-1:';
const DMK_LEN = 32;

export interface HsmOptions {
  node?: string;
  /** Test-only: names a self-test whose answer is flipped, to prove the error state. */
  selfTestFault?: string;
  events?: EventSink;
}

export interface Status {
  state: ModuleState;
  initialized: boolean;
  sealed: boolean;
  threshold?: number;
  shares?: number;
  unsealProgress?: number;
  selfTests: { passed: boolean; failed: string[]; count: number };
  node: string;
  keystore: string;
  mechanisms: number;
}

// shamir-secret-sharing checks `x.constructor === Uint8Array`, which a Buffer fails; a view
// over the same bytes passes without making another copy of the secret to zero.
const u8 = (b: Buffer): Uint8Array => new Uint8Array(b.buffer, b.byteOffset, b.length);

export function encodeShare(share: Uint8Array): string {
  return SHARE_PREFIX + Buffer.from(share).toString('base64url');
}
function decodeShare(text: string): Buffer {
  if (typeof text !== 'string' || !text.startsWith(SHARE_PREFIX)) throw new HsmError('SHARE_INVALID');
  const raw = Buffer.from(text.slice(SHARE_PREFIX.length), 'base64url');
  if (raw.length !== DMK_LEN + 1) throw new HsmError('SHARE_INVALID');
  return raw;
}

export class Hsm {
  private domainKeys?: DomainKeys;
  private selfTests: SelfTestResult[] = [];
  private initialized = false;
  private pending: Buffer[] = [];
  private readonly objects: ObjectStore;
  readonly users: UserService;
  readonly keys: KeyService;
  readonly crypto: CryptoService;
  readonly node: string;

  constructor(readonly store: KeyStore, private readonly opts: HsmOptions = {}) {
    this.node = opts.node ?? 'node-1';
    const keys = () => this.requireKeys();
    this.objects = new ObjectStore(store, keys);
    this.users = new UserService(store, keys);
    this.keys = new KeyService(this.objects, opts.events);
    this.crypto = new CryptoService(this.keys, opts.events);
  }

  /** Runs the power-up self-tests and reads whether the module was initialised. */
  async start(): Promise<void> {
    this.selfTests = await runSelfTests(this.opts.selfTestFault);
    this.initialized = (await this.store.getMeta('dmk_check')) !== undefined;
  }

  get state(): ModuleState {
    if (this.selfTests.some((t) => !t.passed)) return 'error';
    if (!this.initialized) return 'uninitialized';
    return this.domainKeys ? 'unsealed' : 'sealed';
  }

  async status(): Promise<Status> {
    const meta = async (k: string) => { const v = await this.store.getMeta(k); return v ? Number(v.toString()) : undefined; };
    const failed = this.selfTests.filter((t) => !t.passed).map((t) => t.name);
    return {
      state: this.state, initialized: this.initialized, sealed: !this.domainKeys,
      threshold: await meta('threshold'), shares: await meta('shares'),
      unsealProgress: this.domainKeys ? undefined : this.pending.length,
      selfTests: { passed: failed.length === 0 && this.selfTests.length > 0, failed, count: this.selfTests.length },
      node: this.node, keystore: this.store.kind, mechanisms: allMechanisms().length,
    };
  }

  private requireKeys(): DomainKeys {
    if (this.state === 'error') throw new HsmError('SELF_TEST_FAILED');
    if (this.domainKeys) return this.domainKeys;
    throw new HsmError(this.initialized ? 'SEALED' : 'NOT_INITIALIZED');
  }

  /** Throws unless the module can serve key operations. */
  requireUnsealed(): void { this.requireKeys(); }

  /** Creates the DMK, splits it M-of-N, creates the first crypto officer and leaves the module sealed. */
  async init(shares: number, threshold: number, officer: { username: string; password: string }): Promise<string[]> {
    if (this.state === 'error') throw new HsmError('SELF_TEST_FAILED');
    if (this.initialized) throw new HsmError('ALREADY_INITIALIZED');
    if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 1 || shares < threshold || shares > 16) {
      throw new HsmError('BAD_REQUEST', 'need 1 ≤ threshold ≤ shares ≤ 16');
    }
    if (threshold === 1 && shares !== 1) throw new HsmError('BAD_REQUEST', 'a threshold of 1 is only allowed with a single share');
    const dmk = c.randomBytes(DMK_LEN);
    const secret = new Uint8Array(dmk);
    try {
      // shamir-secret-sharing needs at least 2 shares; a 1-of-1 "split" is the key itself plus an x byte.
      const parts = shares === 1 ? [Uint8Array.from([...dmk, 1])] : await split(u8(dmk), shares, threshold);
      this.domainKeys = new DomainKeys(dmk);
      try {
        await this.users.create(undefined, officer.username, 'officer', officer.password);
        await this.store.putMeta({
          dmk_check: this.domainKeys.checkValue(), shares: Buffer.from(String(shares)),
          threshold: Buffer.from(String(threshold)), initialized_at: Buffer.from(new Date().toISOString()),
        });
      } finally {
        this.domainKeys = undefined;
      }
      this.initialized = true;
      return parts.map(encodeShare);
    } finally {
      dmk.fill(0);
      secret.fill(0);
    }
  }

  /** Takes one share; when the threshold is reached, rebuilds and checks the DMK. */
  async unseal(shareText: string): Promise<{ sealed: boolean; progress: number; threshold: number }> {
    if (this.state === 'error') throw new HsmError('SELF_TEST_FAILED');
    if (!this.initialized) throw new HsmError('NOT_INITIALIZED');
    if (this.domainKeys) throw new HsmError('ALREADY_UNSEALED');
    const threshold = Number((await this.store.getMeta('threshold'))!.toString());
    const share = decodeShare(shareText);
    if (this.pending.some((p) => p[DMK_LEN] === share[DMK_LEN])) throw new HsmError('SHARE_DUPLICATE');
    this.pending.push(share);
    if (this.pending.length < threshold) return { sealed: true, progress: this.pending.length, threshold };
    const given = this.pending;
    this.pending = [];
    let dmk: Buffer | undefined;
    try {
      if (threshold === 1) dmk = given[0].subarray(0, DMK_LEN);
      else { const out = await combine(given.map(u8)); dmk = Buffer.from(out.buffer, out.byteOffset, out.length); }
      const candidate = new DomainKeys(dmk);
      if (!c.timingSafeEqual(candidate.checkValue(), (await this.store.getMeta('dmk_check'))!)) throw new HsmError('SHARES_WRONG');
      this.domainKeys = candidate;
      return { sealed: false, progress: threshold, threshold };
    } catch (err) {
      throw err instanceof HsmError ? err : new HsmError('SHARES_WRONG');
    } finally {
      dmk?.fill(0);
      for (const g of given) g.fill(0);
    }
  }

  /** Drops every key from memory. `actor` undefined only for the server's own shutdown. */
  seal(actor?: Principal): void {
    if (actor) requireRole(actor, 'module.seal');
    this.requireKeys();
    this.domainKeys = undefined;
    this.objects.clear();
  }

  async login(username: string, password: string): Promise<Principal> {
    this.requireKeys();
    return this.users.login(username, password);
  }
}
