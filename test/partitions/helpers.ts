// Fixtures for the partition tests: admin API logins into a named partition, and a partition
// `p1` made by the HSM officer with its first officer `pso` and a crypto user `alice`.
export type Admin = (method: string, p: string, body?: unknown) => Promise<{ status: number; body: any }>;

export const PSO_PASSWORD = 'pso-password-1';
export const ALICE_PASSWORD = 'alice-password-1';

/** Logs in to the admin API at `url` as `username` of `partition` (default: `default`). */
export async function adminLogin(url: string, username: string, password: string, partition?: string): Promise<Admin> {
  const res = await fetch(`${url}/v1/login`, { method: 'POST', body: JSON.stringify({ username, password, ...(partition ? { partition } : {}) }) });
  const body = await res.json() as { token?: string; error?: { code: string } };
  if (!body.token) throw Object.assign(new Error(`login ${partition ?? 'default'}/${username}: ${JSON.stringify(body)}`), { code: body.error?.code });
  return async (method, p, b) => {
    const r = await fetch(`${url}${p}`, { method, headers: { authorization: `Bearer ${body.token}` }, body: b === undefined ? undefined : JSON.stringify(b) });
    const text = await r.text();
    return { status: r.status, body: text ? JSON.parse(text) : undefined };
  };
}

/** The error code of a failed login, or 'OK'. */
export async function loginCode(url: string, username: string, password: string, partition?: string): Promise<string> {
  try { await adminLogin(url, username, password, partition); return 'OK'; } catch (err) { return (err as { code?: string }).code ?? String(err); }
}

export interface P1 { id: string; slot: number; serial: string; accountId: string; pso: Admin; alice: Admin }

/** The HSM officer creates `name` with officer pso; pso creates crypto user alice in it. */
export async function makePartition(url: string, hsmOfficer: Admin, name = 'p1', maxObjects?: number): Promise<P1> {
  const made = await hsmOfficer('POST', '/v1/partitions', { name, officer: { username: 'pso', password: PSO_PASSWORD }, maxObjects });
  if (made.status !== 201) throw new Error(`create ${name}: ${JSON.stringify(made.body)}`);
  const pso = await adminLogin(url, 'pso', PSO_PASSWORD, name);
  const u = await pso('POST', '/v1/users', { username: 'alice', role: 'user', password: ALICE_PASSWORD });
  if (u.status !== 201) throw new Error(`alice: ${JSON.stringify(u.body)}`);
  const alice = await adminLogin(url, 'alice', ALICE_PASSWORD, name);
  return { id: made.body.id, slot: made.body.slot, serial: made.body.serial, accountId: made.body.accountId, pso, alice };
}
