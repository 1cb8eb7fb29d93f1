// The module's lifecycle: power-up self-tests, init (a fresh domain master key split M of N, the
// default partition and the first officer, in one transaction), unseal (shares checked one by
// one, then the store checked against the anchor and the integrity accumulators before anything
// is served), seal, zeroise, and custodian recovery (threshold shares unlock a locked-out officer,
// or accept a store after tampering was investigated). Every step is audited.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import { DomainKeys } from '../keystore/seal';
import type { CheckpointRow } from '../keystore/types';
import { AnchorData, checkAnchor, checkDomain, sealAnchor } from './anchor';
import type { AuditEvent } from './audit/audit-log';
import { Change } from './change';
import type { ModuleContext } from './module-context';
import { delayAfter } from './login-throttle';
import { DEFAULT_PARTITION } from './partitions';
import type { Caller } from './principal';
import { runSelfTests } from './self-test/self-tests';
import { DMK_LEN, encodeShare, ShareCollector, shareDigest, splitKey } from './shares';
import { HSM_PARTITION } from './policy/gate';

export type CustodianAction = { kind: 'recover-officer'; partition?: string; username: string; password?: string } | { kind: 'accept-store' };

export class Lifecycle {
  private unsealing?: ShareCollector;
  private readonly custodians = new Map<string, ShareCollector>();
  private invalidShares = new Map<string, { n: number; last: number }>();

  constructor(private readonly hsm: ModuleContext) {}

  private get core() { return this.hsm.core; }

  private async record(event: Omit<AuditEvent, 'face' | 'actor' | 'role'> & Partial<AuditEvent>, change?: Change): Promise<void> {
    await this.hsm.audit.commit({ actor: '-', role: '-', face: 'internal', ...event }, change, change && this.hsm.integrity.delta(change));
  }

  private async meta(name: string): Promise<string | undefined> {
    return (await this.hsm.store.getMeta(name))?.toString();
  }

  private setKeys(keys: DomainKeys | undefined): void {
    this.core.keys = keys;
    this.core.auditKey = keys ? c.ed25519PrivateFromSeed(keys.derive('audit', 32)) : undefined;
  }

  async start(): Promise<void> {
    this.core.selfTests = await runSelfTests(this.hsm.opts.selfTestFault);
    this.core.initialized = (await this.hsm.store.getMeta('dmk_check')) !== undefined;
    if (!this.hsm.opts.newDomain) await checkDomain(this.hsm.store, this.hsm.opts.anchor?.read(), this.hsm.opts.expectDomain);
    this.hsm.audit.expect(await this.hsm.store.audit.head(this.hsm.node));
    const failed = this.core.selfTests.filter((t) => !t.passed).map((t) => t.name);
    // A log that cannot be written at start shows in status; the server still reports its state.
    await this.record({ op: 'module.self-test', outcome: failed.length ? 'failure' : 'success', code: failed.length ? 'SELF_TEST_FAILED' : undefined,
      detail: failed.join(',') || undefined }).catch(() => undefined);
  }

  unsealProgress(): number { return this.unsealing?.progress ?? 0; }

  /** Creates the DMK, splits it M-of-N, creates the default partition and the first (HSM) officer,
   *  writes the anchor, and leaves the module sealed. */
  async init(shares: number, threshold: number, officer: { username: string; password: string }): Promise<string[]> {
    try {
      const out = await this.initialise(shares, threshold, officer);
      return out;
    } catch (err) {
      await this.record({ op: 'module.init', outcome: 'failure', code: err instanceof HsmError ? err.code : 'INTERNAL' }).catch(() => undefined);
      throw err;
    }
  }

