// Fixtures for the cluster tests: real `inkan serve --store postgres://…` processes on one real
// PostgreSQL (test/helpers/postgres.ts), initialised on one node and unsealed on each with the
// same shares; an admin client per node; the real AWS SDK for the KMS face.
import * as fs from 'node:fs';
import { KMSClient } from '@aws-sdk/client-kms';
import { tempDir } from '../helpers/harness';
import { serve, type ServeProcess } from '../cli/cli-helpers';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export const OFFICER = { username: 'officer', password: 'officer-password-1' };

export interface Node extends ServeProcess { name: string; dir: string; kill9(): void; exited: Promise<void> }

/** Starts one node on `store`; `port` 0 = any free port. The data directory (anchor, p11 socket) is its own. */
export async function startNode(store: string, name: string, opts: { dir?: string; port?: number; args?: string[]; env?: Record<string, string> } = {}): Promise<Node> {
  const dir = opts.dir ?? tempDir(`inkan-${name}-`);
  const p = await serve(['--store', store, '--data', dir, '--node', name, '--http', `127.0.0.1:${opts.port ?? 0}`, '--heartbeat', '300ms', ...(opts.args ?? [])], opts.env);
  const exited = new Promise<void>((resolve) => { if (p.child.exitCode !== null || p.child.signalCode !== null) resolve(); else p.child.once('exit', () => resolve()); });
  return { ...p, name, dir, exited, kill9: () => { p.child.kill('SIGKILL'); } };
}

export async function stopNodes(nodes: (Node | undefined)[], removeDirs = true): Promise<void> {
  await Promise.all(nodes.map(async (n) => {
    if (!n) return;
    await n.stop();
    if (removeDirs) fs.rmSync(n.dir, { recursive: true, force: true });
  }));
}

export interface Answer { status: number; body: any }

export async function call(url: string, method: string, path: string, body?: unknown, token?: string): Promise<Answer> {
  const r = await fetch(`${url}${path}`, {
    method, headers: token ? { authorization: `Bearer ${token}` } : {}, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let parsed: unknown;
  try { parsed = JSON.parse(text); } catch { parsed = text; }
  return { status: r.status, body: parsed };
}

/** Logs in on one node; returns a caller bound to that node and session. */
export async function login(url: string, username: string, password: string): Promise<(method: string, path: string, body?: unknown) => Promise<Answer>> {
  const r = await call(url, 'POST', '/v1/login', { username, password });
  if (r.status !== 200) throw new Error(`login ${username} on ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  const token = r.body.token as string;
  return (method, path, body) => call(url, method, path, body, token);
}

/** Initialises the domain on the first node (2 of 3 shares) and unseals every node with the same shares. */
export async function initCluster(nodes: Node[]): Promise<string[]> {
  const init = await call(nodes[0].url, 'POST', '/v1/init', { shares: 3, threshold: 2, officerUsername: OFFICER.username, officerPassword: OFFICER.password });
  if (init.status !== 201) throw new Error(`init: ${init.status} ${JSON.stringify(init.body)}`);
  const shares = init.body.shares as string[];
  for (const n of nodes) await unseal(n.url, shares);
  return shares;
}

export async function unseal(url: string, shares: string[]): Promise<void> {
  for (const share of shares.slice(0, 2)) {
    const r = await call(url, 'POST', '/v1/unseal', { share });
    if (r.status !== 200) throw new Error(`unseal ${url}: ${r.status} ${JSON.stringify(r.body)}`);
  }
}

export function kmsClient(endpoint: string, key: { accessKeyId: string; secretAccessKey: string }, maxAttempts = 1): KMSClient {
  return new KMSClient({ endpoint, region: 'us-east-1', credentials: key, maxAttempts });
}

/** A crypto user with a KMS access key, made through `officerCall`. */
export async function kmsUser(officerCall: (m: string, p: string, b?: unknown) => Promise<Answer>, username: string, password = 'user-password-1'): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  const made = await officerCall('POST', '/v1/users', { username, role: 'user', password });
  if (made.status !== 201) throw new Error(`user ${username}: ${made.status} ${JSON.stringify(made.body)}`);
  const key = await officerCall('POST', '/v1/access-keys', { user: username });
  if (key.status !== 201) throw new Error(`access key ${username}: ${key.status} ${JSON.stringify(key.body)}`);
  return { accessKeyId: key.body.accessKeyId, secretAccessKey: key.body.secretAccessKey };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
