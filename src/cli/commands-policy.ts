// `inkan policy show | set FIELD VALUE`: the partition policy of the officer who logs in (approved-only
// mode, public objects, quotas). Field names are kebab-case here, camelCase in the admin API.
import { Command } from 'commander';
import { CliError } from './client';
import type { Ctx } from './context';

type Policy = Record<string, boolean | number>;

const FIELDS: Readonly<Record<string, { key: string; kind: 'boolean' | 'count' }>> = {
  'approved-only': { key: 'approvedOnly', kind: 'boolean' },
  'public-objects-visible': { key: 'publicObjectsVisible', kind: 'boolean' },
  'public-token-objects': { key: 'publicTokenObjects', kind: 'boolean' },
  'max-objects': { key: 'maxObjects', kind: 'count' },
  'max-objects-per-user': { key: 'maxObjectsPerUser', kind: 'count' },
  'password-min': { key: 'passwordMin', kind: 'count' },
  'password-classes': { key: 'passwordClasses', kind: 'count' },
};

function parseValue(field: string, value: string): [string, boolean | number] {
  const f = FIELDS[field];
  if (!f) throw new CliError('BAD_REQUEST', `unknown policy field ${field}; fields: ${Object.keys(FIELDS).join(', ')}`);
  if (f.kind === 'boolean') {
    if (value !== 'true' && value !== 'false') throw new CliError('BAD_REQUEST', `${field} is true or false`);
    return [f.key, value === 'true'];
  }
  if (!/^[1-9][0-9]*$/.test(value)) throw new CliError('BAD_REQUEST', `${field} is a positive integer`);
  return [f.key, Number(value)];
}

/** The policy as aligned lines (also `inkan partition show`). */
export function describePolicy(p: Policy): string {
  return Object.entries(FIELDS).map(([name, f]) => `${name.padEnd(24)}${p[f.key]}`).join('\n')
    + (p.approvedOnly === false ? '\nThis partition is NOT in approved-only mode: legacy algorithms (DES, DES3, RSA-1024, SHA-1 signatures, short HMAC keys) are allowed.' : '');
}

export function registerPolicyCommands(program: Command, ctx: Ctx): void {
  const policy = program.command('policy').description('the partition policy: approved-only mode, public objects, quotas (crypto officers)');
  policy.command('show').action(async () => {
    const p = await ctx.withLogin((c) => c.request<Policy>('GET', '/v1/policy'));
    ctx.print(describePolicy(p), p);
  });
  policy.command('set <field> <value>').description(`change one field: ${Object.keys(FIELDS).join(', ')}`)
    .action(async (field: string, value: string) => {
      const [key, v] = parseValue(field, value);
      const p = await ctx.withLogin((c) => c.request<Policy>('POST', '/v1/policy', { [key]: v }));
      ctx.print(describePolicy(p), p);
    });
}
