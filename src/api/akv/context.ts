// What every Key Vault operation receives, and the helpers they share (paging, key refs).
import type { AkvRequest, AkvResult } from '../../protocol/akv';
import { badParameter } from '../../protocol/akv';
import type { CallContext, KeyRef, Page, PageRequest } from '../key-port';
import type { AkvBackend } from './backend';

export interface OpContext {
  port: AkvBackend<unknown>;
  call: CallContext<unknown>;
  req: AkvRequest<unknown>;
}

export type AkvOperation = (ctx: OpContext) => Promise<AkvResult>;

export const ok = (body: object): AkvResult => ({ body });

/** The key the path names; the transport has checked the name and the version's syntax. */
export function refOf(ctx: OpContext): KeyRef {
  const name = ctx.req.name!;
  return ctx.req.version ? { name, version: ctx.req.version } : { name };
}

/** Key Vault pages hold at most 25 items (`maxresults` 1-25). */
export const MAX_PAGE = 25;
const MAX_SKIPTOKEN = 1024;

export function pageRequest(ctx: OpContext): PageRequest {
  const max = ctx.req.query.get('maxresults');
  let limit = MAX_PAGE;
  if (max !== null) {
    limit = Number(max);
    if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_PAGE) throw badParameter(`maxresults must be between 1 and ${MAX_PAGE}.`);
  }
  const token = ctx.req.query.get('$skiptoken');
  if (token === null) return { limit };
  if (token.length > MAX_SKIPTOKEN || !/^[A-Za-z0-9_-]+$/.test(token)) throw badParameter('The $skiptoken is not valid.');
  return { limit, cursor: Buffer.from(token, 'base64url').toString('utf8') };
}

/** `{value, nextLink}` with nextLink on the vault the client called (the SDK follows it as is). */
export function pageBody<T>(ctx: OpContext, path: string, page: Page<T>, limit: number, item: (t: T) => object): AkvResult {
  let nextLink: string | null = null;
  if (page.next !== undefined) {
    const token = Buffer.from(page.next, 'utf8').toString('base64url');
    nextLink = `${ctx.req.vaultUrl}${path}?api-version=${ctx.req.apiVersion}&$skiptoken=${token}&maxresults=${limit}`;
  }
  return ok({ value: page.items.map(item), nextLink });
}
