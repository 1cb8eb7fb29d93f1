// CLI verbs that change a key without using it (key enable|disable|rotate|schedule-deletion|
// cancel-deletion|set|tag|alias), read its versions and use counts (key versions|usage), and
// certificate objects (cert import|list|export|delete), over the admin routes of
// api/admin/routes-objects.ts. Only a key's owner may change it (the core decides).
import * as fs from 'node:fs';
import { Command } from 'commander';
import { CliError } from './client';
import { readInput, writeOutput } from './io';
import { encodeBytes, encodingOf, table } from './format';
import type { Ctx } from './context';

type Managed = { id: string; state: string; versions: number; tags: Record<string, string>; aliases: string[]; validity?: { notBefore?: string; notAfter?: string };
  deletion?: { due: string; windowDays: number } };
type Version = { index: number; id: string; created: string; origin: string; rotation?: string; enabled: boolean; uses: string[]; current: boolean; decrypts: boolean };
type Usage = { total: number; counts: Record<string, number>; last?: { op: string; face: string; time: string }; trackedSince: string };
type Cert = { id: string; label: string; ckaId?: string; bytes: number; created: string };
const enc = (ref: string) => encodeURIComponent(ref);

const describe = (k: Managed) => [`key ${k.id}: ${k.state}, ${k.versions} version(s)`,
  `  aliases: ${k.aliases.length ? k.aliases.join(', ') : '-'}`,
  `  tags:    ${Object.keys(k.tags).length ? Object.entries(k.tags).map(([t, v]) => `${t}=${v}`).join(', ') : '-'}`,
  ...(k.validity ? [`  valid:   ${k.validity.notBefore ?? '-'} to ${k.validity.notAfter ?? '-'}`] : []),
  ...(k.deletion ? [`  deleted: ${k.deletion.due} (after ${k.deletion.windowDays} days; key cancel-deletion stops it)`] : [])].join('\n');

