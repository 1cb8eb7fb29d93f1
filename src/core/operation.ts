// How every core entry point runs: catch up with other writers (coherence), admit the caller
// at the gate, do the work into a Change, then commit the change together with its audit record,
// named field by named field (never guessed from argument positions). A refusal is recorded
// too, with its error code, and nothing of it reaches the store. Reads and cheap calls that use
// no key (digest, random) record only their refusals.
import { HsmError, toHsmError } from '../errors/hsm-error';
import type { AuditEvent, AuditLog } from './audit/audit-log';
import { Change } from './change';
import type { Coherence } from './coherence';
import type { Integrity } from './integrity';
import type { Admitted, Gate } from './policy/gate';
import type { Caller } from './principal';

/** What the audit record names, filled in by the operation as it learns it. */
export interface OpRecord {
  object?: string;
  detail?: string;
  /** Who acted, when there is no principal yet (a login names the user it tried). */
  actor?: string;
}

/** Told of every recorded operation once its outcome is final (metrics); never changes it. */
export type OperationObserver = (event: AuditEvent, seconds: number) => void;

export interface RunOptions {
  /** Record successes too (default). False for reads and for cheap calls that use no key. */
  recordSuccess?: boolean;
  /** The operation authenticates its caller itself (login, unseal): the gate admits no principal. */
  unauthenticated?: boolean;
}

export class Operations {
  constructor(private readonly gate: Gate, private readonly audit: AuditLog, private readonly coherence: Coherence,
    private readonly integrity: Integrity, private readonly observer?: OperationObserver) {}

  /** Commits a change that is part of an operation whose own record follows (a login's attempt
   *  counter): atomic and accumulated like every change, without a record of its own. */
  applyUnrecorded(change: Change): Promise<void> {
    return this.audit.commit(undefined, change, this.integrity.delta(change));
  }

  async run<T>(caller: Caller, op: string, fn: (a: Admitted, change: Change, rec: OpRecord) => Promise<T>, opts: RunOptions = {}): Promise<T> {
    const started = process.hrtime.bigint();
    const rec: OpRecord = {};
    const change = new Change();
    const event = (outcome: 'success' | 'failure', code?: string): AuditEvent => ({
      actor: rec.actor ?? caller.principal?.username ?? '-', role: caller.principal?.role ?? '-', face: caller.face,
      partition: caller.partition || undefined, op, object: rec.object, outcome, code,
      detail: caller.context ? `${rec.detail ? `${rec.detail} ` : ''}[${caller.context}]` : rec.detail,
    });
    const observe = (e: AuditEvent) => {
      try { this.observer?.(e, Number(process.hrtime.bigint() - started) / 1e9); } catch { /* ignored */ }
    };
    let result: T;
    try {
      // Nothing to catch up with (the common case) costs no await.
      const catchingUp = this.coherence.sync();
      if (catchingUp) await catchingUp;
      const admitted = opts.unauthenticated ? this.gate.unauthenticated(caller) : await this.gate.admit(caller);
      result = await fn(admitted, change, rec);
    } catch (err) {
      // The store is unreachable: said so (retryable), and no failure record is tried (it cannot be written).
      if (!(err instanceof HsmError) && toHsmError(err).code === 'STORE_UNAVAILABLE') err = toHsmError(err);
      const code = err instanceof HsmError ? err.code : 'INTERNAL';
      const failure = event('failure', code);
      if (code !== 'AUDIT_FAILED' && code !== 'BUSY' && code !== 'STORE_UNAVAILABLE') {
        try { await this.audit.commit(failure); } catch (auditErr) { observe({ ...failure, code: 'AUDIT_FAILED' }); throw auditErr; }
      }
      observe(failure);
      throw err;
    }
    const success = event('success');
    if (change.empty && opts.recordSuccess === false) { change.applied(); observe(success); return result; }
    try {
      await this.audit.commit(success, change, change.empty ? undefined : this.integrity.delta(change));
    } catch (err) {
      observe({ ...success, outcome: 'failure', code: err instanceof HsmError ? err.code : 'AUDIT_FAILED' });
      throw err;
    }
    observe(success);
    return result;
  }
}
