// What the module's lifecycle (lifecycle.ts) and backups (backups.ts) share with the module that
// composes them (hsm.ts): its options, state and services. An interface of its own, so that the
// parts depend on it and not on each other or on the composition.
import type * as c from '../crypto/node-crypto';
import type { DomainKeys } from '../keystore/seal';
import type { KeyStore } from '../keystore/types';
import type { AnchorSink } from './anchor';
import type { AuditLog } from './audit/audit-log';
import type { Coherence } from './coherence';
import type { Integrity } from './integrity';
import type { ObjectStore } from './object-store';
import type { OperationObserver, Operations } from './operation';
import type { PartitionService } from './partitions';
import type { Gate } from './policy/gate';
import type { Caller } from './principal';
import type { Records } from './records';
import type { SelfTestResult } from './self-test/self-tests';
import type { UserService } from './users';

export type ModuleState = 'uninitialized' | 'sealed' | 'unsealed' | 'error';

export interface HsmOptions {
  /** This node's name: names its audit chain and integrity accumulator (docs/architecture.md). */
  node?: string;
  /** Test-only: names a self-test whose answer is flipped, to prove the error state. */
  selfTestFault?: string;
  /** Told of every recorded core operation and its duration (metrics); never changes its outcome. */
  onOperation?: OperationObserver;
  /** Called after zeroisation, to destroy key material kept outside the store (the dev key file). */
  onZeroize?: () => void;
  /** Where the anchor is kept outside the store (runtime/anchor-file.ts); none in unit tests. */
  anchor?: AnchorSink;
  /** The domain this module must find in its store (configuration: `--domain`, INKAN_DOMAIN). */
  expectDomain?: string;
  /** Allows initialising a data directory that belonged to another domain (`--new-domain`, a local action). */
  newDomain?: boolean;
  /** fsync audit batches that only record key uses too (power-loss durable uses; slower). */
  durableUses?: boolean;
  /** The growing delay after failed logins starts here (ms; 0 turns it off, for tests of other things). */
  loginDelayMs?: number;
  /** How long failed logins lock an officer the first time (ms; doubles per lockout in a row). */
  officerLockoutMs?: number;
  /** Told when this module is unsealed, sealed or zeroised, and awaited before the caller is answered
   *  (`inkan serve --workers`: the lead worker passes the change on to its siblings, runtime/workers.ts). */
  onLifecycle?: (event: LifecycleEvent) => Promise<void> | void;
}

export type LifecycleEvent = 'unsealed' | 'sealed' | 'zeroized';

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
  domain?: string;
  keystore: string;
  mechanisms: number;
  /** Why the module refuses to serve although unsealed (tampering detected), with what to do. */
  problem?: string;
  audit: { records: number; writeFailures: number; lastFailure?: { time: string; error: string } };
}

/** What lifecycle.ts and backups.ts share with the module. */
export interface ModuleCore {
  keys?: DomainKeys;
  auditKey?: c.KeyObject;
  initialized: boolean;
  selfTests: SelfTestResult[];
  /** Tampering found at unseal or while running: the module refuses key operations until resolved. */
  problem?: string;
}

export interface ModuleContext {
  readonly node: string;
  readonly store: KeyStore;
  readonly opts: HsmOptions;
  readonly core: ModuleCore;
  readonly state: ModuleState;
  readonly audit: AuditLog;
  readonly integrity: Integrity;
  readonly records: Records;
  readonly coherence: Coherence;
  readonly gate: Gate;
  readonly ops: Operations;
  readonly objects: ObjectStore;
  readonly partitions: PartitionService;
  readonly users: UserService;
  requireKeys(): DomainKeys;
  systemCaller(partition?: string): Caller;
  /** With the domain's keys: load and check the store before serving (lifecycle.ts). */
  openKeys(keys: DomainKeys): Promise<void>;
  /** One integrity accumulator over what the store holds now (backups.ts). */
  rebuildIntegrity(): Promise<number>;
}
