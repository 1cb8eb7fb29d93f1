// Backups, restores and zeroisation of the whole domain. A restore onto a module of the same
// domain needs an HSM officer; onto an empty module it needs the backup's own custodians first:
// the header (small, read before anything else) says which shares it takes, the shares are
// checked one by one, and only then is the body accepted (never buffered before: the face spools
// it to disk within a bound). Zeroisation destroys every key and the anchor; the audit chains stay.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import { DomainKeys } from '../keystore/seal';
import { RECORD_TABLES, type TableName } from '../keystore/schema';
import type { RawRow, RecordRow } from '../keystore/types';
import { BackupHeader, createBackup, NOT_BACKED_UP, openBackup, readHeader } from './backup';
import type { ModuleContext } from './module-context';
import type { Caller } from './principal';
import { ShareCollector } from './shares';

/** An offered backup waiting for its custodians' shares expires after this long. */
const RESTORE_TTL_MS = 10 * 60 * 1000;

interface PendingRestore { header: BackupHeader; collector: ShareCollector; keys?: DomainKeys; token?: string; expires: number }

export class Backups {
  private pending?: PendingRestore;
  private busy = false;

  constructor(private readonly hsm: ModuleContext) {}

  pendingThreshold(): { threshold: number; shares: number } | undefined {
    const p = this.live();
    return p && { threshold: p.header.threshold, shares: p.header.shares };
  }

  private live(): PendingRestore | undefined {
    if (this.pending && this.pending.expires < Date.now()) { this.pending.collector.clear(); this.pending = undefined; }
    return this.pending;
  }

  /** An encrypted backup of the whole domain (HSM officer, or the scheduler). */
  backup(caller: Caller): Promise<Buffer> {
    return this.hsm.ops.run(caller, 'backup.create', async (a) => {
      this.hsm.gate.authorize(a, 'module.backup');
      const keys = this.hsm.requireKeys();
      return this.exclusive(async () => {
        const tables = await this.hsm.store.bulk.dump(NOT_BACKED_UP);
        const meta = async (n: string) => (await this.hsm.store.getMeta(n))?.toString() ?? '';
        return createBackup(keys, tables, {
          created: new Date().toISOString(), node: this.hsm.node, domain: await meta('domain_id'), dmkCheck: keys.checkValue().toString('hex'),
          threshold: Number(await meta('threshold')), shares: Number(await meta('shares')), shareDigests: JSON.parse((await meta('share_digests')) || '[]'),
          auditHead: await this.hsm.store.audit.head(this.hsm.node),
        });
      });
    });
  }

  /** Restores over a module of the same domain at once (HSM officer). */
  restore(caller: Caller, blob: Buffer): Promise<{ restored: boolean; threshold: number; counts: Record<string, number> }> {
    return this.hsm.ops.run(caller, 'backup.restore', async (a, _change, rec) => {
      this.hsm.gate.authorize(a, 'module.restore');
      const keys = this.hsm.requireKeys();
      const { header, tables } = openBackup(keys, blob);
      rec.detail = `backup of ${header.created} from ${header.node}`;
      await this.exclusive(() => this.replace(keys, tables));
      return { restored: true, threshold: header.threshold, counts: header.counts };
    });
  }

  /** Step 1 on an empty module: the backup's header (not its body) says which custodians it needs. */
  async offer(headerBytes: Buffer): Promise<{ threshold: number; shares: number; created: string; counts: Record<string, number> }> {
    if (this.hsm.core.initialized) throw new HsmError('ALREADY_INITIALIZED', 'the module holds a domain: restore as an officer instead');
    if (this.hsm.state === 'error') throw new HsmError('SELF_TEST_FAILED');
    const { header } = readHeader(headerBytes, true);
    this.pending?.collector.clear();
    this.pending = { header, collector: new ShareCollector('restore', header.threshold, header.domain, header.shareDigests), expires: Date.now() + RESTORE_TTL_MS };
    await this.record('backup.restore-offer', 'success', undefined, `backup of ${header.created} from ${header.node}, ${header.threshold} shares needed`);
    return { threshold: header.threshold, shares: header.shares, created: header.created, counts: header.counts };
  }

  /** Step 2: one custodian's share; at the threshold, the master key is rebuilt and a one-time token issued. */
  async share(text: string): Promise<{ complete: boolean; progress: number; threshold: number; token?: string }> {
    const p = this.live();
    try {
      if (!p) throw new HsmError('BAD_REQUEST', 'no backup was offered: send its header first');
      if (p.keys) throw new HsmError('BAD_REQUEST', 'the shares are complete: upload the backup');
      const step = p.collector.add(text);
      if (!step.complete) {
        await this.record('backup.restore-share', 'success', undefined, `share ${step.progress} of ${step.threshold}`);
        return step;
      }
      const dmk = await p.collector.combine();
      try {
        const keys = new DomainKeys(dmk);
        if (keys.checkValue().toString('hex') !== p.header.dmkCheck) { this.pending = undefined; throw new HsmError('SHARES_WRONG'); }
        p.keys = keys;
      } finally { dmk.fill(0); }
      p.token = c.randomBytes(24).toString('base64url');
      await this.record('backup.restore-share', 'success', undefined, 'shares complete');
      return { ...step, token: p.token };
    } catch (err) {
      await this.record('backup.restore-share', 'failure', err instanceof HsmError ? err.code : 'INTERNAL');
      throw err;
    }
  }

  /** True if `token` is the live restore token (checked before the body is read). */
  tokenValid(token: unknown): boolean {
    const p = this.live();
    return typeof token === 'string' && !!p?.token && !!p.keys && c.timingSafeEqual(Buffer.from(token), Buffer.from(p.token));
  }

