// CLI commands for keys and their use (crypto user): key *, sign, verify, encrypt, decrypt,
// wrap, unwrap, derive, digest, random. Binary inputs come from --in (or stdin), outputs go to --out (or stdout).
import * as fs from 'node:fs';
import { Command } from 'commander';
import { type AdminClient, CliError } from './client';
import { readInput, withProgress, writeOutput } from './io';
import { argBytes, decodeBytes, encodeBytes, encodingOf, globRegExp, table, tableLine } from './format';
import type { Ctx } from './context';

type Key = { id: string; label: string; class: string; keyType?: string; size?: number; owner: string; sharedWith: string[]; usage: string[]; extractable?: boolean; ckaId?: string; state?: string };
const enc = (ref: string) => encodeURIComponent(ref);
const b64 = (b: Buffer) => b.toString('base64');

/** The key types `key generate` makes. Without --usage the CLI sends none: the API's defaults by
 *  type apply (src/api/admin/key-spec.ts DEFAULT_USAGE, the one definition). */
const KEY_TYPES: readonly string[] = ['rsa', 'ec', 'ed25519', 'aes', 'hmac'];

const CLASS_ALIASES: Readonly<Record<string, string>> = {
  private: 'private-key', public: 'public-key', secret: 'secret-key', cert: 'certificate',
};

const typeSize = (k: Key) => `${k.keyType ?? '-'}${k.size ? '-' + k.size : ''}`;

const KEY_HEADER = ['ID', 'LABEL', 'CLASS', 'TYPE', 'USAGE', 'STATE', 'OWNER'];
const keyRow = (k: Key) => [k.id, k.label || '-', k.class, typeSize(k), k.usage.length ? k.usage.join(',') : '-', k.state ?? 'enabled',
  k.owner + (k.sharedWith.length ? ` (shared: ${k.sharedWith.join(',')})` : '')];

/** The key list as a table: sorted by label, then class, then id, so the order is stable. */
function keyTable(keys: Key[]): string {
  return table(KEY_HEADER, keys.map(keyRow));
}

type KeyPage = { keys: Key[]; next?: string };
const nextPage = (c: AdminClient, next: string) => c.request<KeyPage>('GET', `/v1/keys?next=${encodeURIComponent(next)}`);

/** `inkan key list`: a list that fits in one page of the API (1,000 keys) prints as one table sorted
 *  by label; a longer one is fetched page by page and printed as it arrives, in the server's order
 *  (memory stays one page on both sides). Structured output gathers every page into one document. */
async function listKeys(ctx: Ctx, c: AdminClient, o: { type?: string; label?: string; owner?: string; class?: string }): Promise<void> {
  const first = await c.request<KeyPage>('GET', '/v1/keys');
  if (!first.next || ctx.json) {
    const all = [...first.keys];
    for (let next = first.next; next;) { const p = await nextPage(c, next); all.push(...p.keys); next = p.next; }
    const keys = sortKeys(filterKeys(all, o));
    ctx.print(keys.length ? keyTable(keys) : '(no keys)', { keys });
    return;
  }
  let line: ((cells: string[]) => string) | undefined;
  let shown = 0;
  for (let page: KeyPage | undefined = first; page; page = page.next ? await nextPage(c, page.next) : undefined) {
    const rows = filterKeys(page.keys, o).map(keyRow);
    if (!rows.length) continue;
    if (!line) { line = tableLine(KEY_HEADER, rows); process.stdout.write(line(KEY_HEADER) + '\n'); }
    process.stdout.write(rows.map(line).join('\n') + '\n');
    shown += rows.length;
  }
  if (!shown) process.stdout.write('(no keys)\n');
}

export function sortKeys(keys: Key[]): Key[] {
  return [...keys].sort((a, b) => (a.label || '').localeCompare(b.label || '') || a.class.localeCompare(b.class) || a.id.localeCompare(b.id));
}

function filterKeys(keys: Key[], o: { type?: string; label?: string; owner?: string; class?: string }): Key[] {
  const label = o.label !== undefined ? globRegExp(o.label) : undefined;
  const cls = o.class !== undefined ? CLASS_ALIASES[o.class] ?? o.class : undefined;
  const type = o.type?.toLowerCase() === 'hmac' ? 'generic-secret' : o.type?.toLowerCase();
  return keys.filter((k) => (!type || k.keyType === type) && (!label || label.test(k.label ?? ''))
    && (!o.owner || k.owner === o.owner) && (!cls || k.class === cls));
}

