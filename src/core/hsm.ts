// The module: composes the core's services over one store, holds the module state
// (uninitialised → sealed → unsealed, or error) and answers status. The lifecycle itself
// (init, unseal, seal, zeroise, custodian recovery) is lifecycle.ts; backups backups.ts.
// A sealed module refuses everything but status, unseal and restore with shares.
import { HsmError } from '../errors/hsm-error';
import type { DomainKeys } from '../keystore/seal';
import type { KeyStore } from '../keystore/types';
import { allMechanisms } from '../mechanisms/registry';
import { AuditLog } from './audit/audit-log';
import { openExport, type ExportRange } from './audit/export';
import { Coherence } from './coherence';
import { CredentialService } from './credentials';
import { CryptoService } from './crypto-service';
import { Integrity } from './integrity';
import { KeyReads } from './key-reads';
import { KeyService } from './key-service';
import { Lifecycle } from './lifecycle';
import { Backups } from './backups';
import { ManagedKeyService } from './managed-keys';
import { NameService } from './names';
import { ObjectStore } from './object-store';
import { OperationObserver, Operations } from './operation';
import { PartitionService } from './partitions';
import { PartitionAdmin } from './partition-admin';
import { Gate } from './policy/gate';
import { Caller, callerOf, Face, Principal, PrincipalRegistry } from './principal';
import { Quotas } from './quotas';
import { Records } from './records';
import { UserService } from './users';
import { TokenKeys } from './token-keys';
import { KeyBackups } from './key-backups';
import { KeyUsageReads } from './key-usage';
import { KeyGrants } from './managed-key-grants';
import { QuorumService } from './quorum';
import { KeyQuorum } from './key-quorum';
import { KeyLimits } from './key-limits';
import type { HsmOptions, ModuleContext, ModuleCore, ModuleState, Status } from './module-context';

export type { HsmOptions, ModuleCore, ModuleState, Status } from './module-context';

export class Hsm implements ModuleContext {
  readonly node: string;
  readonly registry = new PrincipalRegistry();
  readonly records: Records;
  readonly coherence: Coherence;
  readonly integrity: Integrity;
  readonly audit: AuditLog;
  readonly gate: Gate;
  readonly ops: Operations;
  readonly objects: ObjectStore;
  readonly partitions: PartitionService;
  /** Partition management by the HSM officers (create, list, show, resize, delete). */
  readonly partitionAdmin: PartitionAdmin;
  readonly users: UserService;
  readonly lookup: KeyReads;
  readonly keys: KeyService;
  readonly crypto: CryptoService;
  readonly names: NameService;
  readonly managed: ManagedKeyService;
  readonly credentials: CredentialService;
  /** Per-key authorisation (key PINs, context-specific logins) and use limits. */
  readonly limits: KeyLimits;
  /** The Key Vault face's token-signing key (derived from the DMK). */
  readonly tokens: TokenKeys;
  /** One-key backups sealed to this domain and partition. */
  readonly keyBackups: KeyBackups;
  /** When a key was last used, from the audit trail. */
  readonly keyUsage: KeyUsageReads;
  readonly lifecycle: Lifecycle;
  readonly backups: Backups;
  /** Quorum values, personal signing keys and tokens (M of N approvals), and per-key use quorums. */
  readonly quorum: QuorumService;
  readonly keyQuorum: KeyQuorum;
  readonly core: ModuleCore = { initialized: false, selfTests: [] };

