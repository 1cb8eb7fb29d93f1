// Admin routes for users: list, create, delete, password, lock, unlock and role. The core authorises
// (officers manage their partition; everyone changes its own password); a change that revokes a
// user also ends its admin sessions here at once (the core refuses them anyway).
import type { Role } from '../../core/principal';
import { str } from './http-util';
import type { Route, RouteContext } from './router';

async function endSessionsOf(ctx: RouteContext, username: string): Promise<void> {
  const user = await ctx.hsm.users.find(ctx.principal!.partition, username);
  if (user) ctx.sessions.closeAll((p) => p.id === user.id);
}

export const USER_ROUTES: Route[] = [
  { method: 'GET', path: '/v1/users', auth: true, handler: async (ctx) => ({ body: { users: await ctx.hsm.users.list(ctx.caller()) } }) },
  {
    method: 'POST', path: '/v1/users', auth: true,
    async handler(ctx) {
      const role = (str(ctx.body, 'role') ?? '') as Role;
      return { status: 201, body: await ctx.hsm.users.create(ctx.caller(), str(ctx.body, 'username')!, role, str(ctx.body, 'password')!) };
    },
  },
  {
    method: 'DELETE', path: '/v1/users/:name', auth: true,
    async handler(ctx) {
      const user = await ctx.hsm.users.find(ctx.principal!.partition, ctx.params.name);
      await ctx.hsm.users.delete(ctx.caller(), ctx.params.name);
      if (user) ctx.sessions.closeAll((p) => p.id === user.id);
      return { body: { deleted: ctx.params.name } };
    },
  },
  {
    method: 'POST', path: '/v1/users/:name/password', auth: true,
    async handler(ctx) {
      await ctx.hsm.users.setPassword(ctx.caller(), ctx.params.name, str(ctx.body, 'password')!, str(ctx.body, 'oldPassword', false));
      if (ctx.params.name !== ctx.principal!.username) await endSessionsOf(ctx, ctx.params.name);
      return { body: { changed: ctx.params.name } };
    },
  },
  {
    method: 'POST', path: '/v1/users/:name/unlock', auth: true,
    async handler(ctx) {
      await ctx.hsm.users.unlock(ctx.caller(), ctx.params.name);
      return { body: { unlocked: ctx.params.name } };
    },
  },
  {
    method: 'POST', path: '/v1/users/:name/lock', auth: true,
    async handler(ctx) {
      await ctx.hsm.users.lock(ctx.caller(), ctx.params.name);
      await endSessionsOf(ctx, ctx.params.name);
      return { body: { locked: ctx.params.name } };
    },
  },
  {
    // A new role ends the user's sessions (they carry the old one), as locking does.
    method: 'POST', path: '/v1/users/:name/role', auth: true,
    async handler(ctx) {
      await ctx.hsm.users.setRole(ctx.caller(), ctx.params.name, (str(ctx.body, 'role') ?? '') as Role);
      await endSessionsOf(ctx, ctx.params.name);
      return { body: { changed: ctx.params.name, role: ctx.body.role } };
    },
  },
];