function params(o: Record<string, string | undefined>): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  const e = encodingOf(o.encoding === 'der' ? undefined : o.encoding, 'raw');
  if (o.iv) p.iv = b64(argBytes(o.iv, e, '--iv'));
  if (o.aad) p.aad = b64(Buffer.from(o.aad, 'utf8'));
  if (o.hash) p.hash = o.hash;
  if (o.saltLength) p.saltLength = Number(o.saltLength);
  if (o.label) p.label = b64(Buffer.from(o.label, 'utf8'));
  if (o.peer) p.publicData = b64(fs.readFileSync(o.peer));
  if (o.salt) p.salt = b64(argBytes(o.salt, e, '--salt'));
  if (o.info) p.info = b64(Buffer.from(o.info, 'utf8'));
  return p;
}

type KeyLimits = { maxUses?: number; uses?: number; usePeriod?: { notBefore?: string; notAfter?: string };
  processPeriod?: { notBefore?: string; notAfter?: string }; alwaysAuthenticate: boolean; keyPin: boolean };

/** `inkan key show`'s line for a key's limits: "3/10 uses, use 2026-…→2027-…, key PIN". */
function describeLimits(l: KeyLimits | undefined): string {
  if (!l) return '-';
  const period = (name: string, p?: { notBefore?: string; notAfter?: string }) => (p ? `${name} ${p.notBefore ?? '…'} → ${p.notAfter ?? '…'}` : undefined);
  const parts = [l.maxUses ? `${l.uses ?? 0}/${l.maxUses} uses` : undefined, period('use', l.usePeriod), period('process', l.processPeriod),
    l.keyPin ? 'key PIN on every use' : l.alwaysAuthenticate ? 'password on every use' : undefined].filter(Boolean);
  return parts.length ? parts.join(', ') : 'none';
}

/** The body fields of --max-uses, the periods and --key-pin (admin API key-limits-spec.ts). */
function limitsBody(o: Record<string, string | undefined>): Record<string, unknown> {
  const limits: Record<string, unknown> = {};
  if (o.maxUses !== undefined) {
    const n = Number(o.maxUses);
    if (!Number.isSafeInteger(n) || n < 1) throw new CliError('BAD_ARGUMENT', '--max-uses is a positive integer');
    limits.maxUses = n;
  }
  for (const [opt, field] of [['useFrom', 'useNotBefore'], ['useUntil', 'useNotAfter'], ['processFrom', 'processNotBefore'], ['processUntil', 'processNotAfter']]) {
    if (o[opt] === undefined) continue;
    if (Number.isNaN(Date.parse(o[opt]!))) throw new CliError('BAD_ARGUMENT', `not a time: ${o[opt]}`);
    limits[field] = o[opt];
  }
  const keyPin = o.keyPin ?? process.env.INKAN_NEW_KEY_PIN;
  return { limits: Object.keys(limits).length ? limits : undefined, keyPin: keyPin || undefined };
}

/** The header that carries a key's own PIN (never the body, never a log). */
function pinHeader(o: Record<string, string | undefined>): Record<string, string> {
  const pin = o.keyPin ?? process.env.INKAN_KEY_PIN;
  return pin ? { 'x-inkan-key-pin': pin } : {};
}

/** The ECDSA signature format on the wire: DER (openssl, KMS) or PKCS#11's r‖s. */
function sigFormat(f: string | undefined): 'der' | 'raw' {
  if (f === undefined || f === 'der') return 'der';
  if (f === 'p11' || f === 'raw') return 'raw';
  throw new CliError('BAD_ARGUMENT', `--sig-format is der or p11 (r‖s), not ${f}`);
}

