// Admin routes for the audit log: the export (auditor), streamed as NDJSON in constant memory,
// and the checkpoint public key.
import { inChunks, type ExportRange } from '../../core/audit/export';
import { HsmError } from '../../errors/hsm-error';
import type { Route } from './router';

export const AUDIT_ROUTES: Route[] = [
  {
    // GET /v1/audit/export?from=SEQ|since=TIME&chain=NODE
    method: 'GET', path: '/v1/audit/export', auth: true,
    async handler(ctx) {
      const lines = await ctx.hsm.auditExport(ctx.caller(), exportRange(ctx.req.url ?? '/'));
      return { body: null, stream: inChunks(lines) };
    },
  },
  {
    method: 'GET', path: '/v1/audit/public-key', auth: false,
    handler: async ({ hsm }) => ({ body: { pem: await hsm.auditPublicKey() } }),
  },
];

const PARAMS = ['from', 'since', 'chain'];

/** The query's range; anything unknown, repeated or malformed is the caller's error. */
export function exportRange(url: string): ExportRange {
  const q = new URL(url, 'http://admin.invalid').searchParams;
  for (const k of new Set(q.keys())) {
    if (!PARAMS.includes(k)) throw new HsmError('BAD_REQUEST', `unknown parameter ${JSON.stringify(k.slice(0, 40))}; the export takes from, since and chain`);
    if (q.getAll(k).length > 1) throw new HsmError('BAD_REQUEST', `${k} is given twice`);
  }
  const from = q.get('from');
  if (from !== null && !/^[1-9]\d{0,15}$/.test(from)) throw new HsmError('BAD_REQUEST', 'from must be a record number (1 or more)');
  const since = q.get('since');
  const chain = q.get('chain');
  return { ...(from !== null ? { fromSeq: Number(from) } : {}), ...(since !== null ? { since } : {}), ...(chain !== null ? { chain } : {}) };
}
