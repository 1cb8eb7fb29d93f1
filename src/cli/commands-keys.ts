// CLI commands for keys and their use (crypto user): key *, sign, verify, encrypt, decrypt,
// wrap, unwrap, derive, digest, random. Binary inputs come from --in (or stdin), outputs go to --out (or stdout).
import * as fs from 'node:fs';
import { Command } from 'commander';
import { CliError } from './client';
import { readInput, withProgress, writeOutput } from './io';
import type { Ctx } from './context';

type Key = { id: string; label: string; class: string; keyType?: string; size?: number; owner: string; sharedWith: string[]; usage: string[]; extractable?: boolean };
const enc = (ref: string) => encodeURIComponent(ref);
const b64 = (b: Buffer) => b.toString('base64');
const keyLine = (k: Key) => `${k.id}  ${(k.label || '-').padEnd(20)} ${k.class.padEnd(12)} ${`${k.keyType ?? ''}${k.size ? '-' + k.size : ''}`.padEnd(12)} owner=${k.owner}${k.sharedWith.length ? ' shared=' + k.sharedWith.join(',') : ''}`;

function params(o: Record<string, string | undefined>): Record<string, unknown> {
  const p: Record<string, unknown> = {};
  if (o.iv) p.iv = b64(Buffer.from(o.iv, 'hex'));
  if (o.aad) p.aad = b64(Buffer.from(o.aad, 'utf8'));
  if (o.hash) p.hash = o.hash;
  if (o.saltLength) p.saltLength = Number(o.saltLength);
  if (o.label) p.label = b64(Buffer.from(o.label, 'utf8'));
  if (o.peer) p.publicData = b64(fs.readFileSync(o.peer));
  if (o.salt) p.salt = b64(Buffer.from(o.salt, 'hex'));
  if (o.info) p.info = b64(Buffer.from(o.info, 'utf8'));
  return p;
}