  /** Step 3: the body, with the token of step 2. The module is then initialised and unsealed. */
  async restoreWithToken(token: string, blob: Buffer): Promise<{ restored: boolean; threshold: number; counts: Record<string, number> }> {
    try {
      const p = this.live();
      if (!p?.keys || !p.token || typeof token !== 'string' || !c.timingSafeEqual(Buffer.from(token), Buffer.from(p.token))) throw new HsmError('AUTH_REQUIRED', 'give the custodians\' shares first');
      const { header, tables } = openBackup(p.keys, blob);
      if (header.dmkCheck !== p.header.dmkCheck) throw new HsmError('BACKUP_FOREIGN');
      const keys = p.keys;
      this.pending = undefined;
      await this.exclusive(async () => {
        this.hsm.core.keys = keys;
        try { await this.replace(keys, tables); } catch (err) { this.hsm.core.keys = undefined; throw err; }
        this.hsm.core.keys = undefined;
      });
      this.hsm.core.initialized = true;
      await this.hsm.openKeys(keys);
      await this.record('backup.restore', 'success', undefined, `backup of ${header.created} from ${header.node}`);
      return { restored: true, threshold: header.threshold, counts: header.counts };
    } catch (err) {
      await this.record('backup.restore', 'failure', err instanceof HsmError ? err.code : 'INTERNAL');
      throw err;
    }
  }

  /** Replaces the domain's rows; the integrity accumulator starts over from exactly what was restored. */
  private async replace(keys: DomainKeys, tables: Record<string, RawRow[]>): Promise<void> {
    delete tables.integrity;
    const rows: { table: TableName; row: RecordRow }[] = [];
    for (const def of RECORD_TABLES) for (const r of tables[def.name] ?? []) rows.push({ table: def.name as TableName, row: rawToRecord(def.columns, r) });
    this.hsm.core.keys = keys;
    const fresh = this.hsm.integrity.rebuildWrites(rows);
    tables.integrity = [recordToRaw(fresh.row)];
    await this.hsm.audit.whileQuiet(() => this.hsm.store.bulk.replace(tables));
    this.hsm.integrity.adopt(fresh);
    this.hsm.objects.clear();
    this.hsm.partitions.clear();
    this.hsm.records.forget();
    this.hsm.coherence.flushAll();
    await this.hsm.partitions.loadAll();
  }

  /** After custodians accepted a store as it is: one accumulator over what is there now. */
  async rebuildIntegrity(): Promise<number> {
    if (!this.hsm.core.keys) throw new HsmError('SEALED');
    const all = await this.hsm.store.bulk.dump(NOT_BACKED_UP);
    const rows: { table: TableName; row: RecordRow }[] = [];
    for (const def of RECORD_TABLES) for (const r of all[def.name] ?? []) rows.push({ table: def.name as TableName, row: rawToRecord(def.columns, r) });
    const fresh = this.hsm.integrity.rebuildWrites(rows);
    await this.hsm.audit.whileQuiet(() => this.hsm.store.bulk.replace({ integrity: [recordToRaw(fresh.row)] }));
    this.hsm.integrity.adopt(fresh);
    return rows.length;
  }

  /** Destroys the master key material, every sealed object and the anchor, leaving an uninitialised
   *  module; the audit chains are kept and their last record says so. `caller` undefined for a tamper signal. */
  async zeroize(caller?: Caller): Promise<void> {
    const wipe = async () => {
      await this.hsm.audit.checkpoint().catch(() => undefined);
      this.hsm.core.keys = undefined;
      this.hsm.core.auditKey = undefined;
      this.hsm.core.problem = undefined;
      this.hsm.objects.clear();
      this.hsm.partitions.clear();
      this.pending = undefined;
      await this.hsm.audit.whileQuiet(() => this.hsm.store.bulk.wipe(['audit', 'audit_checkpoints']));
      await this.hsm.opts.anchor?.clear();
      this.hsm.core.initialized = false;
      this.hsm.opts.onZeroize?.();
    };
    if (caller) {
      await this.hsm.ops.run(caller, 'module.zeroize', async (a) => { this.hsm.gate.authorize(a, 'module.zeroize'); });
    } else {
      await this.record('module.zeroize', 'success', undefined, 'tamper response');
    }
    await wipe();
    await this.hsm.opts.onLifecycle?.('zeroized');
  }

  private async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    if (this.busy) throw new HsmError('BUSY', 'another backup or restore is running');
    this.busy = true;
    try { return await fn(); } finally { this.busy = false; }
  }

  private record(op: string, outcome: 'success' | 'failure', code?: string, detail?: string): Promise<void> {
    return this.hsm.audit.commit({ actor: '-', role: '-', face: 'internal', op, outcome, code, detail }).catch(() => undefined);
  }
}

function rawToRecord(columns: Readonly<Record<string, string>>, r: RawRow): RecordRow {
  const cols: Record<string, string | number> = {};
  for (const c2 of Object.keys(columns)) cols[c2] = typeof r[c2] === 'bigint' ? Number(r[c2]) : r[c2] as string | number;
  return { id: String(r.id), partition: String(r.partition), version: Number(r.version), created: Number(r.created), cols, data: String(r.data),
    sealed: (r.sealed as Buffer | null) ?? null, mac: r.mac as Buffer };
}

function recordToRaw(row: RecordRow): RawRow {
  return { id: row.id, partition: row.partition, version: row.version, created: row.created, ...row.cols, data: row.data, sealed: row.sealed, mac: row.mac };
}
