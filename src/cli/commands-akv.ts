// CLI commands for the Key Vault face's OAuth clients: akv-credential create | list | delete.
// The secret is shown once, with what ClientSecretCredential needs besides it.
import { Command } from 'commander';
import type { Ctx } from './context';

type Client = { id: string; username: string; created: string; locked?: boolean };
type Made = { clientId: string; clientSecret: string; username: string; role: string; tenantId?: string; authorityHost?: string; vaultUrl?: string; caFile?: string };

export function registerAkvCommands(program: Command, ctx: Ctx): void {
  const akv = program.command('akv-credential').description('OAuth client credentials for the Azure Key Vault-compatible API (any role: the token carries it)');
  akv.command('create').description('issue a client id and secret; the secret is shown once')
    .option('--for <user>', 'the user it is for (crypto officer only; default: yourself)')
    .action(async (o) => {
      const r = await ctx.withLogin((c) => c.request<Made>('POST', '/v1/akv-credentials', { user: o.for }));
      ctx.print([`OAuth client for ${r.username} (${r.role}); the secret is shown only now:`,
        `  AZURE_CLIENT_ID=${r.clientId}`, `  AZURE_CLIENT_SECRET=${r.clientSecret}`,
        ...(r.tenantId ? [`  AZURE_TENANT_ID=${r.tenantId}`] : []), ...(r.authorityHost ? [`  AZURE_AUTHORITY_HOST=${r.authorityHost}`] : []),
        ...(r.vaultUrl ? [`  vault URL: ${r.vaultUrl}`] : []), ...(r.caFile ? [`  NODE_EXTRA_CA_CERTS=${r.caFile}`] : [])].join('\n'), r);
    });
  akv.command('list').action(async () => {
    const r = await ctx.withLogin((c) => c.request<{ clients: Client[] }>('GET', '/v1/akv-credentials'));
    ctx.print(r.clients.length ? r.clients.map((k) => `${k.id}  ${k.username.padEnd(20)} ${k.created}${k.locked ? '  LOCKED' : ''}`).join('\n') : '(no OAuth clients)', r);
  });
  akv.command('delete <client-id>').description('revoke a client: its tokens stop working at once').action(async (id: string) => {
    const r = await ctx.withLogin((c) => c.request('DELETE', `/v1/akv-credentials/${encodeURIComponent(id)}`));
    ctx.print(`Deleted ${id}.`, r);
  });
}
