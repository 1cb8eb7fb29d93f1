// `inkan partition create|list|show|resize|delete`: partitions (docs/partitions.md). The HSM
// officers (officers of the partition `default`) manage them; a partition's own officers and
// auditors `show` theirs (log in with --partition NAME). The first officer's password is asked
// twice, like every new user's, before yours.
import { Command } from 'commander';
import { CliError } from './client';
import type { Ctx } from './context';
import { describePolicy } from './commands-policy';
import { table } from './format';
import { newPassword, prompt } from './io';

interface PartitionInfo {
  id: string; name: string; slot: number; serial: string; accountId: string; created: string;
  policy: Record<string, boolean | number>; users: number; objects: number;
}

const count = (v: string, flag: string): number => {
  if (!/^[1-9][0-9]*$/.test(v) || !Number.isSafeInteger(Number(v))) throw new CliError('BAD_ARGUMENT', `${flag} is a positive integer, not ${v}`);
  return Number(v);
};
const path = (name: string) => `/v1/partitions/${encodeURIComponent(name)}`;

function describe(p: PartitionInfo): string {
  return [
    `partition ${p.name}  (id ${p.id})`,
    `PKCS#11 slot ${p.slot}, token label ${p.name}, serial ${p.serial}`,
    `KMS account ${p.accountId}`,
    `${p.users} users, ${p.objects} of at most ${p.policy.maxObjects} objects; created ${p.created}`,
    '', describePolicy(p.policy),
  ].join('\n');
}

export function registerPartitionCommands(program: Command, ctx: Ctx): void {
  const part = program.command('partition').description('partitions: each its own officers, users, keys, PKCS#11 token and KMS account (HSM officers)');
  part.command('create <name>').description('a new partition and its first officer')
    .requiredOption('--officer <username>', 'the partition\'s first crypto officer (created inside it)')
    .option('--max-objects <n>', 'how many objects it may hold (default 1000000)')
    .option('--password <password>', 'the first officer\'s password (else INKAN_NEW_PASSWORD or a prompt)')
    .action(async (name: string, o) => {
      const maxObjects = o.maxObjects === undefined ? undefined : count(o.maxObjects, '--max-objects');
      const password = await newPassword(`${o.officer}, first officer of partition ${name}`, o.password ?? process.env.INKAN_NEW_PASSWORD);
      const r = await ctx.withLogin((c) => c.request<PartitionInfo>('POST', '/v1/partitions', { name, officer: { username: o.officer, password }, maxObjects }));
      ctx.print(`Created partition ${r.name}: PKCS#11 slot ${r.slot} (token label ${r.name}), KMS account ${r.accountId}, first officer ${o.officer}.\n`
        + `Its officer logs in with: inkan --partition ${r.name} --user ${o.officer} login`, r);
    });
  part.command('list').action(async () => {
    const r = await ctx.withLogin((c) => c.request<{ partitions: PartitionInfo[] }>('GET', '/v1/partitions'));
    ctx.print(table(['NAME', 'SLOT', 'SERIAL', 'ACCOUNT', 'USERS', 'OBJECTS', 'MAX', 'APPROVED-ONLY'],
      r.partitions.map((p) => [p.name, String(p.slot), p.serial, p.accountId, String(p.users), String(p.objects), String(p.policy.maxObjects), String(p.policy.approvedOnly)])), r);
  });
  part.command('show <name>').description('one partition: slot, serial, account, counts and its policy').action(async (name: string) => {
    const r = await ctx.withLogin((c) => c.request<PartitionInfo>('GET', path(name)));
    ctx.print(describe(r), r);
  });
  part.command('resize <name>').requiredOption('--max-objects <n>', 'how many objects it may hold (not below what it holds)')
    .action(async (name: string, o) => {
      const r = await ctx.withLogin((c) => c.request<PartitionInfo>('PATCH', path(name), { maxObjects: count(o.maxObjects, '--max-objects') }));
      ctx.print(`Partition ${r.name} may hold ${r.policy.maxObjects} objects (holds ${r.objects}).`, r);
    });
  part.command('delete <name>').description('delete a partition: its key is destroyed, its users, credentials and keys are gone for good')
    .option('--confirm <name>', 'the partition\'s name again (else asked)')
    .action(async (name: string, o) => {
      const confirm = o.confirm ?? await prompt(`This destroys every key of partition ${name} for ever (old backups still hold them: docs/sealing.md). Type its name to continue: `);
      if (confirm !== name) throw new CliError('BAD_ARGUMENT', 'the name typed does not match: nothing deleted');
      const r = await ctx.withLogin((c) => c.request<{ deleted: string; purged: number }>('DELETE', path(name)));
      ctx.print(`Deleted partition ${r.deleted} (${r.purged} rows purged; its sealing key is destroyed).`, r);
    });
}
