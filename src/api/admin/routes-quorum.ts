// Admin routes for quorum (M of N approvals, core/quorum.ts): the partition's quorum values, tokens
// (request, show, list, approve), personal signing keys, and per-key use quorums with their
// activation. `requireQuorum` is what the routes of gated services call before they act: a token
// travels as the x-inkan-quorum-token header (or `quorumToken` in a JSON body) and is used once.
import { CKO } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import { int, obj, str } from './http-util';
import type { Route, RouteContext } from './router';

export const QUORUM_TOKEN_HEADER = 'x-inkan-quorum-token';
const PRIVATE_FIRST = [CKO.PRIVATE_KEY, CKO.SECRET_KEY, CKO.PUBLIC_KEY];

/** The quorum token the request carries, if any. */
export function quorumTokenOf(ctx: RouteContext): string | undefined {
  const h = ctx.req.headers[QUORUM_TOKEN_HEADER];
  const header = Array.isArray(h) ? h[0] : h;
  return header ?? (ctx.body && typeof ctx.body === 'object' ? str(ctx.body, 'quorumToken', false) : undefined);
}

/** Before a gated operation: nothing when its service's value is 1 and no token came; else the
 *  token must be approved for exactly this operation and these arguments (and is then used up). */
export async function requireQuorum(ctx: RouteContext, operation: string, args: Record<string, unknown>): Promise<void> {
  await ctx.hsm.quorum.consume(ctx.caller(), operation, args, quorumTokenOf(ctx));
}

/** The body without the token itself (what a "free" token, like a policy patch, binds). */
export function withoutToken(body: Record<string, unknown>): Record<string, unknown> {
  const { quorumToken: _t, ...rest } = body;
  return rest;
}

const resolveKey = (ctx: RouteContext) => ctx.hsm.lookup.resolve(ctx.caller(), ctx.params.ref, PRIVATE_FIRST);

export const QUORUM_ROUTES: Route[] = [
  { method: 'GET', path: '/v1/quorum', auth: true, handler: async (ctx) => ({ body: { values: await ctx.hsm.quorum.values(ctx.caller()) } }) },
  {
    method: 'POST', path: '/v1/quorum/values', auth: true,
    async handler(ctx) {
      const service = str(ctx.body, 'service')!;
      const value = int(ctx.body, 'value');
      if (value === undefined) throw new HsmError('BAD_REQUEST', 'value is required');
      // The token (if the quorum service needs one) is used in the same transaction as the change.
      return { body: { values: await ctx.hsm.quorum.setValue(ctx.caller(), service, value, quorumTokenOf(ctx)) } };
    },
  },
  { method: 'GET', path: '/v1/quorum/tokens', auth: true, handler: async (ctx) => ({ body: { tokens: await ctx.hsm.quorum.list(ctx.caller()) } }) },
  {
    method: 'POST', path: '/v1/quorum/tokens', auth: true,
    async handler(ctx) {
      const ttl = int(ctx.body, 'ttlSeconds');
      return { status: 201, body: await ctx.hsm.quorum.request(ctx.caller(), str(ctx.body, 'operation')!, obj(ctx.body, 'args'), ttl ?? undefined) };
    },
  },
  { method: 'GET', path: '/v1/quorum/tokens/:id', auth: true, handler: async (ctx) => ({ body: await ctx.hsm.quorum.show(ctx.caller(), ctx.params.id) }) },
  {
    method: 'POST', path: '/v1/quorum/tokens/:id/approve', auth: true,
    handler: async (ctx) => ({ body: await ctx.hsm.quorum.approve(ctx.caller(), ctx.params.id, str(ctx.body, 'signature')!) }),
  },
  {
    // A user's personal signing public key; the first key a user registers for itself needs no quorum.
    method: 'POST', path: '/v1/users/:name/signing-key', auth: true,
    async handler(ctx) {
      return { body: await ctx.hsm.quorum.registerKey(ctx.caller(), ctx.params.name, str(ctx.body, 'publicKey')!, quorumTokenOf(ctx)) };
    },
  },
  {
    method: 'GET', path: '/v1/keys/:ref/quorum', auth: true,
    async handler(ctx) {
      const o = await resolveKey(ctx);
      const q = await ctx.hsm.keyQuorum.stateOf(o);
      return { body: { key: o.id, value: q?.value ?? 1, windowSeconds: q?.window, activeUntil: q && q.activeUntil > Date.now() ? new Date(q.activeUntil).toISOString() : undefined } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/quorum', auth: true,
    async handler(ctx) {
      const o = await resolveKey(ctx);
      const value = int(ctx.body, 'value');
      if (value === undefined) throw new HsmError('BAD_REQUEST', 'value is required');
      const q = await ctx.hsm.keyQuorum.set(ctx.caller(), o, value, int(ctx.body, 'windowSeconds') ?? undefined, quorumTokenOf(ctx));
      return { body: { key: o.id, value: q.value, windowSeconds: q.window } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/activate', auth: true,
    async handler(ctx) {
      const o = await resolveKey(ctx);
      const q = await ctx.hsm.keyQuorum.activate(ctx.caller(), o, quorumTokenOf(ctx));
      return { body: { key: o.id, activeUntil: new Date(q.activeUntil).toISOString() } };
    },
  },
];
