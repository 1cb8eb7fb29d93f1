// Rotate now and the rotation policy ("Keys - Rotate Key", "Get/Update Key Rotation Policy").
// Periods are ISO 8601 durations without a time part (P1Y2M10D, P90D, P4W), as Key Vault takes them.
import type { Period, RotationPolicy } from '../../key-port';
import { badParameter, epochSeconds, optionalObject, optionalString, type AkvInput } from '../../../protocol/akv';
import { keyBundle, keyUrl } from '../bundle';
import { ok, type AkvOperation } from '../context';

const DURATION = /^P(?:(\d{1,4})Y)?(?:(\d{1,4})M)?(?:(\d{1,4})W)?(?:(\d{1,5})D)?$/;

export function parsePeriod(text: string, member: string): Period {
  const m = DURATION.exec(text);
  if (!m || text === 'P') throw badParameter(`'${member}' must be an ISO 8601 duration such as P90D, P18M or P1Y.`);
  const [years, months, weeks, days] = m.slice(1).map((x) => (x === undefined ? 0 : Number(x)));
  return { years, months, days: weeks * 7 + days };
}

export function formatPeriod(p: Period): string {
  const out = `P${p.years ? `${p.years}Y` : ''}${p.months ? `${p.months}M` : ''}${p.days ? `${p.days}D` : ''}`;
  return out === 'P' ? 'P0D' : out;
}

/** Rough length in days, only to enforce Key Vault's documented minimums (7 days after create). */
const approxDays = (p: Period): number => p.years * 365 + p.months * 30 + p.days;

function readAction(item: unknown): RotationPolicy['actions'][number] {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) throw badParameter('Each lifetime action must be an object.');
  const entry = item as AkvInput;
  const trigger = optionalObject(entry, 'trigger') ?? {};
  const action = optionalObject(entry, 'action') ?? {};
  const type = (optionalString(action, 'type', 16) ?? '').toLowerCase();
  if (type !== 'rotate' && type !== 'notify') throw badParameter("A lifetime action's type must be Rotate or Notify.");
  const after = optionalString(trigger, 'timeAfterCreate', 32);
  const before = optionalString(trigger, 'timeBeforeExpiry', 32);
  if ((after === undefined) === (before === undefined)) {
    throw badParameter('A lifetime action needs exactly one of timeAfterCreate and timeBeforeExpiry.');
  }
  const out = { action: type, afterCreate: after === undefined ? undefined : parsePeriod(after, 'timeAfterCreate'),
    beforeExpiry: before === undefined ? undefined : parsePeriod(before, 'timeBeforeExpiry') } as const;
  if (out.afterCreate && approxDays(out.afterCreate) < 7) throw badParameter('timeAfterCreate must be at least P7D.');
  return out;
}

export function readPolicy(input: AkvInput): RotationPolicy {
  const list = input.lifetimeActions ?? [];
  if (!Array.isArray(list) || list.length > 2) throw badParameter("'lifetimeActions' must be an array of at most two actions.");
  const actions = list.map(readAction);
  if (actions.filter((a) => a.action === 'rotate').length > 1) throw badParameter('Only one Rotate action is allowed.');
  const attributes = optionalObject(input, 'attributes') ?? {};
  const expiry = optionalString(attributes, 'expiryTime', 32);
  const versionLifetime = expiry === undefined ? undefined : parsePeriod(expiry, 'expiryTime');
  if (versionLifetime && approxDays(versionLifetime) < 28) throw badParameter('expiryTime must be at least P28D.');
  if (actions.some((a) => a.beforeExpiry) && !versionLifetime) throw badParameter('timeBeforeExpiry needs attributes.expiryTime.');
  return { versionLifetime, actions };
}

export function policyBody(vault: string, name: string, p: RotationPolicy): object {
  const attributes: Record<string, unknown> = {};
  if (p.versionLifetime) attributes.expiryTime = formatPeriod(p.versionLifetime);
  if (p.createdAt) attributes.created = epochSeconds(p.createdAt);
  if (p.updatedAt) attributes.updated = epochSeconds(p.updatedAt);
  return {
    id: `${keyUrl(vault, name)}/rotationpolicy`,
    lifetimeActions: p.actions.map((a) => ({
      trigger: a.afterCreate ? { timeAfterCreate: formatPeriod(a.afterCreate) } : { timeBeforeExpiry: formatPeriod(a.beforeExpiry!) },
      action: { type: a.action === 'rotate' ? 'Rotate' : 'Notify' },
    })),
    attributes,
  };
}

export const rotateKey: AkvOperation = async (ctx) =>
  ok(keyBundle(ctx.req.vaultUrl, await ctx.port.rotateKey(ctx.call, ctx.req.name!)));

export const getRotationPolicy: AkvOperation = async (ctx) =>
  ok(policyBody(ctx.req.vaultUrl, ctx.req.name!, await ctx.port.getRotationPolicy(ctx.call, ctx.req.name!)));

export const updateRotationPolicy: AkvOperation = async (ctx) => {
  const policy = readPolicy(ctx.req.input);
  return ok(policyBody(ctx.req.vaultUrl, ctx.req.name!, await ctx.port.setRotationPolicy(ctx.call, ctx.req.name!, policy)));
};
