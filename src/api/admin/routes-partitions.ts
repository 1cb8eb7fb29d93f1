// Admin routes for partitions (core/partition-admin.ts; docs/partitions.md): the HSM officers
// create, list, resize and delete them; a partition's own officers and auditors read theirs.
// Deleting a partition also ends the admin sessions of its users here at once.
import { HsmError } from '../../errors/hsm-error';
import { int, str } from './http-util';
import { requireQuorum } from './routes-quorum';
import type { Route } from './router';

export const PARTITION_ROUTES: Route[] = [
  { method: 'GET', path: '/v1/partitions', auth: true, handler: async (ctx) => ({ body: { partitions: await ctx.hsm.partitionAdmin.list(ctx.caller()) } }) },
  {
    method: 'POST', path: '/v1/partitions', auth: true,
    async handler(ctx) {
      const officer = ctx.body.officer;
      if (typeof officer !== 'object' || officer === null || Array.isArray(officer)) throw new HsmError('BAD_REQUEST', 'officer is {"username", "password"}: the partition\'s first officer');
      const o = officer as Record<string, unknown>;
      const maxObjects = int(ctx.body, 'maxObjects');
      await requireQuorum(ctx, 'partition.create', { name: str(ctx.body, 'name')!, officer: str(o, 'username')!, ...(maxObjects === undefined ? {} : { 'max-objects': maxObjects }) });
      const made = await ctx.hsm.partitionAdmin.create(ctx.caller(), {
        name: str(ctx.body, 'name')!, officer: str(o, 'username')!, password: str(o, 'password')!, maxObjects: int(ctx.body, 'maxObjects'),
      });
      return { status: 201, body: made };
    },
  },
  { method: 'GET', path: '/v1/partitions/:name', auth: true, handler: async (ctx) => ({ body: await ctx.hsm.partitionAdmin.show(ctx.caller(), ctx.params.name) }) },
  {
    method: 'PATCH', path: '/v1/partitions/:name', auth: true,
    async handler(ctx) {
      const extra = Object.keys(ctx.body).filter((k) => k !== 'maxObjects');
      if (extra.length) throw new HsmError('BAD_REQUEST', `only maxObjects is resized here; a partition's officer sets its policy (inkan policy set), not ${extra[0].slice(0, 40)}`);
      const max = int(ctx.body, 'maxObjects');
      if (max === undefined) throw new HsmError('BAD_REQUEST', 'maxObjects is required');
      await requireQuorum(ctx, 'partition.update', { name: ctx.params.name, 'max-objects': max });
      return { body: await ctx.hsm.partitionAdmin.resize(ctx.caller(), ctx.params.name, max) };
    },
  },
  {
    method: 'DELETE', path: '/v1/partitions/:name', auth: true,
    async handler(ctx) {
      await requireQuorum(ctx, 'partition.delete', { name: ctx.params.name });
      const gone = await ctx.hsm.partitionAdmin.delete(ctx.caller(), ctx.params.name);
      ctx.sessions.closeAll((p) => p.partition === gone.id);
      return { body: gone };
    },
  },
];
