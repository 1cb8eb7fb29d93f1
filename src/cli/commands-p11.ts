// `inkan p11-stdio`: the PKCS#11 face on stdin/stdout, for P11_KIT_SERVER_ADDRESS='|inkan p11-stdio …'
// (docs/p11kit-rpc.md §2.1: p11-kit runs the command on a socketpair). With --socket (or --data) it
// relays the bytes to one server's p11 socket unchanged. With --server a,b,… it is the failover
// transport of a cluster (docs/pkcs11.md "Failover"): it follows the protocol, and when the node in
// use dies it moves to the next one and restores the application's sessions, logins and handles.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { Command } from 'commander';
import { CliError } from './client';

function ms(name: string, text: string): number {
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (!m) throw new CliError('BAD_ARGUMENT', `--${name}: a duration such as 500ms, 3s or 1m`);
  return Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000 }[m[2] ?? 'ms'] as number);
}

async function relayFailover(o: Record<string, string | boolean | undefined>): Promise<void> {
  // Loaded here only: the plain relay and every other command start without the codec.
  const { parseAddresses, loadTlsClientOptions } = await import('../protocol/p11-failover/upstream');
  const { FailoverRelay } = await import('../protocol/p11-failover/relay');
  let nodes;
  try { nodes = parseAddresses(String(o.server)); } catch (err) { throw new CliError('BAD_ARGUMENT', `--server: ${(err as Error).message}`); }
  if (nodes.some((n) => n.kind === 'tls') && !(o.tlsCa && o.tlsCert && o.tlsKey)) {
    throw new CliError('BAD_ARGUMENT', 'tcp+tls: addresses need --tls-ca (the nodes\' CA) and --tls-cert/--tls-key (this client\'s certificate)');
  }
  const file = o.log as string | undefined;
  const log = (line: string) => {
    const text = `inkan p11-stdio: ${new Date().toISOString()} ${line}\n`;
    if (file) fs.appendFileSync(file, text, { mode: 0o600 }); else process.stderr.write(text);
  };
  const relay = new FailoverRelay(nodes, {
    connectTimeoutMs: ms('connect-timeout', String(o.connectTimeout)), requestTimeoutMs: ms('request-timeout', String(o.requestTimeout)),
    failoverTimeoutMs: ms('failover-timeout', String(o.failoverTimeout)), randomStart: Boolean(o.randomStart),
    tls: loadTlsClientOptions({ ca: o.tlsCa as string | undefined, cert: o.tlsCert as string | undefined, key: o.tlsKey as string | undefined }),
    log: o.quiet ? () => undefined : log,
  }, (frame) => { process.stdout.write(frame); });
  const finish = () => { relay.close(); process.exit(); };
  process.stdin.on('data', (chunk: Buffer) => {
    try { relay.receive(chunk); } catch (err) { log(`application sent a broken frame: ${(err as Error).message}`); process.exitCode = 1; finish(); }
  });
  process.stdin.on('end', finish);
  process.stdin.on('error', finish);
  process.stdout.on('error', finish);
  // The first node is looked for at once, so C_Initialize does not wait for it; failing here is not
  // fatal: every request starts another round.
  relay.start().catch((err) => log(`${(err as Error).message}`));
}

export function registerP11Commands(program: Command): void {
  program.command('p11-stdio')
    .description('speak the p11-kit RPC protocol on stdin/stdout, relayed to a running server (for P11_KIT_SERVER_ADDRESS="|inkan p11-stdio"); '
      + 'with --server unix:PATH,tcp+tls:HOST:PORT,… (here a list of cluster nodes, not an admin URL) it fails over between them')
    .option('--data <dir>', 'data directory of the server (or INKAN_HOME)', process.env.INKAN_HOME ?? './.inkan')
    .option('--socket <path>', 'the server\'s p11 socket (default <data>/p11.sock)')
    .option('--servers <addresses>', 'the same as --server for this command (or INKAN_P11_SERVERS)')
    .option('--tls-ca <file>', 'with tcp+tls: the CA that signed the nodes\' certificates')
    .option('--tls-cert <file>', 'with tcp+tls: this client\'s certificate (the nodes require one)')
    .option('--tls-key <file>', 'with tcp+tls: its private key')
    .option('--connect-timeout <duration>', 'with --server: time to connect to one node', '3s')
    .option('--request-timeout <duration>', 'with --server: a request unanswered this long fails the node over (0 = never)', '60s')
    .option('--failover-timeout <duration>', 'with --server: how long to keep trying the nodes before answering CKR_DEVICE_REMOVED', '30s')
    .option('--random-start', 'with --server: begin with a random node (spreads applications over the cluster)', false)
    .option('--quiet', 'with --server: no failover messages', false)
    .option('--log <file>', 'with --server: append failover messages to this file instead of stderr (nodes and CKR codes only, never a PIN)')
    .action(async (o, cmd: Command) => {
      // --server is the program's option (the admin URL for other commands); for p11-stdio it lists the nodes.
      o.server = o.servers ?? cmd.optsWithGlobals().server ?? process.env.INKAN_P11_SERVERS;
      if (o.server !== undefined) {
        if (o.socket !== undefined) throw new CliError('BAD_ARGUMENT', '--server and --socket do not go together');
        await relayFailover(o);
        return;
      }
      const socketPath = path.resolve(o.socket ?? path.join(o.data, 'p11.sock'));
      await new Promise<void>((resolve) => {
        const upstream = net.connect(socketPath);
        const finish = () => { upstream.destroy(); resolve(); };
        upstream.on('error', (err) => { process.stderr.write(`inkan p11-stdio: ${socketPath}: ${err.message}\n`); process.exitCode = 1; finish(); });
        upstream.on('close', finish);
        process.stdin.on('end', () => upstream.end());
        process.stdin.on('error', finish);
        process.stdin.pipe(upstream);
        upstream.pipe(process.stdout);
      });
      process.exit();
    });
}
