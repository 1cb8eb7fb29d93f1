// GET /v1/cluster: the nodes sharing this module's store, from their heartbeat rows (the runtime
// supplies them: runtime/cluster.ts). Officers and auditors only; the caller is admitted by the
// core like every operation (a locked or deleted user is refused on every node at once).
import { HsmError } from '../../errors/hsm-error';
import type { Route } from './router';

export type ClusterView = () => Promise<unknown>;

export function clusterRoutes(view: ClusterView | undefined): Route[] {
  return [{
    method: 'GET', path: '/v1/cluster', auth: true,
    async handler({ hsm, caller }) {
      const body = await hsm.ops.run(caller(), 'cluster.status', async (a) => {
        if (a.principal?.role !== 'officer' && a.principal?.role !== 'auditor') throw new HsmError('FORBIDDEN', 'officers and auditors may read the node list');
        if (!view) throw new HsmError('NO_SUCH_ROUTE', 'this server has no node list');
        return view();
      }, { recordSuccess: false });
      return { body };
    },
  }];
}
