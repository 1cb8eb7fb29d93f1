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
import { AuditLog } from './audit/audit-log';
import { BackupHeader, createBackup, MAX_BACKUP, NOT_BACKED_UP, openBackup, readHeader } from './backup';
import { audit, OperationObserver } from './audit/audited';
import { ACCESS_KEY_OPS, CRYPTO_OPS, KEY_OPS, KMS_ALIAS_OPS, KMS_KEY_OPS, USER_OPS } from './audit/ops';
import { AccessKeyService } from './access-keys';
import { KmsAliasService } from './kms-aliases';
import { KmsKeyService } from './kms-keys';

export type ModuleState = 'uninitialized' | 'sealed' | 'unsealed' | 'error';
const SHARE_PREFIX = 'inkan-share-1:';
const DMK_LEN = 32;

export interface HsmOptions {
  node?: string;
  /** Test-only: names a self-test whose answer is flipped, to prove the error state. */
  selfTestFault?: string;
  events?: EventSink;
  /** Told of every audited core operation and its duration (metrics); never changes its outcome. */
  onOperation?: OperationObserver;
  /** Called after zeroisation, to destroy key material kept outside the store (the dev key file). */
  onZeroize?: () => void;
}

export interface Status {
  state: ModuleState;
  initialized: boolean;
  sealed: boolean;
  threshold?: number;
  shares?: number;
  unsealProgress?: number;
  restorePending: boolean;
  selfTests: { passed: boolean; failed: string[]; count: number };
  node: string;
  keystore: string;
  mechanisms: number;
  audit: { records: number; writeFailures: number; lastFailure?: { time: string; error: string } };
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
  private auditKey?: c.KeyObject;
  private pendingRestore?: { blob: Buffer; header: BackupHeader; threshold: number };
  readonly audit: AuditLog;
  private readonly objects: ObjectStore;
  readonly users: UserService;
  readonly keys: KeyService;
  readonly crypto: CryptoService;
  /** KMS-only key state (records, versions, aliases) and the KMS face's SigV4 access keys. */
  readonly kms: KmsKeyService;
  readonly kmsAliases: KmsAliasService;
  readonly accessKeys: AccessKeyService;
  readonly node: string;

  constructor(readonly store: KeyStore, private readonly opts: HsmOptions = {}) {
    this.node = opts.node ?? 'node-1';
    const keys = () => this.requireKeys();
    this.objects = new ObjectStore(store, keys);
    this.users = new UserService(store, keys);
    this.keys = new KeyService(this.objects, opts.events);
    this.crypto = new CryptoService(this.keys, opts.events);
    this.kms = new KmsKeyService(store, keys, this.keys);
    this.kmsAliases = new KmsAliasService(store, keys);
    this.accessKeys = new AccessKeyService(store, keys, this.users);
    this.audit = new AuditLog(store.audit, this.node, () => this.auditKey);
    audit(this.keys, this.audit, KEY_OPS, opts.onOperation);
    audit(this.crypto, this.audit, CRYPTO_OPS, opts.onOperation);
    audit(this.users, this.audit, USER_OPS, opts.onOperation);
    audit(this.accessKeys, this.audit, ACCESS_KEY_OPS, opts.onOperation);
    audit(this.kms, this.audit, KMS_KEY_OPS, opts.onOperation);
    audit(this.kmsAliases, this.audit, KMS_ALIAS_OPS, opts.onOperation);
  }

  /** Records a module-level event (init, unseal, seal, self-test, zeroize, backup). */
  private async moduleEvent(op: string, outcome: 'success' | 'failure', actor?: Principal, code?: string, detail?: string): Promise<void> {
    await this.audit.record({ actor: actor?.username ?? '-', role: actor?.role ?? '-', face: actor ? 'admin' : 'internal', op, outcome, code, detail });
  }

