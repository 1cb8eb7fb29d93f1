// Admin routes for the KMS face's SigV4 access keys: a crypto user manages its own; an officer may
// issue keys to any crypto user of its partition, list all and delete any (the core's gate decides).
// The secret is returned once.
import { str } from './http-util';
import type { Route } from './router';

export const ACCESS_KEY_ROUTES: Route[] = [
  {
    method: 'POST', path: '/v1/access-keys', auth: true,
    handler: async (ctx) => ({ status: 201, body: await ctx.hsm.credentials.create(ctx.caller(), str(ctx.body, 'user', false)) }),
  },
  {
    method: 'GET', path: '/v1/access-keys', auth: true,
    handler: async (ctx) => ({ body: { accessKeys: await ctx.hsm.credentials.list(ctx.caller()) } }),
  },
  {
    method: 'DELETE', path: '/v1/access-keys/:id', auth: true,
    async handler(ctx) {
      await ctx.hsm.credentials.delete(ctx.caller(), ctx.params.id);
      return { body: { deleted: ctx.params.id } };
    },
  },
];
