// Runs the real `inkan` command (bin/inkan.js) as a child process with no terminal, and
// starts `inkan serve` processes whose output is captured. Shared by the CLI and log-secrecy tests.
import { spawn, ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { INKAN_BIN } from '../helpers/harness';

export interface CliResult { code: number; stdout: Buffer; out: string; err: string }

/** A config directory of this test process's own, empty unless a test writes to it, so the
 *  runner's ~/.config/inkan (profiles, saved sessions) never leaks into a test. */
let emptyConfig: string | undefined;
function testConfigDir(): string {
  if (!emptyConfig) {
    emptyConfig = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-cli-config-'));
    process.once('exit', () => fs.rmSync(emptyConfig!, { recursive: true, force: true }));
  }
  return emptyConfig;
}

/** The environment without any INKAN_* variable of the caller, plus `env`. */
export function cleanEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { INKAN_CONFIG_DIR: testConfigDir() };
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('INKAN_')) base[k] = v;
  for (const [k, v] of Object.entries(env)) if (v !== undefined) base[k] = v;
  return base;
}

/** Runs `node bin/inkan.js ...args` asynchronously (the server may live in this process). */
export function inkan(args: string[], env: Record<string, string | undefined>, input?: Buffer | string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [INKAN_BIN, ...args], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out);
      resolve({ code: code ?? -1, stdout, out: stdout.toString('utf8'), err: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(input ?? '');
  });
}

/** The code of a `--json` error answer ({"error":{code,message}} on stdout). */
export function jsonError(r: CliResult): { code: string; message: string } {
  const parsed = JSON.parse(r.out) as { error?: { code: string; message: string } };
  if (!parsed.error) throw new Error(`expected an error answer, got ${r.out}`);
  return parsed.error;
}

export interface ServeProcess {
  url: string;
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** SIGTERM, then waits for the exit (SIGKILL after 10 s). */
  stop(): Promise<number | null>;
}

/** Starts `inkan serve ...args` and resolves once it has printed its admin API URL. */
export function serve(args: string[], env: Record<string, string | undefined> = {}): Promise<ServeProcess> {
  // Tests of other things fail logins at full speed (the growing delay has tests of its own).
  const withDelay = args.some((a) => a.startsWith('--login-delay-ms')) ? [...args] : [...args, '--login-delay-ms', '0'];
  // One process unless the test is about workers (test/cli/workers.test.ts): cheaper, and what the
  // other tests inspect (logs, node names) is then that one process's.
  if (!args.some((a) => a.startsWith('--workers'))) withDelay.push('--workers', '1');
  const child = spawn(process.execPath, [INKAN_BIN, 'serve', ...withDelay], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let exited = false;
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => { exited = true; resolve(code); }));
  const proc = (url: string): ServeProcess => ({
    url, child, stdout: () => out, stderr: () => err,
    async stop() {
      if (exited) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      try { return await exit; } finally { clearTimeout(timer); }
    },
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`serve did not start:\n${out}\n${err}`)); }, 30_000);
    const check = () => {
      // The banner on stdout comes last (after the "listening" log line), dev credentials included.
      const m = /admin API at (https?:\/\/\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(proc(m[1])); }
    };
    child.stdout!.on('data', (c: Buffer) => { out += c.toString('utf8'); check(); });
    child.stderr!.on('data', (c: Buffer) => { err += c.toString('utf8'); check(); });
    void exit.then((code) => { clearTimeout(timer); reject(new Error(`serve exited with ${code} before listening:\n${out}\n${err}`)); });
  });
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const net = await import('node:net');
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as import('node:net').AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
