// Admin routes for the audit log: export (auditor) and the checkpoint public key.
import { requireRole } from '../../core/policy/gate';
import type { Route } from './router';

export const AUDIT_ROUTES: Route[] = [
  {
    method: 'GET', path: '/v1/audit/export', auth: true,
    async handler({ hsm, principal }) {
      requireRole(principal!, 'audit.read');
      return { body: await hsm.audit.export(await hsm.auditPublicKey()) };
    },
  },
  {
    method: 'GET', path: '/v1/audit/public-key', auth: false,
    handler: async ({ hsm }) => ({ body: { pem: await hsm.auditPublicKey() } }),
  },
];
