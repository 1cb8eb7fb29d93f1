// Multi-part input (C_*Update, gathered until *Final) charged to a listener-wide ByteBudget.
// Each connection keeps a ledger of what its operations hold. operation.ts reserves as parts
// arrive and releases when they are consumed; whatever else ends an operation (an error, a new
// result, C_CloseSession, C_Logout, C_Finalize) is found by sweep(), which the connection runs
// after every call, and a closed connection releases its whole ledger.
import { HsmError } from '../../errors/hsm-error';
import type { ByteBudget } from '../byte-budget';
import type { ConnectionState, Operation, Session } from './state';

interface Charge { session: Session; op: Operation; bytes: number }

export class MultipartLedger {
  private readonly charges = new Map<Operation, Charge>();

  constructor(private readonly budget: ByteBudget) {}

  /** Charges n more bytes to op, or throws DEVICE_MEMORY (CKR_DEVICE_MEMORY) when the budget is spent. */
  reserve(session: Session, op: Operation, n: number): void {
    if (!this.budget.tryReserve(n)) throw new HsmError('DEVICE_MEMORY', 'multi-part input budget exhausted; try again later');
    const c = this.charges.get(op);
    if (c) c.bytes += n;
    else this.charges.set(op, { session, op, bytes: n });
  }

  release(op: Operation): void {
    const c = this.charges.get(op);
    if (!c) return;
    this.charges.delete(op);
    this.budget.release(c.bytes);
  }

  /** Releases every charge whose operation is no longer the active one of a session that still exists. */
  sweep(state: ConnectionState): void {
    for (const c of [...this.charges.values()]) {
      const live = state.sessions.get(c.session.handle) === c.session && c.session.ops.get(c.op.kind) === c.op;
      if (!live) this.release(c.op);
    }
  }

  releaseAll(): void {
    for (const op of [...this.charges.keys()]) this.release(op);
  }

  get held(): number {
    let n = 0;
    for (const c of this.charges.values()) n += c.bytes;
    return n;
  }
}

// Which ledger a session's (and then an operation's) input is charged to. Side tables because
// Session and Operation (state.ts) have no field for it yet; weak, so what is gone leaves nothing
// behind. The connection that owns a session registers it before any call can name its handle.
const bySession = new WeakMap<Session, MultipartLedger>();
const byOperation = new WeakMap<Operation, MultipartLedger>();

export function register(session: Session, ledger: MultipartLedger): void {
  if (!bySession.has(session)) bySession.set(session, ledger);
}

/** For operation.ts: charge n bytes of input to s's connection (no ledger: a session outside any listener, as in unit tests). */
export function reservePart(s: Session, op: Operation, n: number): void {
  const ledger = bySession.get(s);
  if (!ledger) return;
  ledger.reserve(s, op, n);
  byOperation.set(op, ledger);
}

/** For operation.ts: the operation's gathered input was consumed or dropped. */
export function releaseParts(op: Operation): void {
  byOperation.get(op)?.release(op);
}
