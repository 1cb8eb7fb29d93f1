// CLI commands for the audit log: export (auditor; streamed from the server straight to a file),
// verify (offline, streamed line by line from a file or stdin, keeping only each chain's running
// state; --after proves the log only grew since an earlier export or checkpoint) and the
// checkpoint public key.
import * as fs from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { Command } from 'commander';
import { AUDIT_SCHEME } from '../audit-chain/chain';
import { ExportFormatError, readAnchors, sentence, verifyExport, VerifyReport } from '../audit-chain/verify';
import { CliError } from './client';
import type { Ctx } from './context';

export function registerAuditCommands(program: Command, ctx: Ctx): void {
  const audit = program.command('audit').description('the tamper-evident audit log');
  audit.command('export').description('stream the log, its signed checkpoints and a fresh one signed now (auditor)')
    .option('-o, --out <file>', 'output file, written with mode 0600 (default stdout)')
    .option('--from <seq>', 'start every chain at this record number')
    .option('--since <time>', 'start every chain at its first record at or after this ISO 8601 time')
    .option('--chain <node>', 'export only the chain of this node')
    .option('--force', 'overwrite --out if it exists')
    .action(async (o) => {
      const path = `/v1/audit/export${exportQuery(o)}`;
      const out = o.out && o.out !== '-' ? o.out as string : undefined;
      if (out && !o.force && fs.existsSync(out)) throw new CliError('EXISTS', `${out} exists; use --force to overwrite it`);
      const end = await ctx.withLogin((c) => out ? downloadTo(out, Boolean(o.force), () => c.stream(path)) : toStdout(() => c.stream(path)));
      if (out) process.stderr.write(`${end.records} records and ${end.checkpoints} stored checkpoints of ${end.chains} chain(s) written to ${out}\n`);
    });
  audit.command('public-key').description('print the audit checkpoint public key (PEM)')
    .option('-o, --out <file>', 'output file, written with mode 0600')
    .option('--force', 'overwrite --out if it exists')
    .action(async (o) => {
      const r = await ctx.client().request<{ pem: string }>('GET', '/v1/audit/public-key');
      if (o.out && o.out !== '-') writePrivateFile(o.out, r.pem, Boolean(o.force));
      else process.stdout.write(r.pem);
    });
  audit.command('verify <file>').description('check an export offline, without the HSM (- reads it from stdin, e.g. piped from `inkan audit export`); names the first bad record of each chain and its line')
    .requiredOption('--public-key <pem>', 'the module\'s audit public key (from `inkan audit public-key`, kept apart from the export)')
    .option('--after <earlier>', 'an earlier export, or a checkpoint JSON (the module\'s sidecar): prove the log only grew since')
    .action(async (file: string, o) => {
      const pem = readSmall(o.publicKey);
      try {
        if (o.after === '-') throw new CliError('BAD_ARGUMENT', '--after reads a file; only the export itself may come from stdin (-)');
        const anchors = o.after ? await readAnchors(readStream(o.after)) : undefined;
        const r = await verifyExport(file === '-' ? process.stdin : readStream(file), { publicKey: pem, anchors });
        ctx.print(summary(r, Boolean(anchors)), r);
        if (!r.ok) process.exitCode = 1;
      } catch (err) {
        if (err instanceof ExportFormatError) throw new CliError('BAD_EXPORT', err.message);
        throw err;
      }
    });
}

function exportQuery(o: { from?: string; since?: string; chain?: string }): string {
  const q = new URLSearchParams();
  if (o.from !== undefined) {
    if (!/^[1-9]\d{0,15}$/.test(o.from)) throw new CliError('BAD_ARGUMENT', '--from must be a record number (1 or more)');
    q.set('from', o.from);
  }
  if (o.since !== undefined) {
    if (Number.isNaN(Date.parse(o.since))) throw new CliError('BAD_ARGUMENT', '--since must be an ISO 8601 time, e.g. 2026-01-31T00:00:00Z');
    q.set('since', o.since);
  }
  if (o.from !== undefined && o.since !== undefined) throw new CliError('BAD_ARGUMENT', 'give --from or --since, not both');
  if (o.chain !== undefined) q.set('chain', o.chain);
  const s = q.toString();
  return s ? `?${s}` : '';
}

