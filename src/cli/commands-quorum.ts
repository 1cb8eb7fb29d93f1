// `inkan quorum …`, `inkan user keygen | register-key`, `inkan key quorum | activate` and
// `inkan officer recover`: M-of-N approvals (docs/operators.md). An approver's private key stays
// on its machine: `quorum approve` fetches the token, shows everything it binds, checks that the
// canonical bytes the server sent are those of what it shows (quorum-token/token.ts), signs them
// locally and sends only the signature.
import * as fs from 'node:fs';
import { Command } from 'commander';
import { canonicalBytes, describeToken, generateSigningKey, publicSigningKey, signToken, type TokenBody } from '../quorum-token/token';
import { CliError } from './client';
import type { Ctx } from './context';
import { newPassword, prompt } from './io';

interface TokenView {
  body: TokenBody; canonical: string; count: number; required: number; state: string;
  approvals: { username: string; fingerprint: string; at: string }[];
}

function describe(t: TokenView): string {
  return [
    ...describeToken(t.body),
    `state      ${t.state}, ${t.count} of ${t.required} approvals`,
    ...t.approvals.map((a) => `approved   by ${a.username} at ${a.at} (key ${a.fingerprint.slice(0, 16)})`),
    `canonical  ${t.canonical}`,
  ].join('\n');
}

/** `name=value` words into an object (values stay strings: the module parses them by the operation's table). */
function parseArgs(words: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const w of words) {
    const i = w.indexOf('=');
    if (i <= 0) throw new CliError('BAD_ARGUMENT', `token arguments are name=value, not ${w.slice(0, 40)}`);
    out[w.slice(0, i)] = w.slice(i + 1);
  }
  return out;
}

