// The CLI's HTTP client for the admin API: JSON in and out, login with a bearer token.
export class CliError extends Error {
  constructor(readonly code: string, message: string, readonly status = 0) { super(message); }
}

export interface Credentials { username: string; password: string }

export class AdminClient {
  private token?: string;

  /** `extra`: headers sent with every request (the quorum token of `--quorum-token`). */
  constructor(readonly server: string, token?: string, private readonly extra: Record<string, string> = {}) { this.token = token; }

  /** The bearer token of this client's session (for `inkan login` to keep). */
  get sessionToken(): string | undefined { return this.token; }

  async request<T = Record<string, unknown>>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.server), {
        method,
        headers: { 'content-type': 'application/json', ...this.extra, ...(this.token ? { authorization: `Bearer ${this.token}` } : {}), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new CliError('UNREACHABLE', `cannot reach the Inkan server at ${this.server} (${(err as Error).cause ?? (err as Error).message}); is \`inkan serve\` running? Set --server or INKAN_SERVER`);
    }
    const text = await res.text();
    let json: Record<string, unknown> = {};
    try { json = text ? JSON.parse(text) : {}; } catch { throw new CliError('BAD_RESPONSE', `the server answered ${res.status} with a non-JSON body`); }
    if (!res.ok) {
      const e = (json.error ?? {}) as { code?: string; message?: string };
      throw new CliError(e.code ?? 'HTTP_' + res.status, e.message ?? `HTTP ${res.status}`, res.status);
    }
    return json as T;
  }

  /** A binary request (backups), reporting received bytes to `progress`. */
  async binary(method: string, path: string, body?: Buffer, progress?: (bytes: number) => void): Promise<Buffer> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.server), {
        method, body,
        headers: { 'content-type': 'application/octet-stream', ...this.extra, ...(this.token ? { authorization: `Bearer ${this.token}` } : {}) },
      });
    } catch (err) {
      throw new CliError('UNREACHABLE', `cannot reach the Inkan server at ${this.server} (${(err as Error).message})`);
    }
    if (!res.ok || !res.body) {
      const json = await res.json().catch(() => ({})) as { error?: { code?: string; message?: string } };
      throw new CliError(json.error?.code ?? 'HTTP_' + res.status, json.error?.message ?? `HTTP ${res.status}`, res.status);
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(Buffer.from(chunk));
      bytes += chunk.length;
      progress?.(bytes);
    }
    return Buffer.concat(chunks);
  }

  /** A streamed GET (audit exports): the body as it arrives, never held whole. */
  async stream(path: string): Promise<AsyncIterable<Uint8Array>> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.server), { headers: this.token ? { authorization: `Bearer ${this.token}` } : {} });
    } catch (err) {
      throw new CliError('UNREACHABLE', `cannot reach the Inkan server at ${this.server} (${(err as Error).message})`);
    }
    if (!res.ok || !res.body) {
      const json = await res.json().catch(() => ({})) as { error?: { code?: string; message?: string } };
      throw new CliError(json.error?.code ?? 'HTTP_' + res.status, json.error?.message ?? `HTTP ${res.status}`, res.status);
    }
    return res.body as unknown as AsyncIterable<Uint8Array>;
  }

  async login(creds: Credentials, partition?: string): Promise<{ role: string; username: string; partition: string; expiresInSeconds: number }> {
    const r = await this.request<{ token: string; role: string; username: string; partition: string; expiresInSeconds: number }>('POST', '/v1/login',
      { ...creds, ...(partition && partition !== 'default' ? { partition } : {}) });
    this.token = r.token;
    return r;
  }

  async logout(): Promise<void> {
    if (!this.token) return;
    await this.request('POST', '/v1/logout', {}).catch(() => undefined);
    this.token = undefined;
  }

  /** Forgets the token without ending the session (a saved `inkan login` session outlives the command). */
  detach(): void { this.token = undefined; }
}
