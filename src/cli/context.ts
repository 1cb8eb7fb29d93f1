// What every `inkan` command receives from main.ts: output mode, the admin API client and a
// login wrapper. A file of its own so the command files need not import main.ts.
import type { AdminClient } from './client';

export interface Ctx {
  json: boolean;
  client(): AdminClient;
  /** Logs in (env or prompt), runs `fn`, logs out. */
  withLogin<T>(fn: (c: AdminClient) => Promise<T>, user?: string): Promise<T>;
  print(human: string, data: unknown): void;
}
