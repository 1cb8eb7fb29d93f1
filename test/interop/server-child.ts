// A dev server in its own process, for clients that block their thread (pkcs11js calls are
// synchronous, so a server in the test's own event loop could never answer them). Prints one
// JSON line with the addresses and credentials, stops on SIGTERM. Its log lines go to
// <dir>/server.log (tests read what the server logged). Runs only when asked to.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { startServer } from '../../src/server';
import { createLogger } from '../../src/logger';

export const CHILD_FLAG = '--inkan-server-child';

if (process.argv.includes(CHILD_FLAG)) {
  const dir = process.argv[process.argv.indexOf(CHILD_FLAG) + 1];
  void (async () => {
    const logFd = fs.openSync(path.join(dir, 'server.log'), 'a', 0o600);
    const log = createLogger((line) => fs.writeSync(logFd, line.endsWith('\n') ? line : line + '\n'));
    const s = await startServer({ dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log, loginDelayMs: 0 });
    process.stdout.write(JSON.stringify({ url: s.url, p11Address: s.p11Address, credentials: s.credentials }) + '\n');
    process.on('SIGTERM', () => { void s.close().then(() => process.exit(0)); });
  })();
}