  private async initialise(shares: number, threshold: number, officer: { username: string; password: string }): Promise<string[]> {
    if (this.hsm.state === 'error') throw new HsmError('SELF_TEST_FAILED');
    if (this.core.initialized) throw new HsmError('ALREADY_INITIALIZED');
    if (this.hsm.opts.anchor?.read()?.domain && !this.hsm.opts.newDomain) {
      throw new HsmError('DOMAIN_MISSING', 'this data directory belonged to a domain: re-initialising it needs `inkan serve --new-domain` on this machine');
    }
    if (!Number.isInteger(shares) || !Number.isInteger(threshold) || threshold < 1 || shares < threshold || shares > 16) {
      throw new HsmError('BAD_REQUEST', 'need 1 ≤ threshold ≤ shares ≤ 16');
    }
    if (threshold === 1 && shares !== 1) throw new HsmError('BAD_REQUEST', 'a threshold of 1 is only allowed with a single share');
    const dmk = c.randomBytes(DMK_LEN);
    const domain = c.randomUuid();
    try {
      const parts = await splitKey(dmk, shares, threshold);
      const keys = new DomainKeys(dmk);
      this.setKeys(keys);
      try {
        await this.hsm.integrity.load(this.hsm.store);
        const change = new Change();
        this.hsm.partitions.createIn(change, DEFAULT_PARTITION, DEFAULT_PARTITION);
        // The default partition's key must be usable inside this change: install it now.
        await this.hsm.users.insertIn(change, DEFAULT_PARTITION, officer.username, 'officer', officer.password);
        const digests = parts.map((p) => shareDigest(domain, Buffer.from(p)));
        const meta = {
          dmk_check: keys.checkValue(), domain_id: Buffer.from(domain), shares: Buffer.from(String(shares)), threshold: Buffer.from(String(threshold)),
          share_digests: Buffer.from(JSON.stringify(digests)), initialized_at: Buffer.from(new Date().toISOString()),
          audit_public_key: Buffer.from(c.exportSpkiPem(c.publicOf(this.core.auditKey!))),
        };
        for (const [name, value] of Object.entries(meta)) change.put('meta', { name, value });
        await this.record({ op: 'module.init', outcome: 'success', partition: HSM_PARTITION, detail: `${threshold} of ${shares} shares, officer ${officer.username}` }, change);
        await this.hsm.opts.anchor?.write(sealAnchor(keys, { domain, node: this.hsm.node, time: new Date().toISOString(), chains: {}, integrity: this.hsm.integrity.current }));
      } finally {
        this.setKeys(undefined);
        this.hsm.partitions.clear();
      }
      this.core.initialized = true;
      return parts.map(encodeShare);
    } finally {
      dmk.fill(0);
    }
  }

  /** Takes one share; at the threshold, rebuilds and checks the DMK, then the store, before serving. */
  async unseal(shareText: string, source?: string): Promise<{ sealed: boolean; progress: number; threshold: number }> {
    try {
      return await this.takeShare(shareText, source);
    } catch (err) {
      const code = err instanceof HsmError ? err.code : 'INTERNAL';
      await this.record({ op: 'module.unseal', outcome: 'failure', code }).catch(() => undefined);
      throw err;
    }
  }

  private async takeShare(shareText: string, source?: string): Promise<{ sealed: boolean; progress: number; threshold: number }> {
    if (this.core.selfTests.some((t) => !t.passed)) throw new HsmError('SELF_TEST_FAILED');
    // Another node of a cluster may have initialised the shared store since this one started.
    if (!this.core.initialized) this.core.initialized = (await this.hsm.store.getMeta('dmk_check')) !== undefined;
    if (!this.core.initialized) throw new HsmError('NOT_INITIALIZED');
    if (this.core.keys) throw new HsmError('ALREADY_UNSEALED');
    this.throttleShares(source);
    this.unsealing ??= new ShareCollector('unseal', Number(await this.meta('threshold')), (await this.meta('domain_id')) ?? '',
      JSON.parse((await this.meta('share_digests')) ?? '[]') as string[]);
    let step: { complete: boolean; progress: number; threshold: number };
    try { step = this.unsealing.add(shareText); } catch (err) { this.shareRefused(source); throw err; }
    if (!step.complete) {
      await this.record({ op: 'module.unseal', outcome: 'success', detail: `share ${step.progress} of ${step.threshold}` });
      return { sealed: true, progress: step.progress, threshold: step.threshold };
    }
    const collector = this.unsealing;
    this.unsealing = undefined;
    const dmk = await collector.combine();
    try {
      const candidate = new DomainKeys(dmk);
      if (!c.timingSafeEqual(candidate.checkValue(), (await this.hsm.store.getMeta('dmk_check'))!)) throw new HsmError('SHARES_WRONG');
      await this.open(candidate);
    } finally { dmk.fill(0); }
    await this.record({ op: 'module.unseal', outcome: 'success', detail: this.core.problem ? `unsealed; refusing to serve: ${this.core.problem}` : 'unsealed' });
    await this.hsm.opts.onLifecycle?.('unsealed');
    return { sealed: false, progress: step.threshold, threshold: step.threshold };
  }

