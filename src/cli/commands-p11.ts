// `inkan p11-stdio`: the PKCS#11 face on stdin/stdout, for P11_KIT_SERVER_ADDRESS='|inkan p11-stdio …'
// (docs/p11kit-rpc.md §2.1: p11-kit runs the command on a socketpair). It relays the bytes
// to a running server's p11 socket unchanged, so the protocol is handled in one place.
import * as net from 'node:net';
import * as path from 'node:path';
import { Command } from 'commander';

export function registerP11Commands(program: Command): void {
  program.command('p11-stdio')
    .description('speak the p11-kit RPC protocol on stdin/stdout, relayed to a running server (for P11_KIT_SERVER_ADDRESS="|inkan p11-stdio")')
    .option('--data <dir>', 'data directory of the server (or INKAN_HOME)', process.env.INKAN_HOME ?? './.inkan')
    .option('--socket <path>', 'the server\'s p11 socket (default <data>/p11.sock)')
    .action(async (o) => {
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
