// CLI commands for the module and users: serve, status, init, unseal, seal, user *.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { CliError } from './client';
import { newPassword, prompt } from './io';
import type { Ctx } from './context';

function parseListen(text: string, option = 'http'): { host: string; port: number } {
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(text);
  if (!m) throw new CliError('BAD_ARGUMENT', `--${option} takes HOST:PORT, e.g. 127.0.0.1:7280`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/** The --p11-* options of `inkan serve`, checked here so a typo fails at start with the option's name. */
async function p11Options(o: Record<string, string | undefined>) {
  // Parsers live with the server (loaded lazily: only `inkan serve` needs them).
  const { parseSize, parseSocketMode, parseDuration } = await import('../server');
  const opt = <T>(name: string, value: string | undefined, parse: (v: string) => T): T | undefined => {
    if (value === undefined) return undefined;
    try { return parse(value); } catch (err) { throw new CliError('BAD_ARGUMENT', `--${name}: ${(err as Error).message}`); }
  };
  const count = (v: string) => { if (!/^\d+$/.test(v)) throw new Error(`not a whole number: ${v}`); return Number(v); };
  const duration = (v: string) => (/^0+(ms|s|m|h|d)?$/.test(v) ? 0 : parseDuration(v));
  const tlsFiles = [o.p11TlsCert, o.p11TlsKey, o.p11TlsClientCa];
  if (o.p11TlsListen === undefined && tlsFiles.some((f) => f !== undefined)) throw new CliError('BAD_ARGUMENT', '--p11-tls-cert, --p11-tls-key and --p11-tls-client-ca go with --p11-tls-listen');
  if (o.p11TlsListen !== undefined && tlsFiles.some((f) => f === undefined)) {
    throw new CliError('BAD_ARGUMENT', '--p11-tls-listen needs --p11-tls-cert, --p11-tls-key and --p11-tls-client-ca (client certificates are required)');
  }
  const tlsAt = o.p11TlsListen === undefined ? undefined : parseListen(o.p11TlsListen, 'p11-tls-listen');
  return {
    p11Tls: tlsAt && { ...tlsAt, cert: path.resolve(o.p11TlsCert!), key: path.resolve(o.p11TlsKey!), clientCa: path.resolve(o.p11TlsClientCa!) },
    p11SocketMode: opt('p11-socket-mode', o.p11SocketMode, parseSocketMode),
    p11SocketGroup: o.p11SocketGroup,
    p11Limits: {
      maxConnections: opt('p11-max-connections', o.p11MaxConnections, count),
      maxConnectionsPerUid: opt('p11-max-connections-per-uid', o.p11MaxConnectionsPerUid, count),
      handshakeTimeoutMs: opt('p11-handshake-timeout', o.p11HandshakeTimeout, duration),
      idleTimeoutMs: opt('p11-idle-timeout', o.p11IdleTimeout, duration),
      requestBufferBytes: opt('p11-request-buffer', o.p11RequestBuffer, parseSize),
      multipartBytes: opt('p11-multipart-buffer', o.p11MultipartBuffer, parseSize),
    },
    httpLimits: {
      maxConnections: opt('http-max-connections', o.httpMaxConnections, count),
      bodyBytes: opt('http-body-buffer', o.httpBodyBuffer, parseSize),
      bodyBytesPerUser: opt('http-body-buffer-per-user', o.httpBodyBufferPerUser, parseSize),
    },
  };
}

export function registerModuleCommands(program: Command, ctx: Ctx): void {
  program.command('serve')
    .description('run the HSM server (admin API; --dev initialises and unseals itself)')
    .option('--data <dir>', 'data directory (or INKAN_HOME)', process.env.INKAN_HOME ?? './.inkan')
    .option('--store <store>', 'key store: sqlite (the default, <data>/inkan.db) or postgres://user@host/db shared by a cluster (or INKAN_STORE)', process.env.INKAN_STORE)
    .option('--heartbeat <duration>', 'cluster heartbeat interval on PostgreSQL, e.g. 2s', '2s')
    .option('--http <host:port>', 'admin API listener', '127.0.0.1:7280')
    .option('--dev', 'development mode: 1-of-1 key share kept in a file, dev credentials written', false)
    .option('--tls-cert <file>', 'TLS certificate (required to listen beyond loopback)')
    .option('--tls-key <file>', 'TLS private key')
    .option('--node <name>', 'node name for logs and status', 'node-1')
    .option('--p11-socket <path>', 'unix socket of the PKCS#11 face (p11-kit RPC; default <data>/p11.sock)')
    .option('--p11-socket-mode <octal>', 'permission bits of that socket, e.g. 0660 with --p11-socket-group', '0600')
    .option('--p11-socket-group <group>', 'group (name or gid) owning that socket: its members may connect with mode 0660')
    .option('--p11-tls-listen <host:port>', 'also serve PKCS#11 on TCP with mutual TLS, for `inkan p11-stdio --server tcp+tls:…` (or INKAN_P11_TLS_LISTEN)', process.env.INKAN_P11_TLS_LISTEN)
    .option('--p11-tls-cert <file>', 'that listener\'s certificate chain (or INKAN_P11_TLS_CERT)', process.env.INKAN_P11_TLS_CERT)
    .option('--p11-tls-key <file>', 'that listener\'s private key (or INKAN_P11_TLS_KEY)', process.env.INKAN_P11_TLS_KEY)
    .option('--p11-tls-client-ca <file>', 'the CA that signs client certificates; others are refused (or INKAN_P11_TLS_CLIENT_CA)', process.env.INKAN_P11_TLS_CLIENT_CA)
    .option('--p11-max-connections <n>', 'PKCS#11 connections open at once, all peers')
    .option('--p11-max-connections-per-uid <n>', 'PKCS#11 connections open at once per peer uid (0 = no limit)')
    .option('--p11-handshake-timeout <duration>', 'time a new PKCS#11 connection has to send C_Initialize, e.g. 10s (0s = none)')
    .option('--p11-idle-timeout <duration>', 'close PKCS#11 connections with no session open after this quiet time, e.g. 5m (0s = never)')
    .option('--p11-request-buffer <size>', 'request bytes all PKCS#11 connections may hold at once, e.g. 256MiB')
    .option('--p11-multipart-buffer <size>', 'multi-part (C_*Update) input all PKCS#11 sessions may hold at once, e.g. 512MiB')
    .option('--http-max-connections <n>', 'HTTP connections open at once (admin, KMS and the other HTTP faces)')
    .option('--http-body-buffer <size>', 'request body bytes all HTTP requests may hold at once beyond 64 KiB each, e.g. 256MiB')
    .option('--http-body-buffer-per-user <size>', 'the same, per logged-in user, e.g. 32MiB')
    .option('--backup-every <duration>', 'take a backup every so often while unsealed, e.g. 24h')
    .option('--backup-dir <dir>', 'where scheduled backups go (default <data>/backups)')
    .option('--backup-keep <n>', 'how many scheduled backups to keep', '7')
    .option('--tamper-file <path>', 'zeroise the module when this file appears or changes (SIGUSR2 does too)')
    .option('--anchor-copy <path>', 'keep a second copy of the anchor (audit head, integrity counter) here, outside the data directory')
    .option('--domain <id>', 'the domain this module must find in its store (or INKAN_DOMAIN); refuse to start otherwise', process.env.INKAN_DOMAIN)
    .option('--new-domain', 'allow initialising this data directory although it belonged to a domain (a local, deliberate action)', false)
    .option('--durable-uses', 'fsync the audit records of key uses too (power-loss durable; slower)', false)
    .option('--login-delay-ms <ms>', 'first delay after a failed login, doubling with each failure (0 turns it off)', '250')
    .option('--akv-tenant <id>', 'Key Vault face: the tenant id clients name (default: the domain id)')
    .option('--akv-authority <url>', 'Key Vault face: the https URL of the token endpoints as clients reach them (default: this server\'s https URL)')
    .option('--akv-resource <url>', 'Key Vault face: the token audience; serve vaults on subdomains of its host (default: the vault URL)')
    .option('--akv-port <port>', 'Key Vault face in --dev: port of the loopback TLS listener (default: 7281 with the default --http, else any free port)')
    .option('--akv-retention-days <n>', 'Key Vault face: days a deleted key stays recoverable (7-90)', '90')
    .option('--akv-purge-protection', 'Key Vault face: deleted keys cannot be purged before their retention ends', false)
    .option('--xks-tls-cert <file>', 'XKS proxy: its own TLS listener\'s certificate chain')
    .option('--xks-tls-key <file>', 'XKS proxy: that listener\'s private key')
    .option('--xks-client-ca <file>', 'XKS proxy: require client certificates from this CA (mutual TLS)')
    .option('--xks-client-cn <cn>', 'XKS proxy: allowed client certificate CN, repeatable (AWS KMS: cks.kms.<region>.amazonaws.com)', (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--xks-listen <host:port>', 'XKS proxy: address of its own TLS listener', '127.0.0.1:7443')
    .option('--workers <n>', 'server processes sharing the store, so every core serves (default: the number of cores; 1 = this process alone)', process.env.INKAN_WORKERS)
    .action(async (o) => {
      const { host, port } = parseListen(o.http);
      const xks = parseListen(o.xksListen);
      const days = Number(o.akvRetentionDays);
      if (!Number.isInteger(days) || days < 7 || days > 90) throw new CliError('BAD_ARGUMENT', '--akv-retention-days: a whole number of days from 7 to 90');
      if (Boolean(o.xksTlsCert) !== Boolean(o.xksTlsKey)) throw new CliError('BAD_ARGUMENT', '--xks-tls-cert and --xks-tls-key go together');
      // Loaded here only: every other command is a small HTTP client and starts faster without it.
      const { startServer, parseDuration } = await import('../server');
      let heartbeatMs: number;
      try { heartbeatMs = parseDuration(o.heartbeat); } catch (err) { throw new CliError('BAD_ARGUMENT', `--heartbeat: ${(err as Error).message}`); }
      if (heartbeatMs < 100 || heartbeatMs > 60_000) throw new CliError('BAD_ARGUMENT', '--heartbeat: from 100ms to 60s');
      const { workerRole, WorkerLink, runPrimary, p11Address: p11AddressOf } = await import('../server');
      const { createLogger } = await import('../logger');
      const role = workerRole();
      const workers = role?.count ?? parseWorkers(o.workers);
      const cfg = {
        store: o.store, heartbeatMs,
        dataDir: path.resolve(o.data), host, port, dev: o.dev, tlsCert: o.tlsCert, tlsKey: o.tlsKey, node: o.node,
        selfTestFault: process.env.INKAN_TEST_SELFTEST_FAULT, p11Socket: o.p11Socket ? path.resolve(o.p11Socket) : undefined,
        ...await p11Options(o),
        backupEvery: o.backupEvery, backupDir: o.backupDir ? path.resolve(o.backupDir) : undefined, backupKeep: Number(o.backupKeep),
        tamperFile: o.tamperFile ? path.resolve(o.tamperFile) : undefined,
        anchorCopy: o.anchorCopy ? path.resolve(o.anchorCopy) : undefined, expectDomain: o.domain, newDomain: o.newDomain,
        durableUses: o.durableUses, loginDelayMs: Number(o.loginDelayMs),
        cloud: {
          akvTenant: o.akvTenant, akvAuthority: o.akvAuthority, akvResource: o.akvResource, akvTlsPort: o.akvPort !== undefined ? Number(o.akvPort) : o.http === '127.0.0.1:7280' ? 7281 : undefined,
          akvRetentionDays: days, akvPurgeProtection: o.akvPurgeProtection,
          xksTlsCert: o.xksTlsCert && path.resolve(o.xksTlsCert), xksTlsKey: o.xksTlsKey && path.resolve(o.xksTlsKey),
          xksClientCa: o.xksClientCa && path.resolve(o.xksClientCa), xksClientCns: o.xksClientCn.length ? o.xksClientCn : undefined, xksHost: xks.host, xksPort: xks.port,
        },
      };
      const p11Socket = cfg.p11Socket ?? path.join(cfg.dataDir, 'p11.sock');
      if (!role && workers > 1) {
        // The primary: starts the workers, owns the PKCS#11 socket, prints what the lead serves.
        const primary = await runPrimary({ count: workers, node: o.node, p11Socket, p11SocketMode: cfg.p11SocketMode, p11SocketGroup: cfg.p11SocketGroup, log: createLogger() });
        const lead = primary.lead as unknown as ServeBanner;
        ctx.print(banner({ ...lead, p11Address: p11AddressOf(p11Socket), p11Mode: primary.p11.mode, p11Gid: primary.p11.gid, workers }, o.data), {
          url: lead.url, p11Address: p11AddressOf(p11Socket), p11TlsAddress: lead.p11Tls, state: lead.state, credentials: lead.credentials, workers,
        });
        const stop = async () => { await primary.close(); process.exit(0); };
        process.once('SIGINT', () => void stop());
        process.once('SIGTERM', () => void stop());
        void primary.stopped.then((code) => process.exit(code));
        return;
      }
      const link = role && new WorkerLink(role, createLogger());
      let server: Awaited<ReturnType<typeof startServer>>;
      try {
        server = await startServer({ ...cfg, worker: link });
      } catch (err) {
        // A worker that cannot start exits, so its primary sees it (and stops or retries).
        if (!role) throw err;
        process.stderr.write(`inkan: worker ${role.index}: ${(err as Error).message}\n`);
        process.exit(1);
      }
      if (role) {
        // The primary coordinates stopping; a terminal's Ctrl-C reaches the whole group.
        process.on('SIGINT', () => undefined);
        process.once('SIGTERM', () => void server.close().then(() => process.exit(0)));
        return;
      }
      ctx.print(banner({
        url: server.url, state: server.hsm.state, credentials: server.credentials, p11Address: server.p11Address,
        p11Mode: server.p11.mode, p11Gid: server.p11.gid, p11Tls: server.p11.tls?.address, workers: 1,
      }, o.data), { url: server.url, p11Address: server.p11Address, p11TlsAddress: server.p11.tls?.address, state: server.hsm.state, credentials: server.credentials, workers: 1 });
      const stop = async () => { await server.close(); process.exit(0); };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });

  program.command('cluster').description('the nodes sharing this module\'s store (officer or auditor)')
    .command('status').description('each node\'s state, address, version and last heartbeat')
    .action(async () => {
      type Node = { node: string; address: string; state: string; alive: boolean; mac: string; version: string; heartbeatAgeMs: number; opsPerSec: number; leader: boolean; self: boolean };
      const r = await ctx.withLogin((c) => c.request<{ keystore: string; leader?: string; nodes: Node[] }>('GET', '/v1/cluster'));
      const rows = r.nodes.map((n) => [n.node + (n.self ? ' *' : ''), n.address, n.state, n.alive ? 'alive' : 'DEAD', n.mac === 'ok' ? 'ok' : n.mac.toUpperCase(),
        `${(n.heartbeatAgeMs / 1000).toFixed(1)}s ago`, `${n.opsPerSec}/s`, n.version, n.leader ? 'leader' : '']);
      const head = ['NODE', 'ADDRESS', 'STATE', 'HEALTH', 'MAC', 'HEARTBEAT', 'OPS', 'VERSION', ''];
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i].length)));
      const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd();
      ctx.print([`keystore: ${r.keystore}   (* = the node that answered)`, line(head), ...rows.map(line)].join('\n'), r);
    });

  program.command('status').description('module state, seal status and self-test results').action(async () => {
    const s = await ctx.client().request<Record<string, unknown>>('GET', '/v1/status');
    const st = s.selfTests as { passed: boolean; failed: string[]; count: number };
    ctx.print([`state:       ${s.state}`, `sealed:      ${s.sealed}`,
      s.threshold ? `shares:      ${s.threshold} of ${s.shares ?? '?'}${s.unsealProgress ? ` (${s.unsealProgress} given)` : ''}` : '',
      `self-tests:  ${st.passed ? `passed (${st.count})` : `FAILED: ${st.failed.join(', ')}`}`,
      `node:        ${s.node}`, `keystore:    ${s.keystore}`, `mechanisms:  ${s.mechanisms}`,
      s.approvedOnly === undefined ? '' : `mode:        ${s.approvedOnly ? 'approved-only' : 'NOT approved-only (legacy algorithms allowed)'}`].filter(Boolean).join('\n'), s);
  });

  program.command('init')
    .description('create the domain master key, split it into shares, and create the first crypto officer')
    .option('--shares <n>', 'number of shares', '5')
    .option('--threshold <m>', 'shares needed to unseal', '3')
    .option('--officer <name>', 'first crypto officer', 'admin')
    .option('--password <password>', 'that officer\'s password (else INKAN_NEW_PASSWORD or INKAN_PASSWORD, or asked twice)')
    .action(async (o) => {
      const password = await newPassword(`the first crypto officer, ${o.officer}`, o.password ?? process.env.INKAN_NEW_PASSWORD ?? process.env.INKAN_PASSWORD);
      const r = await ctx.client().request<{ shares: string[]; threshold: number }>('POST', '/v1/init',
        { shares: Number(o.shares), threshold: Number(o.threshold), officerUsername: o.officer, officerPassword: password });
      ctx.print([`Module initialised. ${r.threshold} of these ${r.shares.length} shares unseal it; they are shown once: give each to a different custodian.`,
        ...r.shares.map((s, i) => `  share ${i + 1}: ${s}`), 'The module is sealed: run `inkan unseal` with the shares.'].join('\n'), r);
    });

  program.command('unseal [share]').description('give one unseal share (asked for, hidden, if not given or in INKAN_SHARE)').action(async (share?: string) => {
    const given = share ?? process.env.INKAN_SHARE;
    const send = (s: string) => ctx.client().request<{ sealed: boolean; progress: number; threshold: number }>('POST', '/v1/unseal', { share: s.trim() });
    let r: { sealed: boolean; progress: number; threshold: number };
    if (given !== undefined) r = await send(given);
    else {
      // A mistyped share is refused by the module at once (its checksum) and costs nobody's
      // progress, so the custodian may simply type it again.
      for (let attempt = 1; ; attempt++) {
        try { r = await send(await prompt('Your unseal share (custodian): ', true)); break; } catch (err) {
          if (!(err instanceof CliError) || !['SHARE_INVALID', 'SHARE_UNKNOWN'].includes(err.code) || attempt >= 3) throw err;
          process.stderr.write(`inkan: ${err.message} [${err.code}]; nothing was lost. Type it again.\n`);
        }
      }
    }
    ctx.print(r.sealed ? `Share accepted: ${r.progress} of ${r.threshold}. Still sealed: ${r.threshold - r.progress} more needed (\`inkan unseal\`).` : 'Unsealed.', r);
  });

  program.command('seal').description('drop every key from memory (crypto officer)').action(async () => {
    await ctx.withLogin((c) => c.request('POST', '/v1/seal', {}));
    ctx.print('Sealed.', { sealed: true });
  });

  const user = program.command('user').description('manage users (crypto officer)');
  user.command('create <username>').option('--role <role>', 'officer | user | auditor', 'user')
    .option('--password <password>', 'the new user\'s password (else INKAN_NEW_PASSWORD or a prompt)')
    .option('--public-key <file>', 'the new user\'s personal signing public key (PEM, Ed25519 or P-256: `inkan user keygen`), for quorum approvals')
    .action(async (username: string, o) => {
      if (!['officer', 'user', 'auditor'].includes(o.role)) throw new CliError('BAD_ARGUMENT', `--role is officer, user or auditor, not ${o.role}`);
      const publicKey = o.publicKey ? fs.readFileSync(o.publicKey, 'utf8') : undefined;
      // The new user's password first, asked twice and checked, before your own is asked.
      const password = await newPassword(`the new ${o.role} ${username}`, o.password ?? process.env.INKAN_NEW_PASSWORD);
      const r = await ctx.withLogin((c) => c.request('POST', '/v1/users', { username, role: o.role, password, ...(publicKey ? { publicKey } : {}) }));
      ctx.print(`Created ${o.role} ${username}.`, r);
    });
  user.command('list').action(async () => {
    const r = await ctx.withLogin((c) => c.request<{ users: { username: string; role: string; locked: boolean }[] }>('GET', '/v1/users'));
    ctx.print(r.users.map((u) => `${u.username.padEnd(20)} ${u.role.padEnd(8)} ${u.locked ? 'LOCKED' : ''}`).join('\n'), r);
  });
  user.command('delete <username>').action(async (username: string) => {
    const r = await ctx.withLogin((c) => c.request('DELETE', `/v1/users/${encodeURIComponent(username)}`));
    ctx.print(`Deleted ${username}.`, r);
  });
  user.command('passwd <username>').option('--password <password>', 'new password (else INKAN_NEW_PASSWORD or a prompt)')
    .option('--old-password <password>', 'your current password, when changing your own as a non-officer')
    .action(async (username: string, o) => {
      const password = await newPassword(username, o.password ?? process.env.INKAN_NEW_PASSWORD);
      const r = await ctx.withLogin((c) => c.request('POST', `/v1/users/${encodeURIComponent(username)}/password`, { password, oldPassword: o.oldPassword }));
      ctx.print(`Password of ${username} changed.`, r);
    });
  user.command('lock <username>').description('lock a user at once (its sessions end on every face)').action(async (username: string) => {
    const r = await ctx.withLogin((c) => c.request('POST', `/v1/users/${encodeURIComponent(username)}/lock`, {}));
    ctx.print(`Locked ${username}.`, r);
  });
  user.command('role <username> <role>').description('give a user another role: officer | user | auditor (its sessions end)')
    .action(async (username: string, role: string) => {
      if (!['officer', 'user', 'auditor'].includes(role)) throw new CliError('BAD_ARGUMENT', `the role is officer, user or auditor, not ${role}`);
      const r = await ctx.withLogin((c) => c.request('POST', `/v1/users/${encodeURIComponent(username)}/role`, { role }));
      ctx.print(`${username} is now ${role === 'user' ? 'a crypto user' : role === 'officer' ? 'a crypto officer' : 'an auditor'}.`, r);
    });
  user.command('unlock <username>').action(async (username: string) => {
    const r = await ctx.withLogin((c) => c.request('POST', `/v1/users/${encodeURIComponent(username)}/unlock`, {}));
    ctx.print(`Unlocked ${username}.`, r);
  });
}

