// Admin API login sessions: opaque random bearer tokens held in this node's memory, with an idle
// timeout, an absolute lifetime, and caps: each user holds at most MAX_PER_USER sessions (a new
// login ends that user's oldest), and the table at most MAX_SESSIONS (then logins are refused
// with TOO_MANY_SESSIONS, never anyone else's session ended). A session's principal is checked
// by the core's gate on every request, so a deleted, locked or re-passworded user's sessions stop
// working at once; this table then forgets them. (Tokens are per node: a client logs in again on failover.)
import * as c from '../../crypto/node-crypto';
import { HsmError } from '../../errors/hsm-error';
import type { Principal } from '../../core/principal';

export const SESSION_IDLE_MS = 15 * 60 * 1000;
export const SESSION_MAX_MS = 12 * 60 * 60 * 1000;
export const MAX_PER_USER = 16;
export const MAX_SESSIONS = 10_000;

interface Session { principal: Principal; created: number; lastUsed: number }

export class AdminSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly byUser = new Map<string, string[]>();

  constructor(private readonly now: () => number = Date.now) {}

  open(principal: Principal): { token: string; expiresInSeconds: number } {
    this.sweep();
    // close() replaces the user's list, so it is read afresh each time round.
    for (let mine = this.byUser.get(principal.id) ?? []; mine.length >= MAX_PER_USER; mine = this.byUser.get(principal.id) ?? []) this.close(mine[0]);
    if (this.sessions.size >= MAX_SESSIONS) throw new HsmError('TOO_MANY_SESSIONS', 'the module holds too many admin sessions; try again later');
    const token = c.randomBytes(32).toString('base64url');
    this.sessions.set(token, { principal, created: this.now(), lastUsed: this.now() });
    this.byUser.set(principal.id, [...(this.byUser.get(principal.id) ?? []), token]);
    return { token, expiresInSeconds: SESSION_IDLE_MS / 1000 };
  }

  principal(token: string): Principal {
    const s = typeof token === 'string' ? this.sessions.get(token) : undefined;
    if (!s) throw new HsmError('AUTH_REQUIRED');
    const now = this.now();
    if (now - s.lastUsed > SESSION_IDLE_MS || now - s.created > SESSION_MAX_MS) { this.close(token); throw new HsmError('SESSION_EXPIRED'); }
    s.lastUsed = now;
    return s.principal;
  }

  close(token: string): void {
    const s = this.sessions.get(token);
    if (!s) return;
    this.sessions.delete(token);
    const left = (this.byUser.get(s.principal.id) ?? []).filter((t) => t !== token);
    if (left.length) this.byUser.set(s.principal.id, left); else this.byUser.delete(s.principal.id);
  }

  /** Sessions not yet idle past the timeout (for metrics). */
  active(): number {
    const now = this.now();
    let n = 0;
    for (const s of this.sessions.values()) if (now - s.lastUsed <= SESSION_IDLE_MS) n++;
    return n;
  }

  /** Sealing ends every session; a user's revocation ends that user's. */
  closeAll(filter: (p: Principal) => boolean = () => true): void {
    for (const [t, s] of [...this.sessions]) if (filter(s.principal)) this.close(t);
  }

  private sweep(): void {
    const now = this.now();
    for (const [t, s] of [...this.sessions]) if (now - s.lastUsed > SESSION_IDLE_MS || now - s.created > SESSION_MAX_MS) this.close(t);
  }
}
