// Admin routes for the cloud faces' credentials: Key Vault OAuth clients (any role; a user for
// itself, an officer for anyone of its partition) and XKS key-store credentials (crypto users).
// Secrets are returned once. `where` tells callers where the faces are reachable (server.ts).
import { str } from './http-util';
import type { Route } from './router';

export interface CloudWhere {
  akv?: { vaultUrl: string; authorityHost: string; tenantId: string; caFile?: string };
  xks?: { endpoint: string; caFile?: string };
}

export function cloudRoutes(where: () => CloudWhere): Route[] {
  return [
    {
      method: 'POST', path: '/v1/akv-credentials', auth: true,
      async handler(ctx) {
        const made = await ctx.hsm.credentials.clients.createOAuthClient(ctx.caller(), str(ctx.body, 'user', false));
        return { status: 201, body: { ...made, ...where().akv } };
      },
    },
    {
      method: 'GET', path: '/v1/akv-credentials', auth: true,
      handler: async (ctx) => ({ body: { clients: await ctx.hsm.credentials.clients.list(ctx.caller(), 'oauth-client') } }),
    },
    {
      method: 'DELETE', path: '/v1/akv-credentials/:id', auth: true,
      async handler(ctx) {
        await ctx.hsm.credentials.clients.delete(ctx.caller(), 'oauth-client', ctx.params.id);
        return { body: { deleted: ctx.params.id } };
      },
    },
    {
      method: 'POST', path: '/v1/xks-credentials', auth: true,
      async handler(ctx) {
        const made = await ctx.hsm.credentials.clients.createXks(ctx.caller(), { username: str(ctx.body, 'user', false), uriPrefix: str(ctx.body, 'uriPrefix', false) });
        return { status: 201, body: { ...made, ...where().xks, region: 'us-east-1' } };
      },
    },
    {
      method: 'GET', path: '/v1/xks-credentials', auth: true,
      handler: async (ctx) => ({ body: { credentials: await ctx.hsm.credentials.clients.list(ctx.caller(), 'sigv4-xks') } }),
    },
    {
      method: 'DELETE', path: '/v1/xks-credentials/:id', auth: true,
      async handler(ctx) {
        await ctx.hsm.credentials.clients.delete(ctx.caller(), 'sigv4-xks', ctx.params.id);
        return { body: { deleted: ctx.params.id } };
      },
    },
  ];
}
