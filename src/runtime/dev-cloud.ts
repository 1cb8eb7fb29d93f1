// Development mode's entries for the cloud faces in dev-credentials.json: a Key Vault OAuth client
// of the dev crypto user (enough for `new KeyClient(vaultUrl, new ClientSecretCredential(tenantId,
// clientId, clientSecret, { authorityHost, disableInstanceDiscovery: true }), { disableChallengeResourceVerification: true })`
// with NODE_EXTRA_CA_CERTS=caFile), and an XKS key store of that user with its four test keys
// (an AES-256 key, an encrypt-only, a decrypt-only and an impotent one, as the XKS test client
// expects). Entries that still authenticate are kept across restarts; others are issued anew.
import type { Hsm } from '../core/hsm';
import type { Caller } from '../core/principal';
import type { AkvCoreBackend } from '../api/akv/core-backend';
import { KeyPortError, type KeyUse } from '../api/key-port';
import type { DevCredentials } from './dev-mode';

export const DEV_XKS_REGION = 'us-east-1';

export interface DevAkvCredentials { vaultUrl: string; tenantId: string; clientId: string; clientSecret: string; authorityHost: string; caFile?: string }
export interface DevXksCredentials {
  endpoint: string; uriPrefix: string; region: string; accessKeyId: string; secretAccessKey: string; caFile?: string;
  keyId: string; encryptOnlyKeyId: string; decryptOnlyKeyId: string; impotentKeyId: string;
}

const XKS_KEYS: [keyof DevXksCredentials, string, KeyUse[]][] = [
  ['keyId', 'xks-key', ['encrypt', 'decrypt']], ['encryptOnlyKeyId', 'xks-encrypt-only', ['encrypt']],
  ['decryptOnlyKeyId', 'xks-decrypt-only', ['decrypt']], ['impotentKeyId', 'xks-impotent', []],
];

async function devUser(hsm: Hsm, creds: DevCredentials): Promise<Caller> {
  return hsm.callerOf(await hsm.login(creds.user.username, creds.user.password), 'internal');
}

export async function devAkvCredentials(hsm: Hsm, creds: DevCredentials, akv: { vaultUrl: string; authorityHost: string; tenantId: string; caFile?: string }): Promise<DevAkvCredentials> {
  const previous = creds.akv as Partial<DevAkvCredentials> | undefined;
  let client = previous?.clientId && previous.clientSecret ? { clientId: previous.clientId, clientSecret: previous.clientSecret } : undefined;
  if (client && !(await hsm.credentials.clients.lookupOAuth(client.clientId))) client = undefined;
  client ??= await hsm.credentials.clients.createOAuthClient(await devUser(hsm, creds));
  return { vaultUrl: akv.vaultUrl, tenantId: akv.tenantId, clientId: client.clientId, clientSecret: client.clientSecret, authorityHost: akv.authorityHost, caFile: akv.caFile };
}

export async function devXksCredentials(hsm: Hsm, creds: DevCredentials, xks: { endpoint: string; caFile?: string }, akv: AkvCoreBackend): Promise<DevXksCredentials> {
  const previous = creds.xks as Partial<DevXksCredentials> | undefined;
  const user = await devUser(hsm, creds);
  let store = previous?.uriPrefix && previous.accessKeyId && previous.secretAccessKey
    ? { uriPrefix: previous.uriPrefix, accessKeyId: previous.accessKeyId, secretAccessKey: previous.secretAccessKey } : undefined;
  if (store && (await hsm.credentials.clients.lookupXks(store.uriPrefix, store.accessKeyId))?.secret !== store.secretAccessKey) store = undefined;
  store ??= await hsm.credentials.clients.createXks(user);
  const ctx = { caller: user, face: 'akv' as const, requestId: 'dev-mode' };
  for (const [, name, uses] of XKS_KEYS) {
    try { await akv.getKey(ctx, { name }); } catch (err) {
      if (!(err instanceof KeyPortError) || err.code !== 'not-found') throw err;
      await akv.createKey(ctx, name, { type: 'aes', bits: 256 }, { uses });
    }
  }
  const ids = Object.fromEntries(XKS_KEYS.map(([field, name]) => [field, name])) as Pick<DevXksCredentials, 'keyId' | 'encryptOnlyKeyId' | 'decryptOnlyKeyId' | 'impotentKeyId'>;
  return { endpoint: xks.endpoint, uriPrefix: store.uriPrefix, region: DEV_XKS_REGION, accessKeyId: store.accessKeyId, secretAccessKey: store.secretAccessKey, caFile: xks.caFile, ...ids };
}
