// Admin routes for the KMS face's SigV4 access keys: a crypto user manages its own; a crypto
// officer may issue keys to any crypto user, list all and delete any. The secret is returned once.
import { str } from './http-util';
import type { Route } from './router';

export const ACCESS_KEY_ROUTES: Route[] = [
  {
    method: 'POST', path: '/v1/access-keys', auth: true,
    async handler({ hsm, principal, body }) {
      return { status: 201, body: await hsm.accessKeys.create(principal!, str(body, 'user', false)) };
    },
  },
  {
    method: 'GET', path: '/v1/access-keys', auth: true,
    handler: async ({ hsm, principal }) => ({ body: { accessKeys: await hsm.accessKeys.list(principal!) } }),
  },
  {
    method: 'DELETE', path: '/v1/access-keys/:id', auth: true,
    async handler({ hsm, principal, params }) {
      await hsm.accessKeys.delete(principal!, params.id);
      return { body: { deleted: params.id } };
    },
  },
];