const withParams = (c: Command) => c
  .option('-m, --mechanism <name>', 'PKCS#11 mechanism, e.g. SHA256-RSA-PKCS, RSA-PKCS-PSS, ECDSA, AES-GCM (default: usual for the key)')
  .option('--iv <hex>', 'IV / nonce (hex)').option('--aad <text>', 'GCM additional data')
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
    .option('--usage <list>', 'comma-separated: sign,verify,encrypt,decrypt,wrap,unwrap,derive')
    .action(async (o) => {
      const body = { type: o.type, size: o.size ? Number(o.size) : undefined, curve: o.curve, label: o.label, ckaId: o.id,
        extractable: o.extractable ?? undefined, sensitive: o.sensitive === false ? false : undefined,
        usage: o.usage ? String(o.usage).split(',') : undefined };
      const r = await ctx.withLogin((c) => withProgress(`generating ${o.type} key`, c.request<{ key: Key; publicKey?: Key }>('POST', '/v1/keys', body), ctx.json));
      ctx.print(`Generated ${keyLine(r.key)}${r.publicKey ? `\n          ${keyLine(r.publicKey)}` : ''}`, r);
    });
  key.command('list').action(async () => {
    const r = await ctx.withLogin((c) => c.request<{ keys: Key[] }>('GET', '/v1/keys'));
    ctx.print(r.keys.length ? r.keys.map(keyLine).join('\n') : '(no keys)', r);
  });
  key.command('show <key>').action(async (ref: string) => {
    const r = await ctx.withLogin((c) => c.request<{ key: Key }>('GET', `/v1/keys/${enc(ref)}`));
    ctx.print(Object.entries(r.key).map(([k, v]) => `${k.padEnd(12)} ${Array.isArray(v) ? v.join(',') : v ?? ''}`).join('\n'), r);
  });
  key.command('delete <key>').action(async (ref: string) => {
    const r = await ctx.withLogin((c) => c.request('DELETE', `/v1/keys/${enc(ref)}`));
    ctx.print(`Deleted ${ref}.`, r);
  });
  for (const [name, verb] of [['share', 'Shared'], ['unshare', 'Unshared']] as const) {
    key.command(`${name} <key> <user>`).action(async (ref: string, user: string) => {
      const r = await ctx.withLogin((c) => c.request('POST', `/v1/keys/${enc(ref)}/${name}`, { user }));
      ctx.print(`${verb} ${ref} ${name === 'share' ? 'with' : 'from'} ${user}.`, r);
    });
  }
  key.command('export-public <key>').option('-o, --out <file>', 'PEM file (default stdout)').action(async (ref: string, o) => {
    const r = await ctx.withLogin((c) => c.request<{ pem: string }>('GET', `/v1/keys/${enc(ref)}/public`));
    if (ctx.json) ctx.print('', r); else writeOutput(r.pem, o.out);
  });
  key.command('export <key>').description('plaintext export of an extractable, non-sensitive key (raw or PKCS#8 DER)')
    .option('-o, --out <file>', 'output file (default stdout)').action(async (ref: string, o) => {
      const r = await ctx.withLogin((c) => c.request<{ format: string; material: string }>('POST', `/v1/keys/${enc(ref)}/export`, {}));
      if (ctx.json) ctx.print('', r); else writeOutput(Buffer.from(r.material, 'base64'), o.out);
    });
  key.command('import').description('import a PEM/DER private or public key, or raw AES/HMAC key bytes')
    .requiredOption('-i, --in <file>', 'key file').option('-f, --format <f>', 'key (PEM/DER) | aes | secret', 'key')
    .option('-l, --label <label>').option('--id <hex>').option('--extractable').option('--no-sensitive')
    .action(async (o) => {
      const body = { format: o.format, material: b64(await readInput(o.in)), label: o.label, ckaId: o.id,
        extractable: o.extractable ?? undefined, sensitive: o.sensitive === false ? false : undefined };
      const r = await ctx.withLogin((c) => c.request<{ key: Key }>('POST', '/v1/keys/import', body));
      ctx.print(`Imported ${keyLine(r.key)}`, r);
    });

  withParams(program.command('sign <key>').description('sign data (ECDSA signatures in DER unless --encoding raw)'))
    .option('-i, --in <file>', 'data (default stdin)').option('-o, --out <file>', 'signature (default stdout)')
    .option('--encoding <e>', 'ECDSA output: der | raw (PKCS#11 r‖s)', 'der')
    .action(async (ref: string, o) => {
      const data = await readInput(o.in);
      const r = await ctx.withLogin((c) => c.request<{ signature: string }>('POST', `/v1/keys/${enc(ref)}/sign`,
        { data: b64(data), mechanism: o.mechanism, params: params(o), encoding: o.encoding }));
      if (ctx.json) ctx.print('', r); else writeOutput(Buffer.from(r.signature, 'base64'), o.out);
    });
  withParams(program.command('verify <key>').description('verify a signature; exit status 1 if it does not verify'))
    .option('-i, --in <file>', 'data (default stdin)').requiredOption('--signature <file>', 'signature file')
    .option('--encoding <e>', 'ECDSA input: der | raw', 'der')
    .action(async (ref: string, o) => {
      const data = await readInput(o.in);
      const r = await ctx.withLogin((c) => c.request<{ valid: boolean }>('POST', `/v1/keys/${enc(ref)}/verify`,
        { data: b64(data), signature: b64(fs.readFileSync(o.signature)), mechanism: o.mechanism, params: params(o), encoding: o.encoding }));
      ctx.print(r.valid ? 'Signature OK' : 'Signature INVALID', r);
      if (!r.valid) process.exitCode = 1;
    });
  withParams(program.command('encrypt <key>').description('encrypt data; the IV used is printed on stderr (or in --json)'))
    .option('-i, --in <file>', 'plaintext (default stdin)').option('-o, --out <file>', 'ciphertext (default stdout)')
    .action(async (ref: string, o) => {
      const data = await readInput(o.in);
      const r = await ctx.withLogin((c) => c.request<{ ciphertext: string; iv?: string }>('POST', `/v1/keys/${enc(ref)}/encrypt`,
        { data: b64(data), mechanism: o.mechanism, params: params(o) }));
      if (ctx.json) { ctx.print('', r); return; }
      writeOutput(Buffer.from(r.ciphertext, 'base64'), o.out);
      if (r.iv) process.stderr.write(`iv: ${Buffer.from(r.iv, 'base64').toString('hex')}\n`);
    });
  withParams(program.command('decrypt <key>').description('decrypt data'))
    .option('-i, --in <file>', 'ciphertext (default stdin)').option('-o, --out <file>', 'plaintext (default stdout)')
    .action(async (ref: string, o) => {
      const data = await readInput(o.in);
      const r = await ctx.withLogin((c) => c.request<{ plaintext: string }>('POST', `/v1/keys/${enc(ref)}/decrypt`,
        { data: b64(data), mechanism: o.mechanism, params: params(o) }));
      if (ctx.json) ctx.print('', r); else writeOutput(Buffer.from(r.plaintext, 'base64'), o.out);
    });
  withParams(program.command('wrap <wrapping-key> <key>').description('wrap (encrypt) an extractable key under another key'))
    .option('-o, --out <file>', 'wrapped key (default stdout)')
    .action(async (wrapping: string, target: string, o) => {
      const r = await ctx.withLogin((c) => c.request<{ wrapped: string; iv?: string }>('POST', `/v1/keys/${enc(wrapping)}/wrap`,
        { key: target, mechanism: o.mechanism, params: params(o) }));
      if (ctx.json) { ctx.print('', r); return; }
      writeOutput(Buffer.from(r.wrapped, 'base64'), o.out);
      if (r.iv) process.stderr.write(`iv: ${Buffer.from(r.iv, 'base64').toString('hex')}\n`);
    });
  withParams(program.command('unwrap <unwrapping-key>').description('unwrap a key into the module'))
    .requiredOption('-i, --in <file>', 'wrapped key').option('-t, --type <type>', 'aes | hmac | private', 'aes')
    .option('-l, --key-label <label>', 'label of the new key').option('--extractable')
    .action(async (ref: string, o) => {
      const wrapped = await readInput(o.in);
      const r = await ctx.withLogin((c) => c.request<{ key: Key }>('POST', `/v1/keys/${enc(ref)}/unwrap`,
        { wrapped: b64(wrapped), type: o.type, label: o.keyLabel, extractable: o.extractable ?? undefined, mechanism: o.mechanism, params: params(o) }));
      ctx.print(`Unwrapped ${keyLine(r.key)}`, r);
    });
  program.command('digest').option('-m, --mechanism <name>', 'SHA-1 | SHA224 | SHA256 | SHA384 | SHA512', 'SHA256')
    .option('-i, --in <file>', 'data (default stdin)').action(async (o) => {
      const data = await readInput(o.in);
      const r = await ctx.withLogin((c) => c.request<{ digest: string }>('POST', '/v1/digest', { data: b64(data), mechanism: o.mechanism }));
      ctx.print(Buffer.from(r.digest, 'base64').toString('hex'), r);
    });
  program.command('random <bytes>').description('random bytes from the module').option('--hex', 'print as hex')
    .option('-o, --out <file>', 'output file (default stdout)').action(async (n: string, o) => {
      const count = Number(n);
      if (!Number.isSafeInteger(count) || count < 0) throw new CliError('BAD_ARGUMENT', 'bytes must be a non-negative integer');
      const r = await ctx.withLogin((c) => c.request<{ random: string }>('POST', '/v1/random', { bytes: count }));
      const bytes = Buffer.from(r.random, 'base64');
      if (ctx.json) ctx.print('', r); else if (o.hex) ctx.print(bytes.toString('hex'), r); else writeOutput(bytes, o.out);
    });
}