const withParams = (c: Command) => c
  .option('--key-pin <pin>', 'the key\'s own PIN, for a key that needs one on every use (default: $INKAN_KEY_PIN)')
  .option('-m, --mechanism <name>', 'PKCS#11 mechanism, e.g. SHA256-RSA-PKCS, RSA-PKCS-PSS, ECDSA, AES-GCM (default: usual for the key)')
  .option('--iv <bytes>', 'IV / nonce (hex, or base64 with --encoding base64)').option('--aad <text>', 'GCM additional data')
  .option('--hash <name>', 'PSS/OAEP/HKDF hash: sha1, sha256, sha384, sha512').option('--salt-length <n>', 'PSS salt length')
  .option('--label <text>', 'OAEP label');

export function registerKeyCommands(program: Command, ctx: Ctx): void {
  const key = program.command('key').description('manage keys (crypto user)');
  key.command('generate')
    .requiredOption('-t, --type <type>', 'rsa | ec | ed25519 | aes | hmac')
    .option('-s, --size <n>', 'rsa: 2048|3072|4096 bits; aes: 128|192|256 bits; hmac: bytes')
    .option('-c, --curve <curve>', 'ec: P-256 | P-384 | P-521 | secp256k1', 'P-256')
    .option('-l, --label <label>', 'label (keys are named by label or id)')
    .option('--id <hex>', 'CKA_ID (hex)')
    .option('--extractable', 'allow wrapping the key out (and plaintext export if also --no-sensitive)')
    .option('--no-sensitive', 'allow plaintext export of an extractable key')
    .option('--usage <list>', 'comma-separated: sign,verify,encrypt,decrypt,wrap,unwrap,derive (default by type: rsa/ec/ed25519 sign '
      + '(public half: verify), aes encrypt,decrypt,wrap,unwrap, hmac sign,verify)')
    .option('--allow-duplicate-label', 'allow a label you already use for a key of this class')
    .option('--max-uses <n>', 'the key refuses every use after n (a counter kept exact across clients and nodes)')
    .option('--use-from <time>', 'no sign/encrypt/wrap/derive before this time (ISO 8601)')
    .option('--use-until <time>', 'no sign/encrypt/wrap/derive from this time on (ISO 8601)')
    .option('--process-from <time>', 'no decrypt/verify/unwrap before this time (ISO 8601)')
    .option('--process-until <time>', 'no decrypt/verify/unwrap from this time on (ISO 8601)')
    .option('--key-pin <pin>', 'the key\'s own PIN: every use then needs it (default: $INKAN_NEW_KEY_PIN if set)')
    .action(async (o) => {
      const type = String(o.type).toLowerCase();
      if (!KEY_TYPES.includes(type)) throw new CliError('BAD_ARGUMENT', `--type is rsa, ec, ed25519, aes or hmac, not ${o.type}`);
      // For a pair the API applies each usage to the half it fits: sign to the private key, verify to the public one.
      const usage = o.usage ? String(o.usage).split(',') : undefined;
      const body = { type, size: o.size ? Number(o.size) : undefined, curve: o.curve, label: o.label, ckaId: o.id,
        extractable: o.extractable ?? undefined, sensitive: o.sensitive === false ? false : undefined,
        usage, allowDuplicateLabel: o.allowDuplicateLabel ? true : undefined, ...limitsBody(o) };
      const r = await ctx.withLogin((c) => withProgress(`generating ${type} key`, c.request<{ key: Key; publicKey?: Key }>('POST', '/v1/keys', body), ctx.json));
      ctx.print(`Generated:\n${keyTable([r.key, ...(r.publicKey ? [r.publicKey] : [])])}`, r);
    });
  key.command('list').description('your keys and those shared with you, as a table sorted by label')
    .option('--type <type>', 'only this key type: rsa | ec | ed25519 | aes | hmac')
    .option('--label <glob>', 'only labels matching this glob, e.g. "web-*"')
    .option('--owner <user>', 'only keys this user owns')
    .option('--class <class>', 'only this class: private | public | secret | certificate')
    .action(async (o) => {
      await ctx.withLogin((c) => listKeys(ctx, c, o));
    });
  key.command('show <key>').action(async (ref: string) => {
    const r = await ctx.withLogin((c) => c.request<{ key: Key }>('GET', `/v1/keys/${enc(ref)}`));
    ctx.print(Object.entries(r.key).map(([k, v]) => `${k.padEnd(12)} ${k === 'limits' ? describeLimits(v as unknown as KeyLimits) : Array.isArray(v) ? v.join(',') : v ?? ''}`).join('\n'), r);
  });
  key.command('delete <key>').action(async (ref: string) => {
    const r = await ctx.withLogin((c) => c.request('DELETE', `/v1/keys/${enc(ref)}`));
    ctx.print(`Deleted ${ref}.`, r);
  });
  key.command('share <key> <user>').description('let a crypto user use the key (for some operations, and an encryption context, only)')
    .option('--ops <list>', 'only these operations: sign,verify,encrypt,decrypt,wrap,unwrap,derive')
    .option('--context <k=v>', 'encrypt/decrypt only with this encryption context pair (repeatable)', (v: string, all: string[] = []) => [...all, v])
    .action(async (ref: string, user: string, o) => {
      const context = o.context ? Object.fromEntries((o.context as string[]).map((kv) => {
        const i = kv.indexOf('=');
        if (i <= 0) throw new CliError('BAD_ARGUMENT', `--context is k=v, not ${kv}`);
        return [kv.slice(0, i), kv.slice(i + 1)];
      })) : undefined;
      const r = await ctx.withLogin((c) => c.request('POST', `/v1/keys/${enc(ref)}/share`, { user, ops: o.ops ? String(o.ops).split(',') : undefined, context }));
      ctx.print(`Shared ${ref} with ${user}${o.ops ? ` for ${o.ops}` : ''}${context ? ' (with an encryption context)' : ''}.`, r);
    });
  key.command('unshare <key> <user>').action(async (ref: string, user: string) => {
    const r = await ctx.withLogin((c) => c.request('POST', `/v1/keys/${enc(ref)}/unshare`, { user }));
    ctx.print(`Unshared ${ref} from ${user}.`, r);
  });
  key.command('set-pin <key>').description('set or change the key\'s own PIN (owner; asks for the current one if the key has one)')
    .option('--current-pin <pin>', 'the current key PIN (default: $INKAN_KEY_PIN)').option('--new-pin <pin>', 'the new key PIN (default: $INKAN_NEW_KEY_PIN)')
    .action(async (ref: string, o) => {
      const newPin = o.newPin ?? process.env.INKAN_NEW_KEY_PIN;
      if (!newPin) throw new CliError('BAD_ARGUMENT', 'give --new-pin or INKAN_NEW_KEY_PIN');
      const r = await ctx.withLogin((c) => c.request('POST', `/v1/keys/${enc(ref)}/pin`, { currentPin: o.currentPin ?? process.env.INKAN_KEY_PIN, newPin }));
      ctx.print(`Set the key PIN of ${ref}.`, r);
    });
  key.command('export-public <key>').option('-o, --out <file>', 'PEM file (default stdout)').action(async (ref: string, o) => {
    const r = await ctx.withLogin((c) => c.request<{ pem: string }>('GET', `/v1/keys/${enc(ref)}/public`));
    if (ctx.json) ctx.print('', r); else writeOutput(r.pem, o.out);
  });
  key.command('export <key>').description('plaintext export of an extractable, non-sensitive key (raw or PKCS#8 DER)')
    .option('-o, --out <file>', 'output file (default stdout)').option('--encoding <e>', 'raw | hex | base64', 'raw').action(async (ref: string, o) => {
      const e = encodingOf(o.encoding, 'raw');
      const r = await ctx.withLogin((c) => c.request<{ format: string; material: string }>('POST', `/v1/keys/${enc(ref)}/export`, {}));
      if (ctx.json) ctx.print('', r); else writeOutput(encodeBytes(Buffer.from(r.material, 'base64'), e), o.out);
    });
  key.command('import').description('import a PEM/DER private or public key, or raw AES/HMAC key bytes')
    .requiredOption('-i, --in <file>', 'key file').option('-f, --format <f>', 'key (PEM/DER) | aes | secret', 'key')
    .option('-l, --label <label>').option('--id <hex>').option('--extractable').option('--no-sensitive')
    .option('--allow-duplicate-label', 'allow a label you already use for a key of this class')
    .option('--encoding <e>', 'how the file is written: raw (PEM/DER/bytes) | hex | base64', 'raw')
    .action(async (o) => {
      const material = decodeBytes(await readInput(o.in), encodingOf(o.encoding, 'raw'), o.in);
      const body = { format: o.format, material: b64(material), label: o.label, ckaId: o.id,
        extractable: o.extractable ?? undefined, sensitive: o.sensitive === false ? false : undefined, allowDuplicateLabel: o.allowDuplicateLabel ? true : undefined };
      const r = await ctx.withLogin((c) => c.request<{ key: Key }>('POST', '/v1/keys/import', body));
      ctx.print(`Imported:\n${keyTable([r.key])}`, r);
    });

  withParams(program.command('sign <key>').description('sign data (ECDSA signatures in DER unless --encoding raw)'))
    .option('-i, --in <file>', 'data (default stdin)').option('-o, --out <file>', 'signature (default stdout)')
    .option('--sig-format <f>', 'ECDSA signatures: der (what openssl uses) | p11 (PKCS#11 r‖s)', 'der')
    .option('--encoding <e>', 'how the signature is written: raw | hex | base64', 'raw')
    .action(async (ref: string, o) => {
      const e = encodingOf(o.encoding === 'der' ? 'raw' : o.encoding, 'raw');
      const data = await readInput(o.in);
      const r = await ctx.withLogin((c) => c.request<{ signature: string }>('POST', `/v1/keys/${enc(ref)}/sign`,
        { data: b64(data), mechanism: o.mechanism, params: params(o), encoding: sigFormat(o.sigFormat) }, pinHeader(o)));
      if (ctx.json) ctx.print('', r); else writeOutput(encodeBytes(Buffer.from(r.signature, 'base64'), e), o.out);
    });
  withParams(program.command('verify <key>').description('verify a signature; exit status 1 if it does not verify'))
    .option('-i, --in <file>', 'data (default stdin)').requiredOption('--signature <file>', 'signature file')
    .option('--sig-format <f>', 'ECDSA signatures: der | p11 (r‖s)', 'der')
    .option('--encoding <e>', 'how the signature file is written: raw | hex | base64', 'raw')
    .action(async (ref: string, o) => {
      const e = encodingOf(o.encoding === 'der' ? 'raw' : o.encoding, 'raw');
      const data = await readInput(o.in);
      let sig: Buffer;
      try { sig = fs.readFileSync(o.signature); } catch { throw new CliError('NO_FILE', `cannot read ${o.signature}`); }
      const r = await ctx.withLogin((c) => c.request<{ valid: boolean }>('POST', `/v1/keys/${enc(ref)}/verify`,
        { data: b64(data), signature: b64(decodeBytes(sig, e, o.signature)), mechanism: o.mechanism, params: params(o), encoding: sigFormat(o.sigFormat) }, pinHeader(o)));
      ctx.print(r.valid ? 'Signature OK' : 'Signature INVALID', r);
      if (!r.valid) process.exitCode = 1;
    });
  withParams(program.command('encrypt <key>').description('encrypt data; the IV used is printed on stderr (or in --json)'))
    .option('-i, --in <file>', 'plaintext (default stdin)').option('-o, --out <file>', 'ciphertext (default stdout)')
    .option('--encoding <e>', 'how the ciphertext is written and the IV printed: raw | hex | base64 (raw: IV in hex)', 'raw')
    .action(async (ref: string, o) => {
      const e = encodingOf(o.encoding, 'raw');
      const data = await readInput(o.in);
      const r = await ctx.withLogin((c) => c.request<{ ciphertext: string; iv?: string }>('POST', `/v1/keys/${enc(ref)}/encrypt`,
        { data: b64(data), mechanism: o.mechanism, params: params(o) }, pinHeader(o)));
      if (ctx.json) { ctx.print('', r); return; }
      writeOutput(encodeBytes(Buffer.from(r.ciphertext, 'base64'), e), o.out);
      if (r.iv) process.stderr.write(`iv: ${Buffer.from(r.iv, 'base64').toString(e === 'base64' ? 'base64' : 'hex')}\n`);
    });
  withParams(program.command('decrypt <key>').description('decrypt data'))
    .option('-i, --in <file>', 'ciphertext (default stdin)').option('-o, --out <file>', 'plaintext (default stdout)')
    .option('--encoding <e>', 'how the ciphertext is written, and --iv: raw | hex | base64 (raw: --iv in hex)', 'raw')
    .action(async (ref: string, o) => {
      const data = decodeBytes(await readInput(o.in), encodingOf(o.encoding, 'raw'), o.in ?? 'stdin');
      const r = await ctx.withLogin((c) => c.request<{ plaintext: string }>('POST', `/v1/keys/${enc(ref)}/decrypt`,
        { data: b64(data), mechanism: o.mechanism, params: params(o) }, pinHeader(o)));
      if (ctx.json) ctx.print('', r); else writeOutput(Buffer.from(r.plaintext, 'base64'), o.out);
    });
  withParams(program.command('wrap <wrapping-key> <key>').description('wrap (encrypt) an extractable key under another key'))
    .option('-o, --out <file>', 'wrapped key (default stdout)')
    .option('--encoding <e>', 'how the wrapped key is written: raw | hex | base64', 'raw')
    .action(async (wrapping: string, target: string, o) => {
      const e = encodingOf(o.encoding, 'raw');
      const r = await ctx.withLogin((c) => c.request<{ wrapped: string; iv?: string }>('POST', `/v1/keys/${enc(wrapping)}/wrap`,
        { key: target, mechanism: o.mechanism, params: params(o) }, pinHeader(o)));
      if (ctx.json) { ctx.print('', r); return; }
      writeOutput(encodeBytes(Buffer.from(r.wrapped, 'base64'), e), o.out);
      if (r.iv) process.stderr.write(`iv: ${Buffer.from(r.iv, 'base64').toString(e === 'base64' ? 'base64' : 'hex')}\n`);
    });
  withParams(program.command('unwrap <unwrapping-key>').description('unwrap a key into the module'))
    .requiredOption('-i, --in <file>', 'wrapped key').option('-t, --type <type>', 'aes | hmac | private', 'aes')
    .option('-l, --key-label <label>', 'label of the new key').option('--extractable')
    .option('--encoding <e>', 'how the wrapped key file is written: raw | hex | base64', 'raw')
    .action(async (ref: string, o) => {
      const wrapped = decodeBytes(await readInput(o.in), encodingOf(o.encoding, 'raw'), o.in);
      const r = await ctx.withLogin((c) => c.request<{ key: Key }>('POST', `/v1/keys/${enc(ref)}/unwrap`,
        { wrapped: b64(wrapped), type: o.type, label: o.keyLabel, extractable: o.extractable ?? undefined, mechanism: o.mechanism, params: params(o) }, pinHeader(o)));
      ctx.print(`Unwrapped:\n${keyTable([r.key])}`, r);
    });
  program.command('digest').option('-m, --mechanism <name>', 'SHA-1 | SHA224 | SHA256 | SHA384 | SHA512', 'SHA256')
    .option('-i, --in <file>', 'data (default stdin)').option('-o, --out <file>', 'output file (default stdout)')
    .option('--encoding <e>', 'hex | base64 | raw', 'hex').action(async (o) => {
      const e = encodingOf(o.encoding, 'hex');
      const data = await readInput(o.in);
      const r = await ctx.withLogin((c) => c.request<{ digest: string }>('POST', '/v1/digest', { data: b64(data), mechanism: o.mechanism }));
      if (ctx.json) ctx.print('', r); else writeOutput(encodeBytes(Buffer.from(r.digest, 'base64'), e), o.out);
    });
  program.command('random <bytes>').description('random bytes from the module').option('--hex', 'the same as --encoding hex')
    .option('--encoding <e>', 'raw | hex | base64', 'raw')
    .option('-o, --out <file>', 'output file (default stdout)').action(async (n: string, o) => {
      const e = o.hex ? 'hex' : encodingOf(o.encoding, 'raw');
      const count = Number(n);
      if (!Number.isSafeInteger(count) || count < 0) throw new CliError('BAD_ARGUMENT', 'bytes must be a non-negative integer');
      const r = await ctx.withLogin((c) => c.request<{ random: string }>('POST', '/v1/random', { bytes: count }));
      const bytes = Buffer.from(r.random, 'base64');
      if (ctx.json) ctx.print('', r); else writeOutput(encodeBytes(bytes, e), o.out);
    });
}
