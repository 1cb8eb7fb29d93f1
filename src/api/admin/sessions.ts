// Admin API login sessions: opaque random bearer tokens held in this node's memory, with an
// idle timeout. (Tokens are per node by design: a client re-logs in on failover.)
import * as c from '../../crypto/node-crypto';
import { HsmError } from '../../errors/hsm-error';
import type { Principal } from '../../core/principal';

export const SESSION_IDLE_MS = 15 * 60 * 1000;
const MAX_SESSIONS = 10_000;

export class AdminSessions {
  private readonly sessions = new Map<string, { principal: Principal; lastUsed: number }>();

  open(principal: Principal): { token: string; expiresInSeconds: number } {
    if (this.sessions.size >= MAX_SESSIONS) this.sweep();
    const token = c.randomBytes(32).toString('base64url');
    this.sessions.set(token, { principal, lastUsed: Date.now() });
    return { token, expiresInSeconds: SESSION_IDLE_MS / 1000 };
  }

  principal(token: string): Principal {
    const s = this.sessions.get(token);
    if (!s) throw new HsmError('AUTH_REQUIRED');
    if (Date.now() - s.lastUsed > SESSION_IDLE_MS) { this.sessions.delete(token); throw new HsmError('SESSION_EXPIRED'); }
    s.lastUsed = Date.now();
    return s.principal;
  }

  close(token: string): void { this.sessions.delete(token); }

  /** Sessions not yet idle past the timeout (for metrics). */
  active(): number {
    const now = Date.now();
    let n = 0;
    for (const s of this.sessions.values()) if (now - s.lastUsed <= SESSION_IDLE_MS) n++;
    return n;
  }

  /** Sealing or deleting a user ends its sessions. */
  closeAll(filter: (p: Principal) => boolean = () => true): void {
    for (const [t, s] of this.sessions) if (filter(s.principal)) this.sessions.delete(t);
  }

  private sweep(): void {
    const now = Date.now();
    for (const [t, s] of this.sessions) if (now - s.lastUsed > SESSION_IDLE_MS) this.sessions.delete(t);
    if (this.sessions.size >= MAX_SESSIONS) throw new HsmError('INTERNAL', 'too many sessions');
  }
}
