// Audit emission at the core's boundary: the methods named in an explicit table are wrapped
// so that every call, successful or refused, lands in the audit log before its result is
// returned. Only metadata is recorded: who, which face, which operation, which object,
// outcome and error code — never arguments such as data, key bytes or passwords.
import { HsmError } from '../../errors/hsm-error';
import { HsmObject } from '../hsm-object';
import type { Caller, Principal } from '../principal';
import type { AuditEvent, AuditLog } from './audit-log';

export interface AuditedOp<A extends unknown[] = unknown[]> {
  op: string;
  /** Overrides who acted (e.g. the username given to a login). */
  actor?: (args: A) => { actor: string; role: string } | undefined;
  /** Safe, short detail (a mechanism number, a user name), never secrets. */
  detail?: (args: A) => string | undefined;
}

const isCaller = (a: unknown): a is Caller => typeof a === 'object' && a !== null && 'principal' in a && 'face' in a;
const isPrincipal = (a: unknown): a is Principal => typeof a === 'object' && a !== null && 'role' in a && 'username' in a && 'id' in a;

function who(args: unknown[]): { actor: string; role: string; face: string } {
  const caller = args.find(isCaller);
  if (caller) return { actor: caller.principal.username, role: caller.principal.role, face: caller.face };
  const p = args.find(isPrincipal);
  return p ? { actor: p.username, role: p.role, face: 'admin' } : { actor: '-', role: '-', face: 'admin' };
}

function objectOf(args: unknown[], result: unknown): string | undefined {
  const arg = args.find((a): a is HsmObject => a instanceof HsmObject);
  if (arg) return arg.id;
  if (result instanceof HsmObject) return result.id;
  const pair = result as { privateKey?: unknown } | undefined;
  return pair?.privateKey instanceof HsmObject ? pair.privateKey.id : undefined;
}

/** Told of every audited call once its outcome is final (after its record is written, or
 *  with AUDIT_FAILED when the record could not be); `seconds` includes the audit write. */
export type OperationObserver = (event: AuditEvent, seconds: number) => void;

/** Replaces each listed async method of `target` by an audited one. */
export function audit<T extends object>(target: T, log: AuditLog, table: Partial<Record<keyof T & string, AuditedOp<any>>>,
  onOperation?: OperationObserver): T {
  for (const [name, spec] of Object.entries(table) as [string, AuditedOp][]) {
    const original = (target as Record<string, (...a: unknown[]) => Promise<unknown>>)[name].bind(target);
    (target as Record<string, unknown>)[name] = async (...args: unknown[]) => {
      const started = process.hrtime.bigint();
      const base = { ...who(args), ...(spec.actor?.(args) ?? {}) };
      const event = (outcome: 'success' | 'failure', result?: unknown, code?: string): AuditEvent => ({
        ...base, op: spec.op, object: objectOf(args, result), outcome, code, detail: spec.detail?.(args),
      });
      // An observer (metrics) never changes what the caller sees.
      const observe = (e: AuditEvent) => {
        try { onOperation?.(e, Number(process.hrtime.bigint() - started) / 1e9); } catch { /* ignored */ }
      };
      const finish = async (e: AuditEvent, write: boolean) => {
        try {
          if (write) await log.record(e);
        } catch (err) {
          observe({ ...e, outcome: 'failure', code: 'AUDIT_FAILED' });
          throw err;
        }
        observe(e);
      };
      let result: unknown;
      try {
        result = await original(...args);
      } catch (err) {
        const code = err instanceof HsmError ? err.code : 'INTERNAL';
        await finish(event('failure', undefined, code), code !== 'AUDIT_FAILED');
        throw err;
      }
      await finish(event('success', result), true);
      return result;
    };
  }
  return target;
}