/** What `inkan serve` prints once it serves (one process, or the lead worker's report). */
interface ServeBanner {
  url: string; state: string; credentials?: DevCredentialsView; p11Address: string; p11Mode: number; p11Gid: number; p11Tls?: string; workers: number;
}
type DevCredentialsView = { officer: { username: string; password: string }; user: { username: string; password: string }; kms?: unknown; akv?: unknown; xks?: unknown };

function banner(b: ServeBanner, data: string): string {
  const creds = b.credentials;
  const state = b.state;
  const next = state === 'uninitialized' ? `  next: \`INKAN_SERVER=${b.url} inkan init --shares 5 --threshold 3 --officer admin\` (prints the unseal shares once)`
    : state === 'sealed' ? `  next: \`INKAN_SERVER=${b.url} inkan unseal\`, once per custodian` : undefined;
  const lines = [`Inkan ${b.state} — admin API at ${b.url}`, ...(next ? [next] : []),
    `PKCS#11 (load /usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so): P11_KIT_SERVER_ADDRESS=${b.p11Address}`
      + ` (socket mode 0${b.p11Mode.toString(8)}, gid ${b.p11Gid})`,
    ...(b.p11Tls ? [`PKCS#11 over mutual TLS: ${b.p11Tls} (inkan p11-stdio --server ${b.p11Tls} --tls-ca … --tls-cert … --tls-key …)`] : [])];
  if (creds) {
    lines.push('DEVELOPMENT MODE — never use these credentials or this data directory in production.',
      `  crypto officer: ${creds.officer.username} / ${creds.officer.password}`,
      `  crypto user:    ${creds.user.username} / ${creds.user.password}  (PKCS#11 user PIN: ${creds.user.username}:${creds.user.password})`,
      ...(creds.kms ? [`  KMS (any AWS SDK): AWS_ENDPOINT_URL_KMS=${b.url} AWS_REGION=${(creds.kms as { region: string }).region} AWS_DEFAULT_REGION=${(creds.kms as { region: string }).region} `
        + `AWS_ACCESS_KEY_ID=${(creds.kms as { accessKeyId: string }).accessKeyId} AWS_SECRET_ACCESS_KEY=<in dev-credentials.json>`] : []),
      ...(creds.akv ? [`  Key Vault: ${(creds.akv as { vaultUrl: string }).vaultUrl} (tokens from ${(creds.akv as { authorityHost: string }).authorityHost}; `
        + `NODE_EXTRA_CA_CERTS=${(creds.akv as { caFile?: string }).caFile ?? '-'}; client id and secret in dev-credentials.json)`] : []),
      ...(creds.xks ? [`  XKS proxy: ${(creds.xks as { endpoint: string }).endpoint}${(creds.xks as { uriPrefix: string }).uriPrefix}/kms/xks/v1 (SigV4 credentials in dev-credentials.json)`] : []),
      `  written to ${path.join(path.resolve(data), 'dev-credentials.json')}`);
  }
  if (b.workers > 1) lines.splice(1, 0, `  ${b.workers} worker processes (--workers)`);
  return lines.join('\n');
}

function parseWorkers(text: string | undefined): number {
  if (text === undefined) return os.availableParallelism();
  if (!/^\d+$/.test(text) || Number(text) < 1 || Number(text) > 64) throw new CliError('BAD_ARGUMENT', '--workers: a whole number from 1 to 64');
  return Number(text);
}
