// CLI commands for the AWS KMS external key store (XKS) face: xks create | list | delete. A key
// store is a URI prefix with SigV4 credentials, serving one crypto user's keys in one partition;
// `create --store` adds a second credential to a store (KMS credential rotation).
import { Command } from 'commander';
import { credentials } from './io';
import type { Ctx } from './context';

type Made = { uriPrefix: string; accessKeyId: string; secretAccessKey: string; username: string; endpoint?: string; region: string };
type Listed = { id: string; username: string; created: string; uriPrefix?: string };

export function registerXksCommands(program: Command, ctx: Ctx): void {
  const xks = program.command('xks').description('external key stores for AWS KMS (XKS proxy API)');
  const loginTo = async (partition?: string) => {
    const s = ctx.settings();
    const c = ctx.client();
    await c.login(await credentials(s.user, s.server), partition ?? s.partition);
    return c;
  };
  xks.command('create').description('a key store (URI prefix) and its SigV4 credential; the secret is shown once')
    .option('--partition <name>', 'the partition whose keys it serves (log in there)')
    .option('--for <user>', 'the crypto user whose keys it serves (crypto officer only; default: yourself)')
    .option('--store <uri-prefix>', 'add a credential to this existing key store instead (rotation)')
    .action(async (o) => {
      const c = await loginTo(o.partition);
      try {
        const r = await c.request<Made>('POST', '/v1/xks-credentials', { user: o.for, uriPrefix: o.store });
        ctx.print([`XKS key store for ${r.username} (the secret is shown only now). In AWS KMS CreateCustomKeyStore:`,
          ...(r.endpoint ? [`  XksProxyUriEndpoint: ${r.endpoint}`] : []), `  XksProxyUriPath: ${r.uriPrefix}/kms/xks/v1`,
          `  XksProxyAuthenticationCredential: AccessKeyId=${r.accessKeyId} RawSecretAccessKey=${r.secretAccessKey}`,
          `  external key ids: the user's key names (inkan / Key Vault), e.g. created with the Key Vault API`].join('\n'), r);
      } finally { await c.logout(); }
    });
  xks.command('list').option('--partition <name>', 'the partition to list').action(async (o) => {
    const c = await loginTo(o.partition);
    try {
      const r = await c.request<{ credentials: Listed[] }>('GET', '/v1/xks-credentials');
      ctx.print(r.credentials.length ? r.credentials.map((k) => `${k.id}  ${(k.uriPrefix ?? '').padEnd(30)} ${k.username.padEnd(16)} ${k.created}`).join('\n') : '(no XKS credentials)', r);
    } finally { await c.logout(); }
  });
  xks.command('delete <access-key-id>').option('--partition <name>', 'the partition it is in').action(async (id: string, o) => {
    const c = await loginTo(o.partition);
    try {
      const r = await c.request('DELETE', `/v1/xks-credentials/${encodeURIComponent(id)}`);
      ctx.print(`Deleted ${id}.`, r);
    } finally { await c.logout(); }
  });
}
