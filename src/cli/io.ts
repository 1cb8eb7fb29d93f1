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

/** The username (settings: --user, INKAN_USER, the profile), else a prompt; the password from
 *  INKAN_PASSWORD, else a hidden prompt that says whose password it wants and where. */
export async function credentials(user: string | undefined, server: string): Promise<Credentials> {
  const username = user ?? await prompt(`Your username on ${server}: `);
  const password = process.env.INKAN_PASSWORD ?? await prompt(`Your password (${username}, logging in to ${server}): `, true);
  return { username, password };
}

/** The module's password bounds (core/passwords.ts; a partition may raise the minimum, which the
 *  server checks). Checked here so a new password is refused before anything else is asked. */
export const PASSWORD_MIN = 8;
export const PASSWORD_MAX = 256;

function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN) return `too short: passwords are ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`;
  if (password.length > PASSWORD_MAX) return `too long: passwords are ${PASSWORD_MIN} to ${PASSWORD_MAX} characters`;
  return undefined;
}

/** A new password for `whose`: from `given` (an option or INKAN_NEW_PASSWORD), else asked twice
 *  on the terminal; either way checked against the policy at once. Three tries at the prompt. */
export async function newPassword(whose: string, given?: string): Promise<string> {
  if (given !== undefined) {
    const problem = passwordProblem(given);
    if (problem) throw new CliError('PASSWORD_POLICY', `the new password for ${whose} is ${problem}`);
    return given;
  }
  for (let attempt = 1; ; attempt++) {
    const first = await prompt(`New password for ${whose}: `, true);
    const problem = passwordProblem(first);
    let retry: string;
    if (problem) retry = `That password is ${problem}.`;
    else if (await prompt(`New password for ${whose} again: `, true) === first) return first;
    else retry = 'The two passwords differ.';
    if (attempt >= 3) throw new CliError(problem ? 'PASSWORD_POLICY' : 'PASSWORD_MISMATCH', `${retry} Nothing was changed.`);
    process.stderr.write(`${retry} Try again.\n`);
  }
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
