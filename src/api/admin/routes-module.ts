// Admin routes for the module itself and its users: status, init, unseal, seal, login, users.
import type { Role } from '../../core/principal';
import { int, str } from './http-util';
import type { Route } from './router';

export const MODULE_ROUTES: Route[] = [
  { method: 'GET', path: '/v1/status', auth: false, handler: async ({ hsm }) => ({ body: await hsm.status() }) },
  {
    method: 'POST', path: '/v1/init', auth: false,
    async handler({ hsm, body }) {
      const shares = int(body, 'shares') ?? 5;
      const threshold = int(body, 'threshold') ?? 3;
      const username = str(body, 'officerUsername')!;
      const password = str(body, 'officerPassword')!;
      const list = await hsm.init(shares, threshold, { username, password });
      return { status: 201, body: { shares: list, threshold, officer: username } };
    },
  },
  {
    method: 'POST', path: '/v1/unseal', auth: false,
    handler: async ({ hsm, body }) => ({ body: await hsm.unseal(str(body, 'share')!) }),
  },
  {
    method: 'POST', path: '/v1/seal', auth: true,
    async handler({ hsm, principal, sessions }) {
      await hsm.seal(principal);
      sessions.closeAll();
      return { body: { sealed: true } };
    },
  },
  {
    method: 'POST', path: '/v1/login', auth: false,
    async handler({ hsm, body, sessions }) {
      const principal = await hsm.login(str(body, 'username')!, str(body, 'password')!);
      return { body: { ...sessions.open(principal), username: principal.username, role: principal.role } };
    },
  },
  {
    method: 'POST', path: '/v1/logout', auth: true,
    async handler({ sessions, token }) { sessions.close(token!); return { body: { loggedOut: true } }; },
  },
  { method: 'GET', path: '/v1/users', auth: true, handler: async ({ hsm, principal }) => ({ body: { users: await hsm.users.list(principal!) } }) },
  {
    method: 'POST', path: '/v1/users', auth: true,
    async handler({ hsm, principal, body }) {
      const role = (str(body, 'role') ?? '') as Role;
      return { status: 201, body: await hsm.users.create(principal!, str(body, 'username')!, role, str(body, 'password')!) };
    },
  },
  {
    method: 'DELETE', path: '/v1/users/:name', auth: true,
    async handler({ hsm, principal, params, sessions }) {
      const user = await hsm.users.find(params.name);
      await hsm.users.delete(principal!, params.name);
      if (user) sessions.closeAll((p) => p.id === user.id);
      return { body: { deleted: params.name } };
    },
  },
  {
    method: 'POST', path: '/v1/users/:name/password', auth: true,
    async handler({ hsm, principal, params, body }) {
      await hsm.users.setPassword(principal!, params.name, str(body, 'password')!, str(body, 'oldPassword', false));
      return { body: { changed: params.name } };
    },
  },
  {
    method: 'POST', path: '/v1/users/:name/unlock', auth: true,
    async handler({ hsm, principal, params }) {
      await hsm.users.unlock(principal!, params.name);
      return { body: { unlocked: params.name } };
    },
  },
  {
    method: 'GET', path: '/v1/whoami', auth: true,
    handler: async ({ principal }) => ({ body: principal }),
  },
];

