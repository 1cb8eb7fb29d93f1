// Admin routes for users: list, create, delete, password, lock, unlock and role. The core authorises
// (officers manage their partition; everyone changes its own password); a change that revokes a
// user also ends its admin sessions here at once (the core refuses them anyway).
import type { Role } from '../../core/principal';
import { HsmError } from '../../errors/hsm-error';
import { publicSigningKey } from '../../quorum-token/token';
import { str } from './http-util';
import { requireQuorum } from './routes-quorum';
import type { Route, RouteContext } from './router';

async function endSessionsOf(ctx: RouteContext, username: string): Promise<void> {
  const user = await ctx.hsm.users.find(ctx.principal!.partition, username);
  if (user) ctx.sessions.closeAll((p) => p.id === user.id);
}

/** Deleting or locking an officer may not leave fewer unlocked officers than a quorum value needs. */
async function keepEnoughOfficers(ctx: RouteContext): Promise<void> {
  // The listing first: it catches up with other nodes, so the value read next is current.
  const officers = (await ctx.hsm.users.list(ctx.caller())).filter((u) => u.role === 'officer' && !u.locked).length;
  const highest = await ctx.hsm.quorum.highest(ctx.principal!.partition);
  if (highest <= 1) return;
  if (officers - 1 < highest) throw new HsmError('QUORUM_VALUE_TOO_HIGH', `a quorum value of ${highest} needs ${highest} unlocked officers; lower it first (inkan quorum set)`);
}

export const USER_ROUTES: Route[] = [
  { method: 'GET', path: '/v1/users', auth: true, handler: async (ctx) => ({ body: { users: await ctx.hsm.users.list(ctx.caller()) } }) },
  {
    method: 'POST', path: '/v1/users', auth: true,
    async handler(ctx) {
      const role = (str(ctx.body, 'role') ?? '') as Role;
      const username = str(ctx.body, 'username')!;
      // A personal signing key may be registered at creation; the token then binds its fingerprint.
      const pem = str(ctx.body, 'publicKey', false);
      const key = pem === undefined || pem.length > 4096 || pem.includes('PRIVATE') ? undefined : publicSigningKey(pem);
      if (pem !== undefined && !key) throw new HsmError('SIGNING_KEY_INVALID');
      await requireQuorum(ctx, 'user.create', { username, role, ...(key ? { fingerprint: key.fingerprint } : {}) });
      const user = await ctx.hsm.users.create(ctx.caller(), username, role, str(ctx.body, 'password')!);
      // Covered by the user.create token, which bound the key's fingerprint.
      const signingKey = pem ? await ctx.hsm.quorum.registerKey(ctx.caller(), username, pem, undefined, true) : undefined;
      return { status: 201, body: { ...user, ...(signingKey ? { signingKey } : {}) } };
    },
  },
  {
    method: 'DELETE', path: '/v1/users/:name', auth: true,
    async handler(ctx) {
      const user = await ctx.hsm.users.find(ctx.principal!.partition, ctx.params.name);
      if (user?.role === 'officer') await keepEnoughOfficers(ctx);
      await requireQuorum(ctx, 'user.delete', { username: ctx.params.name });
      await ctx.hsm.users.delete(ctx.caller(), ctx.params.name);
      if (user) ctx.sessions.closeAll((p) => p.id === user.id);
      return { body: { deleted: ctx.params.name } };
    },
  },
  {
    method: 'POST', path: '/v1/users/:name/password', auth: true,
    async handler(ctx) {
      if (ctx.params.name !== ctx.principal!.username) await requireQuorum(ctx, 'user.passwd', { username: ctx.params.name });
      await ctx.hsm.users.setPassword(ctx.caller(), ctx.params.name, str(ctx.body, 'password')!, str(ctx.body, 'oldPassword', false));
      if (ctx.params.name !== ctx.principal!.username) await endSessionsOf(ctx, ctx.params.name);
      return { body: { changed: ctx.params.name } };
    },
  },
  {
    method: 'POST', path: '/v1/users/:name/unlock', auth: true,
    async handler(ctx) {
      await requireQuorum(ctx, 'user.unlock', { username: ctx.params.name });
      await ctx.hsm.users.unlock(ctx.caller(), ctx.params.name);
      return { body: { unlocked: ctx.params.name } };
    },
  },
  {
    method: 'POST', path: '/v1/users/:name/lock', auth: true,
    async handler(ctx) {
      const user = await ctx.hsm.users.find(ctx.principal!.partition, ctx.params.name);
      if (user?.role === 'officer') await keepEnoughOfficers(ctx);
      await requireQuorum(ctx, 'user.lock', { username: ctx.params.name });
      await ctx.hsm.users.lock(ctx.caller(), ctx.params.name);
      await endSessionsOf(ctx, ctx.params.name);
      return { body: { locked: ctx.params.name } };
    },
  },
  {
    // A new role ends the user's sessions (they carry the old one), as locking does.
    method: 'POST', path: '/v1/users/:name/role', auth: true,
    async handler(ctx) {
      const role = (str(ctx.body, 'role') ?? '') as Role;
      await requireQuorum(ctx, 'user.role', { username: ctx.params.name, role });
      await ctx.hsm.users.setRole(ctx.caller(), ctx.params.name, role);
      await endSessionsOf(ctx, ctx.params.name);
      return { body: { changed: ctx.params.name, role: ctx.body.role } };
    },
  },
];
