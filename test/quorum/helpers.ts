// Fixtures for the quorum tests: HTTP calls to the admin API with an optional quorum token, and
// approvers' personal keys made and used with node:crypto directly (a second implementation: the
// test signs the canonical bytes the server gives and checks them against its own encoding).
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import type { TestServer } from '../helpers/harness';

export type Call = (method: string, p: string, body?: unknown, quorumToken?: string) => Promise<{ status: number; body: any }>;

export async function session(srv: TestServer, username: string, password: string): Promise<Call> {
  const res = await fetch(`${srv.url}/v1/login`, { method: 'POST', body: JSON.stringify({ username, password }) });
  const { token } = await res.json() as { token: string };
  assert.ok(token, `login of ${username}`);
  return async (method, p, body, quorumToken) => {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (quorumToken) headers['x-inkan-quorum-token'] = quorumToken;
    const r = await fetch(`${srv.url}${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: r.status, body: await r.json() };
  };
}

export interface Approver { name: string; call: Call; privateKey: crypto.KeyObject; publicPem: string }

export function keyPair(kind: 'ed25519' | 'p256'): { privateKey: crypto.KeyObject; publicPem: string } {
  const pair = kind === 'ed25519' ? crypto.generateKeyPairSync('ed25519') : crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { privateKey: pair.privateKey, publicPem: pair.publicKey.export({ format: 'pem', type: 'spki' }) as string };
}

/** Our own canonical encoding of a token body: sorted keys at every level, no whitespace. */
export function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** Signs a token view's canonical bytes, after checking they encode exactly the body shown. */
export function signView(view: { body: unknown; canonical: string }, key: crypto.KeyObject): string {
  const bytes = Buffer.from(view.canonical, 'base64');
  assert.equal(bytes.toString('utf8'), `inkan-quorum-token-1\n${canonical(view.body)}`, 'the canonical bytes are the body shown');
  const sig = key.asymmetricKeyType === 'ed25519' ? crypto.sign(null, bytes, key) : crypto.sign('sha256', bytes, key);
  return sig.toString('base64');
}

export async function approve(a: Approver, tokenId: string): Promise<{ status: number; body: any }> {
  const view = await a.call('GET', `/v1/quorum/tokens/${tokenId}`);
  assert.equal(view.status, 200, JSON.stringify(view.body));
  return a.call('POST', `/v1/quorum/tokens/${tokenId}/approve`, { signature: signView(view.body, a.privateKey) });
}

export function isError(r: { status: number; body: any }, code: string): void {
  assert.equal(r.body?.error?.code, code, `expected ${code}, got ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
}
