// The Key Vault face on the real server (startServer in dev mode): its dev TLS listener and dev CA,
// the dev crypto user's OAuth client from dev-credentials.json, and the real @azure/identity and
// @azure/keyvault-keys clients with the options docs/akv.md gives (the dev CA trusted through an
// agent here, NODE_EXTRA_CA_CERTS in a shell). Clients of other roles are real users with real
// OAuth clients; the test's own ids and secrets are mapped to them.
import * as fs from 'node:fs';
import * as https from 'node:https';
import { ClientSecretCredential } from '@azure/identity';
import { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import { devServer, USER_PASSWORD, type TestServer } from '../../helpers/harness';
import { CLIENT_ID, CLIENT_SECRET, type AkvTarget } from '../../protocol/akv/harness';
import type { Role } from '../../helpers/memory-port';
import type { Caller } from '../../../src/core/principal';
import { KEY_NAME_KIND } from '../../../src/api/core-key-port';

export interface AkvCoreFixture extends AkvTarget {
  server: TestServer;
  tenantId: string;
  caFile: string;
  /** The dev officer, for core reads in assertions. */
  officer(): Promise<Caller>;
  /** Key Vault names in the partition, without the dev XKS keys. */
  names(): Promise<string[]>;
  versionCount(name: string): Promise<number>;
}

export async function startAkvCore(opts: { retentionDays?: number; purgeProtection?: boolean } = {}): Promise<AkvCoreFixture> {
  const server = await devServer(undefined, { cloud: { akvRetentionDays: opts.retentionDays, akvPurgeProtection: opts.purgeProtection } });
  const akv = server.credentials!.akv as { vaultUrl: string; tenantId: string; clientId: string; clientSecret: string; authorityHost: string; caFile: string };
  const agent = new https.Agent({ ca: fs.readFileSync(akv.caFile), keepAlive: true });
  const clients = new Map<string, { testSecret: string; clientId: string; clientSecret: string }>([
    [CLIENT_ID, { testSecret: CLIENT_SECRET, clientId: akv.clientId, clientSecret: akv.clientSecret }],
  ]);
  const real = (id = CLIENT_ID, secret = CLIENT_SECRET) => {
    const m = clients.get(id);
    return m ? { id: m.clientId, secret: secret === m.testSecret ? m.clientSecret : secret } : { id, secret };
  };
  const credential = (id?: string, secret?: string) => {
    const r = real(id, secret);
    return new ClientSecretCredential(akv.tenantId, r.id, r.secret, { authorityHost: akv.authorityHost, disableInstanceDiscovery: true, agent });
  };
  const hsm = server.hsm;
  const officer = async () => hsm.callerOf(await hsm.login(server.credentials!.officer.username, server.credentials!.officer.password), 'internal');
  const clientOpts = { agent, disableChallengeResourceVerification: true };
  return {
    server, agent, tlsPort: Number(new URL(akv.vaultUrl).port), vaultHost: '127.0.0.1', vaultUrl: akv.vaultUrl, authorityHost: akv.authorityHost,
    resource: server.cloud!.akv!.resource, tenantId: akv.tenantId, caFile: akv.caFile, credential, officer,
    keyClient: (id, secret) => new KeyClient(akv.vaultUrl, credential(id, secret), clientOpts),
    cryptoClient: (keyId, id, secret) => new CryptographyClient(keyId, credential(id, secret), clientOpts),
    async addClient(clientId: string, secret: string, role: Role) {
      if (clients.has(clientId)) return;
      const o = await officer();
      await hsm.users.create(o, clientId, role, USER_PASSWORD);
      const made = await hsm.credentials.clients.createOAuthClient(o, clientId);
      clients.set(clientId, { testSecret: secret, clientId: made.clientId, clientSecret: made.clientSecret });
    },
    async names() {
      const user = hsm.callerOf(await hsm.login(server.credentials!.user.username, server.credentials!.user.password), 'internal');
      return (await hsm.names.list(user, KEY_NAME_KIND)).map((n) => n.name).filter((n) => !n.startsWith('xks-'));
    },
    async versionCount(name: string) {
      const user = hsm.callerOf(await hsm.login(server.credentials!.user.username, server.credentials!.user.password), 'internal');
      return (await hsm.managed.get(user, await hsm.names.resolve(user, KEY_NAME_KIND, name))).data.versions.length;
    },
    async close() { agent.destroy(); await server.close(); },
  };
}