interface EndCounts { chains: number; records: number; checkpoints: number }

/** Passes chunks through, remembering the last bytes: the end line says the export is whole. */
function endWatcher(): { tap(src: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array>; end(): EndCounts } {
  let tail = Buffer.alloc(0);
  return {
    async *tap(src) {
      for await (const chunk of src) {
        tail = Buffer.concat([tail, chunk]).subarray(-4096);
        yield chunk;
      }
    },
    end() {
      const last = tail.toString('utf8').trimEnd().split('\n').pop() ?? '';
      let e: Record<string, unknown> | undefined;
      try { e = JSON.parse(last) as Record<string, unknown>; } catch { /* reported below */ }
      if (e?.type !== 'end') throw new CliError('INCOMPLETE', 'the export was cut off before its end line');
      return e as unknown as EndCounts;
    },
  };
}

/** Streams into FILE.partial (0600, never an existing file), renamed to FILE once complete. */
async function downloadTo(file: string, force: boolean, open: () => Promise<AsyncIterable<Uint8Array>>): Promise<EndCounts> {
  const partial = `${file}.partial-${process.pid}`;
  const w = endWatcher();
  try {
    const body = await open();
    await pipeline(body, w.tap, fs.createWriteStream(partial, { flags: 'wx', mode: 0o600 }));
    const end = w.end();
    if (!force && fs.existsSync(file)) throw new CliError('EXISTS', `${file} appeared during the export; it was left alone`);
    fs.renameSync(partial, file);
    return end;
  } catch (err) {
    fs.rmSync(partial, { force: true });
    throw cutOff(err);
  }
}

async function toStdout(open: () => Promise<AsyncIterable<Uint8Array>>): Promise<EndCounts> {
  const w = endWatcher();
  try {
    await pipeline(await open(), w.tap, process.stdout, { end: false });
  } catch (err) { throw cutOff(err); }
  return w.end();
}

function cutOff(err: unknown): unknown {
  if (err instanceof CliError) return err;
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'EEXIST' || e.code === 'EACCES' || e.code === 'ENOENT' || e.code === 'ENOSPC') return new CliError('CANNOT_WRITE', `cannot write the export: ${e.message}`);
  return new CliError('INCOMPLETE', `the export was cut off (${e.message}); nothing was kept`);
}

/** Writes a small file with mode 0600, refusing an existing one unless `force`. */
function writePrivateFile(file: string, data: string, force: boolean): void {
  try {
    fs.writeFileSync(file, data, { mode: 0o600, flag: force ? 'w' : 'wx' });
    fs.chmodSync(file, 0o600);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError('EXISTS', `${file} exists; use --force to overwrite it`);
    throw new CliError('CANNOT_WRITE', `cannot write ${file}: ${(err as Error).message}`);
  }
}

function readSmall(file: string): string {
  try { return fs.readFileSync(file, 'utf8'); } catch { throw new CliError('NO_FILE', `cannot read ${file}`); }
}

function readStream(file: string): fs.ReadStream {
  try { fs.accessSync(file, fs.constants.R_OK); } catch { throw new CliError('NO_FILE', `cannot read ${file}`); }
  return fs.createReadStream(file, { highWaterMark: 1 << 16 });
}

function summary(r: VerifyReport, after: boolean): string {
  if (!r.ok) return r.findings.map((f) => `TAMPERED: ${sentence(f)}`).join('\n');
  if (r.scheme !== AUDIT_SCHEME) return `OK: ${r.scheme} export, ${r.records} records, ${r.checkpoints} signed checkpoints, chain intact`;
  const per = r.chains.map((ch) => `  ${ch.chain}: ${ch.records ? `records ${ch.fromSeq}-${ch.lastSeq}` : `no records from ${ch.fromSeq}`}, `
    + `signed at export up to ${ch.final?.seq}${ch.consistentWith !== undefined ? `, consistent with the earlier checkpoint at ${ch.consistentWith}` : ''}`);
  return [`OK: ${r.chains.length} chain(s), ${r.records} records, ${r.checkpoints} stored checkpoints, chain intact${after ? ', and only grown since the earlier checkpoints' : ''}`, ...per].join('\n');
}
