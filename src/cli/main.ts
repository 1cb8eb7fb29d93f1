// `inkan`: the administrator's and developer's command line. Every command except `serve`
// talks to a running server's admin API; every command accepts --output json|yaml (or --json)
// for scripts. Settings and saved sessions: config.ts; what each error means next: hints.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, CommanderError } from 'commander';
import YAML from 'yaml';
import { AdminClient, CliError } from './client';
import { credentials } from './io';
import { DEFAULT_SERVER, loadSession, deleteSession, resolveSettings, Settings } from './config';
import { nextStep } from './hints';
import { registerModuleCommands } from './commands-module';
import { registerKeyCommands } from './commands-keys';
import { registerAuditCommands } from './commands-audit';
import { registerBackupCommands } from './commands-backup';
import { registerP11Commands } from './commands-p11';
import { registerAccessKeyCommands } from './commands-access-keys';
import { registerPolicyCommands } from './commands-policy';
import { registerPartitionCommands } from './commands-partition';
import { registerAkvCommands } from './commands-akv';
import { registerXksCommands } from './commands-xks';
import { registerSessionCommands } from './commands-session';
import { registerHelpCommands } from './commands-help';
import { registerObjectCommands } from './commands-objects';
import { registerQuorumCommands } from './commands-quorum';
import type { Ctx } from './context';

export { DEFAULT_SERVER };

/** The package's version, from the package.json two levels above dist/src/cli. */
export function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch { return 'unknown'; }
}

/** `inkan sign` for the sign command, `inkan key list` for a subcommand. */
export function commandPath(cmd: Command): string {
  const names: string[] = [];
  for (let c: Command | null = cmd; c; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

/** Every usage error prints its one line and where the usage is, never the whole help. */
function hintUsage(cmd: Command): void {
  cmd.showHelpAfterError(`Run \`${commandPath(cmd)} --help\` for usage${cmd.parent ? ' and examples' : ''}.`);
  cmd.exitOverride();
  cmd.configureOutput({ outputError: (text, write) => write(`inkan: ${text}`) });
  for (const sub of cmd.commands) hintUsage(sub);
}

export function buildProgram(): Command {
  const program = new Command('inkan')
    .description('Inkan HSM: keys generated and used inside the module, over PKCS#11, KMS-, Key Vault- and XKS-compatible APIs and this CLI')
    .version(version(), '-V, --version', 'print the version of inkan')
    .option('--server <url>', `admin API URL (or INKAN_SERVER, or the profile's; default ${DEFAULT_SERVER})`)
    .option('--user <name>', 'log in as this user (or INKAN_USER; password from INKAN_PASSWORD, `inkan login` or a prompt)')
    .option('--partition <name>', 'partition to log in to (or INKAN_PARTITION; default "default")')
    .option('--profile <name>', 'settings profile from ~/.config/inkan/config.yaml (or INKAN_PROFILE)')
    .option('--output <format>', 'output: table | json | yaml (or INKAN_OUTPUT)')
    .option('--json', 'the same as --output json', false)
    .option('--quorum-token <id>', 'run the command with this approved quorum token (inkan quorum request; docs/operators.md)');

  let cached: Settings | undefined;
  const extra = (): Record<string, string> => {
    const t = program.opts().quorumToken as string | undefined;
    return t ? { 'x-inkan-quorum-token': t } : {};
  };
  const settings = (): Settings => (cached ??= resolveSettings(program.opts()));
  const ctx: Ctx = {
    get json() { return settings().output !== 'table'; },
    get output() { return settings().output; },
    settings,
    client: () => new AdminClient(settings().server, undefined, extra()),
    async withLogin(fn, user) {
      const s = settings();
      const wanted = user ?? s.user;
      // A saved `inkan login` session serves unless a password is given in the environment or
      // another user is asked for; it is never sent to another server (loadSession checks).
      const saved = process.env.INKAN_PASSWORD === undefined ? loadSession(s) : undefined;
      if (saved && (!wanted || wanted === saved.username) && (saved.partition ?? 'default') === s.partition) {
        const c = new AdminClient(s.server, saved.token, extra());
        try { return await fn(c); } catch (err) {
          if (err instanceof CliError && ['SESSION_EXPIRED', 'SESSION_REVOKED', 'AUTH_REQUIRED'].includes(err.code)) deleteSession(s.profile);
          throw err;
        } finally { c.detach(); }
      }
      const c = ctx.client();
      await c.login(await credentials(wanted, s.server), s.partition);
      try { return await fn(c); } finally { await c.logout(); }
    },
    print(human, data) {
      const out = settings().output;
      if (out === 'json') process.stdout.write(JSON.stringify(data, null, 2) + '\n');
      else if (out === 'yaml') process.stdout.write(YAML.stringify(data));
      else process.stdout.write(human.endsWith('\n') ? human : human + '\n');
    },
  };
  registerModuleCommands(program, ctx);
  registerSessionCommands(program, ctx);
  registerKeyCommands(program, ctx);
  registerObjectCommands(program, ctx);
  registerAuditCommands(program, ctx);
  registerBackupCommands(program, ctx);
  registerP11Commands(program);
  registerAccessKeyCommands(program, ctx);
  registerPolicyCommands(program, ctx);
  registerPartitionCommands(program, ctx);
  registerAkvCommands(program, ctx);
  registerXksCommands(program, ctx);
  registerQuorumCommands(program, ctx);
  registerHelpCommands(program);
  hintUsage(program);
  return program;
}

/** Whether the command line asks for structured output (read before commander has parsed it). */
function structured(argv: string[]): 'json' | 'yaml' | undefined {
  if (argv.includes('--json')) return 'json';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = a === '--output' ? argv[i + 1] : a.startsWith('--output=') ? a.slice(9) : undefined;
    if (v === 'json' || v === 'yaml') return v;
  }
  const env = process.env.INKAN_OUTPUT;
  return env === 'json' || env === 'yaml' ? env : undefined;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
  } catch (err) {
    // Commander has already printed a usage error (one line and the hint) or the help/version.
    if (err instanceof CommanderError) { process.exitCode = err.exitCode; return; }
    const e = err instanceof CliError ? err : new CliError('ERROR', (err as Error).message);
    const next = nextStep(e.code);
    const form = structured(argv);
    const body = { error: { code: e.code, message: e.message, ...(next ? { next } : {}) } };
    if (form === 'json') process.stdout.write(JSON.stringify(body) + '\n');
    else if (form === 'yaml') process.stdout.write(YAML.stringify(body));
    else process.stderr.write(`inkan: ${e.message} [${e.code}]\n${next ? `  next: ${next}\n` : ''}`);
    process.exitCode = 1;
  }
}
