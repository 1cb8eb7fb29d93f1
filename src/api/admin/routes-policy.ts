// Admin routes for the caller's partition policy (PartitionPolicy in core/partitions.ts): approved-only
// mode, public objects before login, public token objects, quotas, password length. Officers only
// (the matrix row module.policy); every change is one audited operation in the core.
import { HsmError } from '../../errors/hsm-error';
import type { Route } from './router';
import { requireQuorum, withoutToken } from './routes-quorum';

export const POLICY_ROUTES: Route[] = [
  { method: 'GET', path: '/v1/policy', auth: true, handler: async (ctx) => ({ body: await ctx.hsm.partitions.readPolicy(ctx.caller()) }) },
  {
    method: 'POST', path: '/v1/policy', auth: true,
    async handler(ctx) {
      if (typeof ctx.body !== 'object' || ctx.body === null || Array.isArray(ctx.body)) throw new HsmError('BAD_REQUEST', 'the body is an object of policy fields');
      const patch = withoutToken(ctx.body);
      await requireQuorum(ctx, 'policy.set', patch);
      return { body: await ctx.hsm.partitions.setPolicy(ctx.caller(), patch) };
    },
  },
];