  constructor(readonly store: KeyStore, readonly opts: HsmOptions = {}) {
    this.node = opts.node ?? 'node-1';
    const keys = () => this.requireKeys();
    // The integrity accumulator is also needed while the module refuses to serve (to repair it).
    const rawKeys = () => { if (!this.core.keys) throw new HsmError('SEALED'); return this.core.keys; };
    this.records = new Records(store, keys);
    this.coherence = new Coherence(store);
    this.integrity = new Integrity(rawKeys, this.node);
    this.audit = new AuditLog({
      store, chain: this.node, node: this.node, signingKey: () => this.core.auditKey, integrity: this.integrity, durableUses: opts.durableUses,
      onCheckpoint: (cp) => this.lifecycle.anchorCheckpoint(cp), onTamper: (problem) => { this.core.problem ??= problem; },
    });
    this.objects = new ObjectStore(this.records, keys, this.coherence);
    this.partitions = new PartitionService(this.records, keys, this.coherence);
    const directory = { userState: (id: string) => this.users.userState(id), policy: (p: string) => this.partitions.policy(p) };
    this.gate = new Gate(this.registry, directory);
    this.ops = new Operations(this.gate, this.audit, this.coherence, this.integrity, opts.onOperation);
    this.partitions.attach(this.gate, this.ops);
    this.users = new UserService(this.records, keys, this.gate, this.ops, this.registry, this.coherence, opts.loginDelayMs, opts.officerLockoutMs);
    this.users.passwordRules = async (p) => { const pol = await this.partitions.policy(p); return { min: pol.passwordMin, classes: pol.passwordClasses }; };
    this.partitionAdmin = new PartitionAdmin(this.partitions, this.users, this.records, this.gate, this.ops, this.coherence);
    const quotas = new Quotas(this.objects, (p) => this.partitions.quotas(p));
    this.lookup = new KeyReads(this.objects, this.gate, this.ops);
    this.keys = new KeyService(this.objects, this.gate, this.ops, quotas, this.lookup);
    this.crypto = new CryptoService(this.objects, this.lookup, this.keys, this.gate, this.ops);
    this.names = new NameService(this.records, this.objects, this.gate, this.ops);
    this.managed = new ManagedKeyService(this.records, this.objects, this.keys, this.lookup, this.names, this.gate, this.ops, this.coherence);
    const lifecycleOf = (o: Parameters<ManagedKeyService['lifecycleOf']>[0]) => this.managed.lifecycleOf(o);
    this.managed.grants = new KeyGrants(this.managed, this.users, this.lookup);
    this.lookup.lifecycle = lifecycleOf;
    this.crypto.lifecycle = lifecycleOf;
    this.limits = new KeyLimits(this.records, keys, this.gate, this.ops, this.users, this.objects, opts.loginDelayMs);
    this.keys.limits = this.limits;
    this.crypto.limits = this.limits;
    this.lookup.limits = this.limits;
    this.credentials = new CredentialService(this.records, keys, this.gate, this.ops, this.users, this.registry, this.coherence);
    this.tokens = new TokenKeys(keys);
    this.keyBackups = new KeyBackups(this.records, this.objects, this.managed, this.names, this.gate, this.ops, quotas, keys);
    this.keyUsage = new KeyUsageReads(store, this.managed, this.ops);
    this.quorum = new QuorumService(this.records, this.gate, this.ops, this.users, this.objects, this.coherence);
    this.keyQuorum = new KeyQuorum(this.quorum, this.objects, this.lookup, this.gate, this.ops);
    this.crypto.keyQuorum = (o) => this.keyQuorum.stateOf(o);
    this.lifecycle = new Lifecycle(this);
    this.backups = new Backups(this);
  }

  /** Runs the power-up self-tests, reads whether the module was initialised, checks the domain. */
  start(): Promise<void> { return this.lifecycle.start(); }

  get state(): ModuleState {
    if (this.core.selfTests.some((t) => !t.passed)) return 'error';
    if (!this.core.initialized) return 'uninitialized';
    if (this.core.keys && this.core.problem) return 'error';
    return this.core.keys ? 'unsealed' : 'sealed';
  }