  /** The DMK of this unsealed module, for a sibling worker process (undefined while sealed). */
  dmkForSibling(): Buffer | undefined {
    return this.core.keys?.dmkForSibling();
  }

  /** Unseals with the DMK a sibling worker process of this server handed over (runtime/workers.ts):
   *  checked against the store's check value like combined shares, then the same checks of the store. */
  async unsealFromSibling(dmk: Uint8Array, sibling: string): Promise<void> {
    try {
      if (this.core.selfTests.some((t) => !t.passed)) throw new HsmError('SELF_TEST_FAILED');
      if (!this.core.initialized) this.core.initialized = (await this.hsm.store.getMeta('dmk_check')) !== undefined;
      if (!this.core.initialized) throw new HsmError('NOT_INITIALIZED');
      if (this.core.keys) return;
      const candidate = new DomainKeys(Buffer.from(dmk.buffer, dmk.byteOffset, dmk.byteLength));
      if (!c.timingSafeEqual(candidate.checkValue(), (await this.hsm.store.getMeta('dmk_check'))!)) throw new HsmError('SHARES_WRONG');
      this.unsealing = undefined;
      await this.open(candidate);
    } catch (err) {
      await this.record({ op: 'module.unseal', outcome: 'failure', code: err instanceof HsmError ? err.code : 'INTERNAL', detail: `from worker ${sibling}` }).catch(() => undefined);
      throw err;
    } finally { dmk.fill(0); }
    await this.record({ op: 'module.unseal', outcome: 'success', detail: this.core.problem ? `unsealed by worker ${sibling}; refusing to serve: ${this.core.problem}` : `unsealed by worker ${sibling}` });
  }

  /** With the keys: load partitions and the accumulator, check the anchor and the integrity of every row. */
  async open(keys: DomainKeys): Promise<void> {
    this.setKeys(keys);
    this.core.problem = undefined;
    this.hsm.records.forget();
    await this.hsm.partitions.loadAll();
    const state = await this.hsm.integrity.load(this.hsm.store);
    const anchor = this.hsm.opts.anchor?.read();
    const anchorProblem = anchor ? await checkAnchor(this.hsm.store, keys, anchor, this.hsm.node, state) : undefined;
    const scan = await this.hsm.audit.whileQuiet(() => this.hsm.integrity.verify(this.hsm.store));
    this.core.problem = anchorProblem ?? (scan.ok ? undefined : scan.problem);
    await this.hsm.coherence.start();
    if (!this.core.problem) await this.writeAnchor();
  }

  /** The periodic integrity scan while running: tampering found puts the module in the error state. */
  async scan(): Promise<void> {
    const report = await this.hsm.audit.whileQuiet(() => this.hsm.integrity.verify(this.hsm.store));
    if (!report.ok && !this.core.problem) {
      this.core.problem = report.problem;
      await this.record({ op: 'store.integrity-scan', outcome: 'failure', code: 'STORE_CORRUPT', detail: report.problem });
    }
  }

  /** A refused share slows the next attempt from the same source (nobody can wipe others' progress). */
  private throttleShares(source?: string): void {
    const s = source && this.invalidShares.get(source);
    if (s && Date.now() < s.last + delayAfter(s.n, this.hsm.opts.loginDelayMs)) throw new HsmError('LOGIN_THROTTLED', 'too many invalid shares from here: wait a moment');
  }
  private shareRefused(source?: string): void {
    if (!source) return;
    if (this.invalidShares.size > 10_000) this.invalidShares = new Map();
    const s = this.invalidShares.get(source);
    this.invalidShares.set(source, { n: (s?.n ?? 0) + 1, last: Date.now() });
  }

  /** Drops every key from memory. `caller` undefined only for the server's own shutdown. */
  async seal(caller?: Caller): Promise<void> {
    const drop = async () => {
      await this.hsm.audit.checkpoint().catch(() => undefined);
      this.setKeys(undefined);
      this.hsm.objects.clear();
      this.hsm.partitions.clear();
      this.hsm.coherence.flushAll();
    };
    if (!caller) {
      this.hsm.requireKeys();
      await this.record({ op: 'module.seal', outcome: 'success', detail: 'server shutdown' }).catch(() => undefined);
      await drop();
      return;
    }
    await this.hsm.ops.run(caller, 'module.seal', async (a) => { this.hsm.gate.authorize(a, 'module.seal'); });
    await drop();
    await this.hsm.opts.onLifecycle?.('sealed');
  }