  /** Runs `fn` as a module-level operation that is audited whether it succeeds or fails. */
  private async audited<T>(op: string, actor: Principal | undefined, fn: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      const code = err instanceof HsmError ? err.code : 'INTERNAL';
      if (code !== 'AUDIT_FAILED') await this.moduleEvent(op, 'failure', actor, code);
      throw err;
    }
    await this.moduleEvent(op, 'success', actor);
    return result;
  }

  private setKeys(keys: DomainKeys | undefined): void {
    this.domainKeys = keys;
    this.auditKey = keys ? c.ed25519PrivateFromSeed(keys.derive('audit', 32)) : undefined;
  }

  /** The audit checkpoint verification key (PEM), recorded at init. */
  async auditPublicKey(): Promise<string> {
    const pem = await this.store.getMeta('audit_public_key');
    if (!pem) throw new HsmError('NOT_INITIALIZED');
    return pem.toString();
  }

  /** Runs the power-up self-tests and reads whether the module was initialised. */
  async start(): Promise<void> {
    this.selfTests = await runSelfTests(this.opts.selfTestFault);
    this.initialized = (await this.store.getMeta('dmk_check')) !== undefined;
    const failed = this.selfTests.filter((t) => !t.passed).map((t) => t.name);
    // A log that cannot be written at start shows in status; the server still reports its state.
    await this.moduleEvent('module.self-test', failed.length ? 'failure' : 'success', undefined, failed.length ? 'SELF_TEST_FAILED' : undefined,
      failed.join(',') || undefined).catch(() => undefined);
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
      threshold: this.pendingRestore?.threshold ?? await meta('threshold'), shares: await meta('shares'),
      unsealProgress: this.domainKeys ? undefined : this.pending.length,
      restorePending: this.pendingRestore !== undefined,
      selfTests: { passed: failed.length === 0 && this.selfTests.length > 0, failed, count: this.selfTests.length },
      node: this.node, keystore: this.store.kind, mechanisms: allMechanisms().length,
      audit: { records: (await this.store.audit.head().catch(() => ({ seq: -1 }))).seq, writeFailures: this.audit.failures, lastFailure: this.audit.lastFailure },
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
  init(shares: number, threshold: number, officer: { username: string; password: string }): Promise<string[]> {
    return this.audited('module.init', undefined, () => this.initialise(shares, threshold, officer));
  }

  private async initialise(shares: number, threshold: number, officer: { username: string; password: string }): Promise<string[]> {
    if (this.state === 'error') throw new HsmError('SELF_TEST_FAILED');
    if (this.initialized) throw new HsmError('ALREADY_INITIALIZED');
    if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 1 || shares < threshold || shares > 16) {
      throw new HsmError('BAD_REQUEST', 'need 1 ≤ threshold ≤ shares ≤ 16');
    }
    if (threshold === 1 && shares !== 1) throw new HsmError('BAD_REQUEST', 'a threshold of 1 is only allowed with a single share');
    const dmk = c.randomBytes(DMK_LEN);
    try {
      // shamir-secret-sharing needs at least 2 shares; a 1-of-1 "split" is the key itself plus an x byte.
      const parts = shares === 1 ? [Uint8Array.from([...dmk, 1])] : await split(u8(dmk), shares, threshold);
      this.setKeys(new DomainKeys(dmk));
      try {
        await this.users.create(undefined, officer.username, 'officer', officer.password);
        await this.store.putMeta({
          dmk_check: this.domainKeys!.checkValue(), shares: Buffer.from(String(shares)),
          threshold: Buffer.from(String(threshold)), initialized_at: Buffer.from(new Date().toISOString()),
          audit_public_key: Buffer.from(c.exportSpkiPem(c.publicOf(this.auditKey!))),
        });
      } finally {
        this.setKeys(undefined);
      }
      this.initialized = true;
      return parts.map(encodeShare);
    } finally {
      dmk.fill(0);
    }
  }

  /** Takes one share; when the threshold is reached, rebuilds and checks the DMK. */
  unseal(shareText: string): Promise<{ sealed: boolean; progress: number; threshold: number }> {
    return this.audited('module.unseal', undefined, () => this.takeShare(shareText));
  }

  private async takeShare(shareText: string): Promise<{ sealed: boolean; progress: number; threshold: number }> {
    if (this.state === 'error') throw new HsmError('SELF_TEST_FAILED');
    const restore = this.pendingRestore;
    if (!this.initialized && !restore) throw new HsmError('NOT_INITIALIZED');
    if (this.domainKeys) throw new HsmError('ALREADY_UNSEALED');
    const threshold = restore ? restore.threshold : Number((await this.store.getMeta('threshold'))!.toString());
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
      const expected = restore ? Buffer.from(restore.header.dmkCheck, 'hex') : (await this.store.getMeta('dmk_check'))!;
      if (!c.timingSafeEqual(candidate.checkValue(), expected)) throw new HsmError('SHARES_WRONG');
      if (restore) {
        await this.store.bulk.replace(openBackup(candidate, restore.blob).tables);
        this.pendingRestore = undefined;
        this.initialized = true;
      }
      this.setKeys(candidate);
      return { sealed: false, progress: threshold, threshold };
    } catch (err) {
      throw err instanceof HsmError ? err : new HsmError('SHARES_WRONG');
    } finally {
      dmk?.fill(0);
      for (const g of given) g.fill(0);
    }
  }

  /** An encrypted backup of the whole domain (crypto officer). */
  backup(actor: Principal): Promise<Buffer> {
    return this.audited('backup.create', actor, async () => {
      requireRole(actor, 'module.backup');
      const keys = this.requireKeys();
      const tables = await this.store.bulk.dump(NOT_BACKED_UP);
      return createBackup(keys, tables, {
        created: new Date().toISOString(), node: this.node, dmkCheck: keys.checkValue().toString('hex'),
        threshold: Number((await this.store.getMeta('threshold'))!.toString()), auditHead: await this.store.audit.head(),
      });
    });
  }

  /** Restores a backup. On an unsealed module with the same master key it replaces the domain at
   *  once (crypto officer); on an uninitialised module it waits for the backup's unseal shares. */
  restore(actor: Principal | undefined, blob: Buffer): Promise<{ restored: boolean; threshold: number; counts: Record<string, number> }> {
    return this.audited('backup.restore', actor, async () => {
      if (this.state === 'error') throw new HsmError('SELF_TEST_FAILED');
      if (blob.length > MAX_BACKUP) throw new HsmError('REQUEST_TOO_LARGE');
      const { header } = readHeader(blob);
      if (!this.initialized) {
        this.pendingRestore = { blob, header, threshold: header.threshold };
        this.pending = [];
        return { restored: false, threshold: header.threshold, counts: header.counts };
      }
      if (!actor) throw new HsmError('AUTH_REQUIRED');
      requireRole(actor, 'module.backup');
      const { tables } = openBackup(this.requireKeys(), blob);
      await this.store.bulk.replace(tables);
      this.objects.clear();
      return { restored: true, threshold: header.threshold, counts: header.counts };
    });
  }

  /** Destroys the master key and every sealed object, leaving an uninitialised module; the audit
   *  chain is kept and its last record says so. `actor` undefined for a tamper signal. */
  zeroize(actor?: Principal): Promise<void> {
    return this.audited('module.zeroize', actor, async () => {
      if (actor) requireRole(actor, 'module.zeroize');
      await this.audit.checkpoint().catch(() => undefined);
      this.setKeys(undefined);
      this.objects.clear();
      this.pending = [];
      this.pendingRestore = undefined;
      await this.store.bulk.wipe(NOT_BACKED_UP);
      this.initialized = false;
      this.opts.onZeroize?.();
    });
  }

  /** Drops every key from memory. `actor` undefined only for the server's own shutdown. */
  seal(actor?: Principal): Promise<void> {
    return this.audited('module.seal', actor, async () => {
      if (actor) requireRole(actor, 'module.seal');
      this.requireKeys();
      await this.audit.checkpoint().catch(() => undefined);
      this.setKeys(undefined);
      this.objects.clear();
    });
  }

  async login(username: string, password: string): Promise<Principal> {
    this.requireKeys();
    return this.users.login(username, password);
  }
}
