// Terminal helpers for the CLI: hidden prompts, file/stdin input, binary output, a progress spinner.
import * as fs from 'node:fs';
import * as readline from 'node:readline';
import { CliError, Credentials } from './client';

export async function prompt(question: string, hidden = false): Promise<string> {
  if (!process.stdin.isTTY) throw new CliError('NO_TTY', `${question.replace(/:\s*$/, '')} needed: no terminal to ask on; set it in the environment`);
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  if (hidden) {
    const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
    out._writeToOutput = (s: string) => { if (s.includes(question)) process.stderr.write(s); };
  }
  const answer = await new Promise<string>((resolve) => rl.question(question, resolve));
  rl.close();
  if (hidden) process.stderr.write('\n');
  return answer;
}

/** INKAN_USER / INKAN_PASSWORD, else --user and a hidden prompt. */
export async function credentials(user?: string): Promise<Credentials> {
  const username = user ?? process.env.INKAN_USER ?? await prompt('Username: ');
  const password = process.env.INKAN_PASSWORD ?? await prompt(`Password for ${username}: `, true);
  return { username, password };
}

export async function readInput(file?: string): Promise<Buffer> {
  if (file && file !== '-') {
    try { return fs.readFileSync(file); } catch { throw new CliError('NO_FILE', `cannot read ${file}`); }
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export function writeOutput(data: Buffer | string, file?: string): void {
  if (file && file !== '-') fs.writeFileSync(file, data);
  else process.stdout.write(data);
}

/** Shows a spinner on a terminal while `work` runs (RSA-4096 generation takes seconds). */
export async function withProgress<T>(label: string, work: Promise<T>, quiet: boolean): Promise<T> {
  if (quiet || !process.stderr.isTTY) return work;
  const frames = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
  const started = Date.now();
  let i = 0;
  const timer = setInterval(() => {
    process.stderr.write(`\r${frames[i++ % frames.length]} ${label} ${((Date.now() - started) / 1000).toFixed(1)}s`);
  }, 100);
  try { return await work; } finally {
    clearInterval(timer);
    process.stderr.write('\r\x1b[K');
  }
}
