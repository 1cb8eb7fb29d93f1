// CLI commands for backups and zeroisation (crypto officer).
import * as fs from 'node:fs';
import { Command } from 'commander';
import { CliError } from './client';
import { prompt } from './io';
import type { Ctx } from './context';

const WORD = 'ZEROIZE';

function progress(quiet: boolean, verb: string): (bytes: number) => void {
  if (quiet || !process.stderr.isTTY) return () => {};
  return (bytes) => process.stderr.write(`\r${verb} ${(bytes / 1048576).toFixed(1)} MiB`);
}

export function registerBackupCommands(program: Command, ctx: Ctx): void {
  const backup = program.command('backup').description('encrypted backups of the whole domain (crypto officer)');
  backup.command('create <file>').description('write an encrypted backup; it restores only where the same unseal shares are known')
    .option('--force', 'overwrite FILE if it exists')
    .action(async (file: string, o) => {
      if (!o.force && fs.existsSync(file)) throw new CliError('EXISTS', `${file} exists; use --force to overwrite it`);
      const blob = await ctx.withLogin((c) => c.binary('GET', '/v1/backup', undefined, progress(ctx.json, 'received')));
      if (!ctx.json && process.stderr.isTTY) process.stderr.write('\n');
      // Written beside and renamed: an existing backup is never left half-overwritten.
      const tmp = `${file}.partial-${process.pid}`;
      try {
        fs.writeFileSync(tmp, blob, { mode: 0o600, flag: 'wx' });
        if (!o.force && fs.existsSync(file)) throw new CliError('EXISTS', `${file} appeared while the backup was taken; it was left alone`);
        fs.renameSync(tmp, file);
      } catch (err) {
        fs.rmSync(tmp, { force: true });
        if (err instanceof CliError) throw err;
        throw new CliError('CANNOT_WRITE', `cannot write ${file}: ${(err as Error).message}`);
      }
      ctx.print(`Backup written to ${file} (${blob.length} bytes).`, { file, bytes: blob.length });
    });
  backup.command('restore <file>')
    .description('restore a backup: at once on an unsealed module of the same domain, or on an uninitialised module after `inkan unseal` with the backup\'s shares')
    .action(async (file: string) => {
      let blob: Buffer;
      try { blob = fs.readFileSync(file); } catch { throw new CliError('NO_FILE', `cannot read ${file}`); }
      const send = (c: ReturnType<Ctx['client']>) => c.binary('POST', '/v1/backup/restore', blob).then((b) => JSON.parse(b.toString()) as { restored: boolean; threshold: number });
      const status = await ctx.client().request<{ state: string }>('GET', '/v1/status');
      const r = status.state === 'uninitialized' ? await send(ctx.client()) : await ctx.withLogin(send);
      ctx.print(r.restored ? 'Restored.' : `Backup accepted; it is applied when ${r.threshold} of its unseal shares are given with \`inkan unseal\`.`, r);
    });

  program.command('zeroize').description('destroy the master key and every key: the module becomes uninitialised (crypto officer; asks twice)')
    .option('--confirm <word>', `type ${WORD} (for scripts)`).option('--confirm-again <word>', `type ${WORD} again`)
    .action(async (o) => {
      const confirm = o.confirm ?? await prompt(`This destroys every key for ever. Type ${WORD} to continue: `);
      const confirmAgain = o.confirmAgain ?? await prompt(`Type ${WORD} again to zeroise now: `);
      if (confirm !== WORD || confirmAgain !== WORD) throw new CliError('CONFIRMATION_REQUIRED', 'not confirmed; nothing was changed');
      await ctx.withLogin((c) => c.request('POST', '/v1/zeroize', { confirm, confirmAgain }));
      ctx.print('Zeroised. The module is uninitialised.', { zeroized: true });
    });
}
