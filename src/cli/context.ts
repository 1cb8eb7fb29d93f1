// What every `inkan` command receives from main.ts: output mode, settings, the admin API client
// and a login wrapper. A file of its own so the command files need not import main.ts.
import type { AdminClient } from './client';
import type { Output, Settings } from './config';

export interface Ctx {
  /** Structured output (json or yaml) was asked for: print data, not prose. */
  json: boolean;
  output: Output;
  settings(): Settings;
  client(): AdminClient;
  /** Runs `fn` in the saved session (`inkan login`), else logs in (env or prompt), runs it and logs out. */
  withLogin<T>(fn: (c: AdminClient) => Promise<T>, user?: string): Promise<T>;
  print(human: string, data: unknown): void;
}
