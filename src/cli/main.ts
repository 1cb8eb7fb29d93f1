// `inkan`: the administrator's and developer's command line. Every command except `serve`
// talks to a running server's admin API; every command accepts --json for scripts.
import { Command } from 'commander';
import { AdminClient, CliError } from './client';
import { credentials } from './io';
import { registerModuleCommands } from './commands-module';
import { registerKeyCommands } from './commands-keys';
import { registerAuditCommands } from './commands-audit';
import { registerBackupCommands } from './commands-backup';
import { registerP11Commands } from './commands-p11';
import { registerAccessKeyCommands } from './commands-access-keys';
import { registerPolicyCommands } from './commands-policy';
import { registerAkvCommands } from './commands-akv';
import { registerXksCommands } from './commands-xks';
import type { Ctx } from './context';

export const DEFAULT_SERVER = 'http://127.0.0.1:7280';

export function buildProgram(): Command {
  const program = new Command('inkan')
    .description('Inkan HSM: keys generated and used inside the module, over PKCS#11, KMS-, Key Vault- and XKS-compatible APIs and this CLI')
    .option('--server <url>', 'admin API URL (or INKAN_SERVER)', process.env.INKAN_SERVER ?? DEFAULT_SERVER)
    .option('--json', 'machine-readable output', false)
    .option('--user <name>', 'log in as this user (or INKAN_USER; password from INKAN_PASSWORD or a prompt)')
    .showHelpAfterError();

  const ctx: Ctx = {
    get json() { return Boolean(program.opts().json); },
    client: () => new AdminClient(program.opts().server),
    async withLogin(fn, user) {
      const c = ctx.client();
      await c.login(await credentials(user ?? program.opts().user));
      try { return await fn(c); } finally { await c.logout(); }
    },
    print(human, data) {
      process.stdout.write(ctx.json ? JSON.stringify(data, null, 2) + '\n' : human.endsWith('\n') ? human : human + '\n');
    },
  };
  registerModuleCommands(program, ctx);
  registerKeyCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerBackupCommands(program, ctx);
  registerP11Commands(program);
  registerAccessKeyCommands(program, ctx);
  registerPolicyCommands(program, ctx);
  registerAkvCommands(program, ctx);
  registerXksCommands(program, ctx);
  return program;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    const json = argv.includes('--json');
    const e = err instanceof CliError ? err : new CliError('ERROR', (err as Error).message);
    if (json) process.stdout.write(JSON.stringify({ error: { code: e.code, message: e.message } }) + '\n');
    else process.stderr.write(`inkan: ${e.message} [${e.code}]\n`);
    process.exitCode = 1;
  }
}