export function registerObjectCommands(program: Command, ctx: Ctx): void {
  const key = program.commands.find((c) => c.name() === 'key')!;
  for (const verb of ['enable', 'disable'] as const) {
    key.command(`${verb} <key>`).description(`${verb} a key on every face (the owner)`).action(async (ref: string) => {
      const r = await ctx.withLogin((c) => c.request<{ key: Managed }>('POST', `/v1/keys/${enc(ref)}/${verb}`, {}));
      ctx.print(describe(r.key), r);
    });
  }
  key.command('rotate <key>').description('make a new version of the key: it signs and encrypts from now on, older versions still decrypt and verify')
    .action(async (ref: string) => {
      const r = await ctx.withLogin((c) => c.request<{ key: Managed }>('POST', `/v1/keys/${enc(ref)}/rotate`, {}));
      ctx.print(describe(r.key), r);
    });
  key.command('schedule-deletion <key>').description('refuse every use now and destroy the key after a waiting period (cancel-deletion stops it)')
    .option('--days <n>', 'waiting period, 7 to 30 days', '30')
    .action(async (ref: string, o) => {
      const days = Number(o.days);
      if (!Number.isInteger(days)) throw new CliError('BAD_ARGUMENT', `--days is a whole number of days, not ${o.days}`);
      const r = await ctx.withLogin((c) => c.request<{ key: Managed }>('POST', `/v1/keys/${enc(ref)}/schedule-deletion`, { days }));
      ctx.print(describe(r.key), r);
    });
  key.command('cancel-deletion <key>').description('stop a scheduled deletion; the key stays disabled until you enable it')
    .action(async (ref: string) => {
      const r = await ctx.withLogin((c) => c.request<{ key: Managed }>('POST', `/v1/keys/${enc(ref)}/cancel-deletion`, {}));
      ctx.print(describe(r.key), r);
    });
  key.command('versions <key>').description('the key\'s versions, oldest first (the newest signs and encrypts)')
    .action(async (ref: string) => {
      const r = await ctx.withLogin((c) => c.request<{ versions: Version[] }>('GET', `/v1/keys/${enc(ref)}/versions`));
      ctx.print(table(['#', 'VERSION', 'CREATED', 'ORIGIN', 'ENABLED', 'USES', ''], r.versions.map((v) => [String(v.index + 1), v.id, v.created,
        v.origin + (v.rotation ? ` (${v.rotation})` : ''), v.enabled ? 'yes' : 'no', v.uses.join(','), v.current ? 'current' : v.decrypts ? '' : 'retired'])), r);
    });
  key.command('usage <key>').description('successful uses of the key by operation and its last use, from the audit trail')
    .action(async (ref: string) => {
      const r = await ctx.withLogin((c) => c.request<Usage>('GET', `/v1/keys/${enc(ref)}/usage`));
      ctx.print([`uses:      ${r.total}${Object.keys(r.counts).length ? ` (${Object.entries(r.counts).map(([op, n]) => `${op.replace(/^key\./, '')} ${n}`).join(', ')})` : ''}`,
        `last use:  ${r.last ? `${r.last.op.replace(/^key\./, '')} through ${r.last.face} at ${r.last.time}` : '-'}`,
        `counted since ${r.trackedSince}`].join('\n'), r);
    });
  key.command('set <key>').description('change a key\'s label, usage or validity dates')
    .option('-l, --label <label>', 'new label').option('--usage <list>', 'comma-separated usages (replaces the current ones)')
    .option('--not-before <time>', 'ISO 8601 time before which the key is not used ("none" clears it)')
    .option('--not-after <time>', 'ISO 8601 time after which the key is not used ("none" clears it)')
    .action(async (ref: string, o) => {
      const t = (v: string | undefined) => (v === undefined ? undefined : v === 'none' ? null : v);
      const body = { label: o.label, usage: o.usage ? String(o.usage).split(',') : undefined, notBefore: t(o.notBefore), notAfter: t(o.notAfter) };
      if (Object.values(body).every((v) => v === undefined)) throw new CliError('BAD_ARGUMENT', 'give --label, --usage, --not-before or --not-after');
      const r = await ctx.withLogin((c) => c.request<{ key: { id: string; label: string; usage: string[] } }>('POST', `/v1/keys/${enc(ref)}/attributes`, body));
      ctx.print(`Changed ${r.key.id}: label ${r.key.label || '-'}, usage ${r.key.usage.join(',') || '-'}`, r);
    });
  key.command('tag <key> [tags...]').description('set tags (NAME=VALUE) and remove them (--remove NAME); with none, show them')
    .option('--remove <name>', 'remove this tag (repeatable)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .action(async (ref: string, tags: string[], o) => {
      const set: Record<string, string> = {};
      for (const t of tags) {
        const i = t.indexOf('=');
        if (i < 1) throw new CliError('BAD_ARGUMENT', `tags are NAME=VALUE, not ${t}`);
        set[t.slice(0, i)] = t.slice(i + 1);
      }
      const r = await ctx.withLogin((c) => (tags.length || o.remove.length
        ? c.request<{ key: Managed }>('POST', `/v1/keys/${enc(ref)}/tags`, { set, remove: o.remove })
        : c.request<{ key: Managed }>('GET', `/v1/keys/${enc(ref)}/managed`)));
      ctx.print(describe(r.key), r);
    });
  key.command('alias <key> [alias]').description('give the key an alias (alias/NAME, as KMS lists and resolves it); --delete removes one')
    .option('--delete', 'remove the alias instead')
    .action(async (ref: string, alias: string | undefined, o) => {
      if (alias !== undefined && !alias.startsWith('alias/')) alias = `alias/${alias}`;
      if (o.delete) {
        if (!alias) throw new CliError('BAD_ARGUMENT', 'name the alias to delete');
        const r = await ctx.withLogin((c) => c.request('DELETE', `/v1/aliases/${enc(alias!)}`));
        ctx.print(`Deleted ${alias}.`, r);
        return;
      }
      const r = await ctx.withLogin((c) => (alias
        ? c.request<{ key: Managed }>('POST', `/v1/keys/${enc(ref)}/aliases`, { alias })
        : c.request<{ key: Managed }>('GET', `/v1/keys/${enc(ref)}/managed`)));
      ctx.print(describe(r.key), r);
    });

  const cert = program.command('cert').description('X.509 certificates stored beside their keys (same CKA_ID, for Java KeyStore and NSS)');
  cert.command('import').requiredOption('-i, --in <file>', 'certificate, PEM or DER')
    .option('-k, --key <key>', 'the key it certifies: the certificate takes its CKA_ID and, unless --label, its label')
    .option('-l, --label <label>', 'label of the certificate object')
    .action(async (o) => {
      const der = await readInput(o.in);
      const r = await ctx.withLogin((c) => c.request<{ certificate: Cert }>('POST', '/v1/certificates', { certificate: der.toString('base64'), key: o.key, label: o.label }));
      ctx.print(`Imported certificate ${r.certificate.id} (${r.certificate.label || '-'}, CKA_ID ${r.certificate.ckaId ?? '-'})`, r);
    });
  cert.command('list').action(async () => {
    const r = await ctx.withLogin((c) => c.request<{ certificates: Cert[] }>('GET', '/v1/certificates'));
    const rows = [...r.certificates].sort((a, b) => (a.label || '').localeCompare(b.label || '') || a.id.localeCompare(b.id));
    ctx.print(rows.length ? table(['ID', 'LABEL', 'CKA_ID', 'BYTES', 'CREATED'], rows.map((x) => [x.id, x.label || '-', x.ckaId ?? '-', String(x.bytes), x.created])) : '(no certificates)', { certificates: rows });
  });
  cert.command('export <cert>').option('-o, --out <file>', 'output file (default stdout)')
    .option('--format <f>', 'pem | der', 'pem').option('--encoding <e>', 'for der: raw | hex | base64', 'raw')
    .option('--force', 'overwrite --out if it exists')
    .action(async (ref: string, o) => {
      const e = encodingOf(o.encoding, 'raw');
      if (o.format !== 'pem' && o.format !== 'der') throw new CliError('BAD_ARGUMENT', `--format is pem or der, not ${o.format}`);
      if (o.out && o.out !== '-' && !o.force && fs.existsSync(o.out)) throw new CliError('EXISTS', `${o.out} exists; use --force to overwrite it`);
      const r = await ctx.withLogin((c) => c.request<{ der: string }>('GET', `/v1/certificates/${enc(ref)}`));
      if (ctx.json) { ctx.print('', r); return; }
      const der = Buffer.from(r.der, 'base64');
      writeOutput(o.format === 'pem' ? `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/.{1,64}/g, '$&\n')}-----END CERTIFICATE-----\n` : encodeBytes(der, e), o.out);
    });
  cert.command('delete <cert>').action(async (ref: string) => {
    const r = await ctx.withLogin((c) => c.request('DELETE', `/v1/certificates/${enc(ref)}`));
    ctx.print(`Deleted ${ref}.`, r);
  });
}