export function registerQuorumCommands(program: Command, ctx: Ctx): void {
  const quorum = program.command('quorum').description('M-of-N approvals: quorum values, tokens, approvals (docs/operators.md)');
  quorum.command('show [token]').description('the partition\'s quorum values, or one token in full').action(async (token?: string) => {
    if (token) {
      const t = await ctx.withLogin((c) => c.request<TokenView>('GET', `/v1/quorum/tokens/${encodeURIComponent(token)}`));
      ctx.print(describe(t), t);
      return;
    }
    const r = await ctx.withLogin((c) => c.request<{ values: Record<string, number> }>('GET', '/v1/quorum'));
    ctx.print(Object.entries(r.values).map(([k, v]) => `${k.padEnd(24)}${v}`).join('\n'), r);
  });
  quorum.command('set <service> <value>').description('how many approvals a service needs (the requester counts once)')
    .action(async (service: string, value: string) => {
      if (!/^[1-9][0-9]?$/.test(value)) throw new CliError('BAD_ARGUMENT', 'a quorum value is 1 to 20');
      const r = await ctx.withLogin((c) => c.request<{ values: Record<string, number> }>('POST', '/v1/quorum/values', { service, value: Number(value) }));
      ctx.print(`${service} now needs ${value} approval(s).`, r);
    });
  quorum.command('list').description('the open tokens of the partition').action(async () => {
    const r = await ctx.withLogin((c) => c.request<{ tokens: TokenView[] }>('GET', '/v1/quorum/tokens'));
    ctx.print(r.tokens.map((t) => `${t.body.id}  ${t.body.operation.padEnd(18)} ${t.body.requester.username.padEnd(14)} ${t.count}/${t.required}  expires ${t.body.expires}`).join('\n') || 'No open tokens.', r);
  });
  quorum.command('request <operation> [args...]').description('a token for one operation with these name=value arguments (e.g. user.create username=alice role=user)')
    .option('--ttl <seconds>', 'how long the token is valid', '900')
    .action(async (operation: string, args: string[], o) => {
      const t = await ctx.withLogin((c) => c.request<TokenView>('POST', '/v1/quorum/tokens', { operation, args: parseArgs(args), ttlSeconds: Number(o.ttl) }));
      ctx.print(`${describe(t)}\nGive the token id to the approvers (inkan quorum approve ${t.body.id} --key FILE), then run the operation with --quorum-token ${t.body.id}.`, t);
    });
  quorum.command('approve <token>').description('sign a token with your own private key (it never leaves this machine)')
    .requiredOption('--key <file>', 'your private signing key (PEM; inkan user keygen)')
    .option('--yes', 'do not ask for confirmation after showing the token')
    .action(async (token: string, o) => {
      const privatePem = fs.readFileSync(o.key, 'utf8');
      const r = await ctx.withLogin(async (c) => {
        const t = await c.request<TokenView>('GET', `/v1/quorum/tokens/${encodeURIComponent(token)}`);
        // Sign what is shown: the server's canonical bytes must be exactly those of the body shown.
        if (!canonicalBytes(t.body).equals(Buffer.from(t.canonical, 'base64'))) throw new CliError('TOKEN_INCONSISTENT', 'the server\'s canonical bytes do not match the token it shows: not signed');
        process.stderr.write(`${describe(t)}\n`);
        if (!o.yes && (await prompt('Approve exactly this? Type "yes": ')).trim() !== 'yes') throw new CliError('NOT_APPROVED', 'not approved');
        const { signature } = await signToken(t.body, privatePem);
        return c.request<TokenView>('POST', `/v1/quorum/tokens/${encodeURIComponent(token)}/approve`, { signature });
      });
      ctx.print(`Approved: ${r.count} of ${r.required}.`, r);
    });

  const user = program.commands.find((cmd) => cmd.name() === 'user') ?? program.command('user');
  user.command('keygen').description('make a personal signing key pair on this machine (for quorum approvals)')
    .requiredOption('--out <file>', 'where the private key is written (mode 0600); the public key goes to FILE.pub')
    .option('--type <type>', 'ed25519 | p256', 'ed25519')
    .action(async (o) => {
      if (o.type !== 'ed25519' && o.type !== 'p256') throw new CliError('BAD_ARGUMENT', '--type is ed25519 or p256');
      const pair = await generateSigningKey(o.type);
      fs.writeFileSync(o.out, pair.privatePem, { mode: 0o600, flag: 'wx' });
      fs.writeFileSync(`${o.out}.pub`, pair.publicPem, { mode: 0o644 });
      const fp = publicSigningKey(pair.publicPem)!.fingerprint;
      ctx.print(`Private key: ${o.out} (keep it; it never goes to the server). Public key: ${o.out}.pub, fingerprint ${fp}.\nRegister it: inkan user register-key --public-key ${o.out}.pub`, { privateKey: o.out, publicKey: `${o.out}.pub`, fingerprint: fp });
    });
  user.command('register-key [username]').description('register a personal signing public key (your own by default)')
    .requiredOption('--public-key <file>', 'the public key (PEM, Ed25519 or P-256)')
    .action(async (username: string | undefined, o) => {
      const publicKey = fs.readFileSync(o.publicKey, 'utf8');
      if (publicKey.includes('PRIVATE KEY')) throw new CliError('BAD_ARGUMENT', 'that is a private key: give the .pub file; the private key never leaves this machine');
      const r = await ctx.withLogin(async (c) => {
        const who = username ?? (await c.request<{ username: string }>('GET', '/v1/whoami')).username;
        return c.request<{ username: string; fingerprint: string }>('POST', `/v1/users/${encodeURIComponent(who)}/signing-key`, { publicKey });
      });
      ctx.print(`Registered the signing key of ${r.username} (fingerprint ${r.fingerprint}).`, r);
    });

  const key = program.commands.find((cmd) => cmd.name() === 'key') ?? program.command('key');
  key.command('quorum <ref> [value]').description('show or set a key\'s use quorum (approvals to open a use window)')
    .option('--window <seconds>', 'how long the key is usable after an activation', '900')
    .action(async (ref: string, value: string | undefined, o) => {
      const path = `/v1/keys/${encodeURIComponent(ref)}/quorum`;
      const r = await ctx.withLogin((c) => (value === undefined ? c.request('GET', path) : c.request('POST', path, { value: Number(value), windowSeconds: Number(o.window) })));
      ctx.print(value === undefined ? `use quorum ${r.value}${r.activeUntil ? `, active until ${r.activeUntil}` : ''}` : `The key now needs ${value} approval(s) per ${o.window} s window.`, r);
    });
  key.command('activate <ref>').description('open a key\'s use window with an approved token (--quorum-token)').action(async (ref: string) => {
    const r = await ctx.withLogin((c) => c.request<{ activeUntil: string }>('POST', `/v1/keys/${encodeURIComponent(ref)}/activate`, {}));
    ctx.print(`Usable until ${r.activeUntil}.`, r);
  });

  const officer = program.command('officer').description('recovery of officers by the custodians of the unseal shares');
  officer.command('recover <username>').description('unlock (or reset) a locked-out officer with the threshold of unseal shares, one custodian at a time')
    .option('--reset-password', 'also set a new password (asked, or INKAN_NEW_PASSWORD)')
    .option('--recover-partition <name>', 'the officer\'s partition (default: default)')
    .action(async (username: string, o) => {
      const password = o.resetPassword ? await newPassword(`officer ${username}`, process.env.INKAN_NEW_PASSWORD) : undefined;
      const given = process.env.INKAN_SHARES?.split(/[\s,]+/).filter(Boolean);
      const send = (share: string) => ctx.client().request<{ done: boolean; progress: number; threshold: number }>('POST', '/v1/custodian/recover-officer',
        { username, share: share.trim(), ...(o.recoverPartition ? { partition: o.recoverPartition } : {}), ...(password ? { password } : {}) });
      let r: { done: boolean; progress: number; threshold: number } | undefined;
      for (let i = 0; !r?.done; i++) {
        const share = given ? given[i] : await prompt(`Unseal share of custodian ${i + 1}: `, true);
        if (share === undefined) throw new CliError('SHARES_MISSING', `${r?.progress ?? 0} of ${r?.threshold ?? '?'} shares given; more custodians must give theirs`);
        r = await send(share);
      }
      ctx.print(`Officer ${username} recovered${password ? ' with a new password' : ''} (${r.threshold} custodian shares).`, r);
    });
}
