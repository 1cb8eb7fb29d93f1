// CLI commands for the KMS face's SigV4 access keys: access-key create | list | delete.
import { Command } from 'commander';
import type { Ctx } from './context';

type AccessKey = { accessKeyId: string; username: string; created: string };

export function registerAccessKeyCommands(program: Command, ctx: Ctx): void {
  const ak = program.command('access-key').description('SigV4 access keys for the KMS-compatible API (crypto users; officers for any crypto user)');
  ak.command('create').description('issue an access key; the secret is shown once')
    .option('--for <user>', 'the crypto user it is for (crypto officer only; default: yourself)')
    .action(async (o) => {
      const r = await ctx.withLogin((c) => c.request<{ accessKeyId: string; secretAccessKey: string; username: string }>('POST', '/v1/access-keys', { user: o.for }));
      ctx.print([`Access key for ${r.username} (the secret is shown only now):`,
        `  AWS_ACCESS_KEY_ID=${r.accessKeyId}`, `  AWS_SECRET_ACCESS_KEY=${r.secretAccessKey}`].join('\n'), r);
    });
  ak.command('list').action(async () => {
    const r = await ctx.withLogin((c) => c.request<{ accessKeys: AccessKey[] }>('GET', '/v1/access-keys'));
    ctx.print(r.accessKeys.length ? r.accessKeys.map((k) => `${k.accessKeyId}  ${k.username.padEnd(20)} ${k.created}`).join('\n') : '(no access keys)', r);
  });
  ak.command('delete <access-key-id>').action(async (id: string) => {
    const r = await ctx.withLogin((c) => c.request('DELETE', `/v1/access-keys/${encodeURIComponent(id)}`));
    ctx.print(`Deleted ${id}.`, r);
  });
}
