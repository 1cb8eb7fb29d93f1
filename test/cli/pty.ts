// Runs the real `inkan` command on a pseudo-terminal (util-linux `script`), so its prompts are
// driven as a person at a terminal would: wait for the prompt's text, type an answer.
import { spawn, spawnSync, ChildProcess } from 'node:child_process';
import { INKAN_BIN } from '../helpers/harness';
import { cleanEnv } from './cli-helpers';

export const HAVE_SCRIPT = spawnSync('script', ['--version']).status === 0;

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

export interface Pty {
  /** Everything the terminal showed so far (\r\n as \n). */
  screen(): string;
  /** Resolves when the screen (after what was already matched) shows `re`; rejects after 20 s. */
  expect(re: RegExp): Promise<string>;
  /** Types `text` and Enter. */
  type(text: string): void;
  /** Resolves with the exit status once the command ends (stdin is closed first). */
  exit(): Promise<number>;
}

export function pty(args: string[], env: Record<string, string | undefined>): Pty {
  const cmd = [process.execPath, INKAN_BIN, ...args].map(sh).join(' ');
  const child: ChildProcess = spawn('script', ['-qfec', cmd, '/dev/null'], { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let seen = 0;
  let waiter: (() => void) | undefined;
  const onData = (c: Buffer) => { out += c.toString('utf8').replace(/\r\n/g, '\n'); waiter?.(); };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  let code: number | undefined;
  const done = new Promise<number>((resolve) => child.on('exit', (c) => { code = c ?? -1; resolve(code); waiter?.(); }));
  return {
    screen: () => out,
    expect(re) {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => { waiter = undefined; reject(new Error(`timed out waiting for ${re}; the screen:\n${out}`)); }, 20_000);
        const check = () => {
          const m = re.exec(out.slice(seen));
          if (m) { seen += m.index + m[0].length; clearTimeout(timer); waiter = undefined; resolve(m[0]); return; }
          if (code !== undefined) { clearTimeout(timer); waiter = undefined; reject(new Error(`exited ${code} before ${re}; the screen:\n${out}`)); }
        };
        waiter = check;
        check();
      });
    },
    type(text) { child.stdin!.write(`${text}\r`); },
    async exit() {
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      try { return await done; } finally { clearTimeout(timer); child.stdin!.end(); }
    },
  };
}
