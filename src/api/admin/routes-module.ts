// Admin routes for the module itself: status, init, unseal, seal, login and logout, and the
// custodians' actions that need shares instead of a login (officer recovery, accepting a store).
import { HsmError } from '../../errors/hsm-error';
import type { CustodianAction } from '../../core/lifecycle';
import { int, str } from './http-util';
import type { Route } from './router';

export const MODULE_ROUTES: Route[] = [
  {
    // The default partition's approved-only mode is part of the status, like a FIPS-mode indicator.
    method: 'GET', path: '/v1/status', auth: false,
    handler: async ({ hsm }) => ({ body: { ...await hsm.status(), approvedOnly: hsm.state === 'unsealed' ? (await hsm.partitions.policy('default')).approvedOnly : undefined } }),
  },
  {
    method: 'POST', path: '/v1/init', auth: false,
    async handler({ hsm, body }) {
      const shares = int(body, 'shares') ?? 5;
      const threshold = int(body, 'threshold') ?? 3;
      const username = str(body, 'officerUsername')!;
      const password = str(body, 'officerPassword')!;
      const list = await hsm.lifecycle.init(shares, threshold, { username, password });
      return { status: 201, body: { shares: list, threshold, officer: username } };
    },
  },
  {
    method: 'POST', path: '/v1/unseal', auth: false,
    handler: async ({ hsm, body, source }) => ({ body: await hsm.lifecycle.unseal(str(body, 'share')!, source) }),
  },
  {
    method: 'POST', path: '/v1/seal', auth: true,
    async handler({ hsm, sessions, caller }) {
      await hsm.lifecycle.seal(caller());
      sessions.closeAll();
      return { body: { sealed: true } };
    },
  },
  {
    method: 'POST', path: '/v1/login', auth: false,
    async handler({ hsm, body, sessions, source }) {
      // The user is looked up inside the named partition (its officers, users and auditors only).
      const partition = str(body, 'partition', false) ?? 'default';
      hsm.requireUnsealed();
      const principal = await hsm.login(str(body, 'username')!, str(body, 'password')!, 'admin', { partition: await hsm.partitions.idOf(partition), source });
      return { body: { ...sessions.open(principal), username: principal.username, role: principal.role, partition } };
    },
  },
  {
    method: 'POST', path: '/v1/logout', auth: true,
    async handler({ sessions, token }) { sessions.close(token!); return { body: { loggedOut: true } }; },
  },
  {
    method: 'GET', path: '/v1/whoami', auth: true,
    handler: async ({ hsm, principal }) => ({ body: {
      id: principal!.id, username: principal!.username, role: principal!.role,
      partition: (await hsm.partitions.get(principal!.partition)).name, partitionId: principal!.partition,
    } }),
  },
  {
    // One custodian's share towards an action that needs M of N custodians instead of a login.
    method: 'POST', path: '/v1/custodian/:action', auth: false,
    async handler({ hsm, params, body, source }) {
      let action: CustodianAction;
      if (params.action === 'recover-officer') {
        const named = str(body, 'partition', false);
        action = { kind: 'recover-officer', partition: named === undefined ? undefined : await hsm.partitions.idOf(named), username: str(body, 'username')!, password: str(body, 'password', false) };
      } else if (params.action === 'accept-store') {
        action = { kind: 'accept-store' };
      } else {
        throw new HsmError('NO_SUCH_ROUTE', 'custodian actions are recover-officer and accept-store');
      }
      return { body: await hsm.lifecycle.custodian(action, str(body, 'share')!, source) };
    },
  },
];