  async status(): Promise<Status> {
    const meta = async (k: string) => { const v = await this.store.getMeta(k); return v ? Number(v.toString()) : undefined; };
    const failed = this.core.selfTests.filter((t) => !t.passed).map((t) => t.name);
    const restore = this.backups.pendingThreshold();
    return {
      state: this.state, initialized: this.core.initialized, sealed: !this.core.keys,
      threshold: restore?.threshold ?? await meta('threshold'), shares: restore?.shares ?? await meta('shares'),
      unsealProgress: this.core.keys ? undefined : this.lifecycle.unsealProgress(),
      restorePending: restore !== undefined,
      selfTests: { passed: failed.length === 0 && this.core.selfTests.length > 0, failed, count: this.core.selfTests.length },
      node: this.node, domain: (await this.store.getMeta('domain_id'))?.toString(), keystore: this.store.kind, mechanisms: allMechanisms().length,
      problem: this.core.problem,
      audit: { records: (await this.store.audit.head(this.node).catch(() => ({ seq: -1 }))).seq, writeFailures: this.audit.failures, lastFailure: this.audit.lastFailure },
    };
  }

  requireKeys(): DomainKeys {
    if (this.core.selfTests.some((t) => !t.passed)) throw new HsmError('SELF_TEST_FAILED');
    if (this.core.keys) {
      if (this.core.problem) throw new HsmError('STORE_CORRUPT', `${this.core.problem}. The module refuses to serve: restore a backup, or have the custodians accept the store (docs/security.md)`);
      return this.core.keys;
    }
    throw new HsmError(this.core.initialized ? 'SEALED' : 'NOT_INITIALIZED');
  }

  /** Throws unless the module can serve key operations. */
  requireUnsealed(): void { this.requireKeys(); }

  /** Verifies a password and mints a principal for that user, in the given partition. */
  async login(username: string, password: string, face: Face = 'admin', opts: { partition?: string; source?: string } = {}): Promise<Principal> {
    this.requireKeys();
    return this.users.login({ face, partition: opts.partition ?? 'default', source: opts.source }, username, password);
  }

  /** Whether a logged-in principal was revoked since (its user deleted, locked or its password
   *  changed): a face that keeps login state (PKCS#11) forgets it then, so the user may log in again. */
  async isRevoked(principal: Principal, face: Face): Promise<boolean> {
    try { await this.gate.admit(callerOf(principal, face)); return false; } catch (err) {
      if (err instanceof HsmError && err.code === 'SESSION_REVOKED') return true;
      throw err;
    }
  }

  /** The caller of a logged-in principal through a face. */
  callerOf(principal: Principal, face: Face, extra: Partial<Pick<Caller, 'session' | 'source'>> = {}): Caller {
    return callerOf(principal, face, extra);
  }

  /** The module acting on its own schedule (scheduler.ts), in one partition. */
  systemCaller(partition = 'default'): Caller {
    return { principal: this.registry.system, face: 'internal', partition };
  }

  /** The audit checkpoint verification key (PEM), recorded at init. */
  async auditPublicKey(): Promise<string> {
    const pem = await this.store.getMeta('audit_public_key');
    if (!pem) throw new HsmError('NOT_INITIALIZED');
    return pem.toString();
  }

  /** An auditor's export of the audit chains as NDJSON lines (audit/export.ts), recorded as such. */
  auditExport(caller: Caller, range: ExportRange): Promise<AsyncGenerator<string, void, undefined>> {
    return this.ops.run(caller, 'audit.export', async (a, _c, rec) => {
      this.gate.authorize(a, 'audit.read');
      rec.detail = JSON.stringify(range).slice(0, 200);
      return openExport(this.store.audit, { ...range, publicKey: await this.auditPublicKey(), sign: (chain, head) => this.audit.signCheckpoint(chain, head) });
    });
  }

  /** PKCS#11 §5.6: closing a session destroys its session objects. */
  dropSession(tag: string): void { this.objects.dropSession(tag); }

  openKeys(keys: DomainKeys): Promise<void> { return this.lifecycle.open(keys); }
  rebuildIntegrity(): Promise<number> { return this.backups.rebuildIntegrity(); }
}
