// Fixtures for the KMS face tests: a dev server (its crypto user's access key comes from
// dev-credentials.json, as a developer would read it) and the real @aws-sdk/client-kms v3.
import { KMSClient } from '@aws-sdk/client-kms';
import { devServer, USER_PASSWORD, type TestServer } from '../../helpers/harness';

// The SDK warns once per process that its 2027 releases need Node 22; Inkan targets Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export interface KmsFixture {
  server: TestServer;
  kms: KMSClient;
  /** A client for a second crypto user (made by the officer, with its own access key). */
  otherUser(name: string): Promise<KMSClient>;
  close(): Promise<void>;
}

export function client(endpoint: string, accessKeyId: string, secretAccessKey: string, region = 'us-east-1'): KMSClient {
  return new KMSClient({ endpoint, region, credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });
}

export async function kmsFixture(): Promise<KmsFixture> {
  const server = await devServer();
  const creds = server.credentials!.kms as { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
  const kms = client(creds.endpoint, creds.accessKeyId, creds.secretAccessKey, creds.region);
  const others: KMSClient[] = [];
  return {
    server, kms,
    async otherUser(name) {
      const officer = await server.login(server.credentials!.officer.username, server.credentials!.officer.password);
      const made = await officer('POST', '/v1/users', { username: name, role: 'user', password: USER_PASSWORD });
      if (made.status !== 201) throw new Error(`cannot create ${name}: ${JSON.stringify(made.body)}`);
      const key = await officer('POST', '/v1/access-keys', { user: name });
      const c = client(server.url, key.body.accessKeyId, key.body.secretAccessKey);
      others.push(c);
      return c;
    },
    async close() {
      kms.destroy();
      for (const c of others) c.destroy();
      await server.close();
    },
  };
}

/** Asserts that a promise rejects with the named AWS error (and optionally HTTP status). */
export async function rejectsWith(p: Promise<unknown>, name: string, status?: number): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await p;
  } catch (err) {
    const e = err as Error & { $metadata?: { httpStatusCode?: number } };
    if (e.name !== name) throw new Error(`expected ${name}, got ${e.name}: ${e.message}`);
    if (status !== undefined && e.$metadata?.httpStatusCode !== status) throw new Error(`expected status ${status} for ${name}, got ${e.$metadata?.httpStatusCode}`);
    return e;
  }
  throw new Error(`expected ${name}, but the call succeeded`);
}
