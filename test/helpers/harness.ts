// Shared test fixtures: a fresh module on a temp SQLite file, a running dev server with its
// log captured, and running the openssl CLI (the second implementation results are checked with).
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Hsm } from '../../src/core/hsm';
import type { Caller, Principal } from '../../src/core/principal';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { startServer, RunningServer, ServerConfig } from '../../src/server';
import { createLogger } from '../../src/logger';

export function tempDir(prefix = 'inkan-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestModule {
  hsm: Hsm;
  dir: string;
  store: SqliteKeyStore;
  /** The officer's caller through the admin face (its principal: officer.principal). */
  officer: Caller;
  user: Principal;
  /** The module's unseal shares (1 of 1). */
  shares: string[];
  /** A caller for the crypto user through the admin face. */
  caller: Caller;
  /** Makes another crypto user and returns its caller. */
  newUser(name: string): Promise<Caller>;
  /** The admin-face caller of a principal. */
  as(p: Principal): Caller;
  close(): Promise<void>;
}

export const OFFICER_PASSWORD = 'officer-password-1';
export const USER_PASSWORD = 'user-password-1';

/** An initialised (1 of 1), unsealed module with one officer and one crypto user. */
export async function freshModule(opts: { selfTestFault?: string; loginDelayMs?: number; durableUses?: boolean } = {}): Promise<TestModule> {
  const dir = tempDir();
  const store = new SqliteKeyStore(path.join(dir, 'inkan.db'));
  // Tests of other things log in and fail at full speed; the delay has tests of its own.
  const hsm = new Hsm(store, { selfTestFault: opts.selfTestFault, loginDelayMs: opts.loginDelayMs ?? 0, durableUses: opts.durableUses });
  await hsm.start();
  const [share] = await hsm.lifecycle.init(1, 1, { username: 'officer', password: OFFICER_PASSWORD });
  await hsm.lifecycle.unseal(share);
  const officer = hsm.callerOf(await hsm.login('officer', OFFICER_PASSWORD), 'admin');
  await hsm.users.create(officer, 'user', 'user', USER_PASSWORD);
  const user = await hsm.login('user', USER_PASSWORD);
  return {
    hsm, dir, store, officer, user, shares: [share],
    caller: hsm.callerOf(user, 'admin'),
    as: (p) => hsm.callerOf(p, 'admin'),
    async newUser(name) {
      await hsm.users.create(officer, name, 'user', USER_PASSWORD);
      return hsm.callerOf(await hsm.login(name, USER_PASSWORD), 'admin');
    },
    async close() {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestServer extends RunningServer {
  dir: string;
  logs: string[];
  /** Logs in over HTTP and returns a fetch wrapper with the bearer token. */
  login(username: string, password: string): Promise<(method: string, p: string, body?: unknown) => Promise<{ status: number; body: any }>>;
}

/** A dev server on a random loopback port whose log lines are kept in `logs`. */
export async function devServer(dir = tempDir(), opts: Partial<ServerConfig> = {}): Promise<TestServer> {
  const logs: string[] = [];
  // Tests of other things log in and fail at full speed; the delay has tests of its own.
  const server = await startServer({ loginDelayMs: 0, ...opts, dataDir: dir, host: '127.0.0.1', port: 0, dev: true, log: createLogger((l) => logs.push(l)) });
  return {
    ...server, dir, logs,
    async login(username, password) {
      const res = await fetch(`${server.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username, password }) });
      const { token } = await res.json() as { token: string };
      return async (method, p, body) => {
        const r = await fetch(`${server.url}${p}`, { method, headers: { authorization: `Bearer ${token}` }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: r.status, body: await r.json() };
      };
    },
    async close() {
      await server.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs openssl with args; returns stdout. Throws with stderr on failure. */
export function openssl(args: string[], input?: Buffer): Buffer {
  return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
}

/** Runs openssl and reports success without throwing (for verification commands). */
export function opensslOk(args: string[], input?: Buffer): boolean {
  return spawnSync('openssl', args, { input }).status === 0;
}

export function writeTemp(dir: string, name: string, data: Buffer | string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
}

/** The repository root (dist/test/helpers → ../../..). */
export const REPO_ROOT = path.resolve(__dirname, '..', '..', '..');
export const INKAN_BIN = path.join(REPO_ROOT, 'bin', 'inkan.js');