  /** Sealed because a sibling worker process was (an officer's seal, a zeroisation, runtime/workers.ts). */
  async sealFromSibling(sibling: string, why: 'sealed' | 'zeroized'): Promise<void> {
    if (!this.core.keys) return;
    await this.record({ op: 'module.seal', outcome: 'success', detail: `worker ${sibling} was ${why}` }).catch(() => undefined);
    await this.hsm.audit.checkpoint().catch(() => undefined);
    this.setKeys(undefined);
    this.hsm.objects.clear();
    this.hsm.partitions.clear();
    this.hsm.coherence.flushAll();
    if (why === 'zeroized') {
      this.core.initialized = false;
      await this.hsm.opts.anchor?.clear();
    }
  }

  /** Signs and anchors the chain's head (called by the audit log after each checkpoint). */
  async anchorCheckpoint(cp: CheckpointRow): Promise<void> {
    if (!this.core.problem) await this.writeAnchor(cp);
  }

  private async writeAnchor(cp?: CheckpointRow): Promise<void> {
    const sink = this.hsm.opts.anchor;
    const keys = this.core.keys;
    if (!sink || !keys) return;
    const previous = sink.read();
    const last = cp ?? previous?.chains[this.hsm.node] ?? await this.hsm.store.audit.lastCheckpoint(this.hsm.node);
    const data: Omit<AnchorData, 'mac' | 'scheme'> = {
      domain: (await this.meta('domain_id')) ?? '', node: this.hsm.node, time: new Date().toISOString(),
      chains: last ? { [this.hsm.node]: last } : {}, integrity: this.hsm.integrity.current,
    };
    await sink.write(sealAnchor(keys, data));
  }

  /** Custodians give threshold shares to authorise one action, without a login: unlocking (or
   *  resetting) a locked-out officer, or accepting the store after tampering was investigated. */
  async custodian(action: CustodianAction, shareText: string, source?: string): Promise<{ done: boolean; progress: number; threshold: number }> {
    const op = `custodian.${action.kind}`;
    const key = JSON.stringify(action.kind === 'recover-officer' ? [action.kind, action.partition ?? DEFAULT_PARTITION, action.username] : [action.kind]);
    try {
      if (!this.core.keys) throw new HsmError(this.core.initialized ? 'SEALED' : 'NOT_INITIALIZED');
      this.throttleShares(source);
      let collector = this.custodians.get(key);
      if (!collector) {
        if (this.custodians.size >= 16) this.custodians.clear();
        collector = new ShareCollector(op, Number(await this.meta('threshold')), (await this.meta('domain_id')) ?? '', JSON.parse((await this.meta('share_digests')) ?? '[]'));
        this.custodians.set(key, collector);
      }
      let step;
      try { step = collector.add(shareText); } catch (err) { this.shareRefused(source); throw err; }
      if (!step.complete) {
        await this.record({ op, outcome: 'success', detail: `share ${step.progress} of ${step.threshold}` });
        return { done: false, progress: step.progress, threshold: step.threshold };
      }
      this.custodians.delete(key);
      const dmk = await collector.combine();
      try {
        if (!c.timingSafeEqual(new DomainKeys(dmk).checkValue(), this.core.keys.checkValue())) throw new HsmError('SHARES_WRONG');
      } finally { dmk.fill(0); }
      await this.perform(action, op);
      return { done: true, progress: step.threshold, threshold: step.threshold };
    } catch (err) {
      await this.record({ op, outcome: 'failure', code: err instanceof HsmError ? err.code : 'INTERNAL' }).catch(() => undefined);
      throw err;
    }
  }

  private async perform(action: CustodianAction, op: string): Promise<void> {
    if (action.kind === 'accept-store') {
      const rebuilt = await this.hsm.rebuildIntegrity();
      await this.record({ op, outcome: 'success', detail: `store accepted as it is (${rebuilt} rows); was: ${(this.core.problem ?? 'no problem').slice(0, 120)}` });
      this.core.problem = undefined;
      this.hsm.audit.expect(await this.hsm.store.audit.head(this.hsm.node));
      await this.writeAnchor();
      return;
    }
    const change = new Change();
    const partition = action.partition ?? DEFAULT_PARTITION;
    const user = await this.hsm.users.recoverIn(change, partition, action.username, action.password);
    await this.record({ op, outcome: 'success', partition, object: user.id, detail: `officer ${user.username} unlocked${action.password ? ', password reset' : ''}` }, change);
  }
}
