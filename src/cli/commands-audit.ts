// CLI commands for the audit log: export (auditor, from the server) and verify (offline).
import * as fs from 'node:fs';
import { Command } from 'commander';
import { verifyExport, AuditRecord, Checkpoint } from '../core/audit/chain';
import { CliError } from './client';
import { writeOutput } from './io';
import type { Ctx } from './context';

export function registerAuditCommands(program: Command, ctx: Ctx): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit.command('export').description('write the log, its signed checkpoints and the public key (auditor)')
    .option('-o, --out <file>', 'output file (default stdout)')
    .action(async (o) => {
      const r = await ctx.withLogin((c) => c.request<{ records: unknown[] }>('GET', '/v1/audit/export'));
      writeOutput(JSON.stringify(r, null, 1) + '\n', o.out);
      if (o.out) process.stderr.write(`${r.records.length} records written to ${o.out}\n`);
    });
  audit.command('public-key').description('print the audit checkpoint public key (PEM)').option('-o, --out <file>')
    .action(async (o) => {
      const r = await ctx.client().request<{ pem: string }>('GET', '/v1/audit/public-key');
      writeOutput(r.pem, o.out);
    });
  audit.command('verify <file>').description('check an exported log offline, without the HSM; names the first bad record')
    .requiredOption('--public-key <pem>', 'the module\'s audit public key (from `inkan audit public-key`, kept apart from the export)')
    .action(async (file: string, o) => {
      let data: { records?: AuditRecord[]; checkpoints?: Checkpoint[] };
      try { data = JSON.parse(fs.readFileSync(file, 'utf8')); } catch { throw new CliError('BAD_EXPORT', `${file} is not an audit export`); }
      let pem: string;
      try { pem = fs.readFileSync(o.publicKey, 'utf8'); } catch { throw new CliError('NO_FILE', `cannot read ${o.publicKey}`); }
      if (!Array.isArray(data.records) || !Array.isArray(data.checkpoints)) throw new CliError('BAD_EXPORT', `${file} is not an audit export`);
      let r;
      try { r = verifyExport(data.records, data.checkpoints, pem); } catch { throw new CliError('BAD_EXPORT', `${file} or the public key is malformed`); }
      ctx.print(r.ok ? `OK: ${r.records} records, ${r.checkpoints} signed checkpoints, chain intact` : `TAMPERED: ${r.problem}`, r);
      if (!r.ok) process.exitCode = 1;
    });
}
