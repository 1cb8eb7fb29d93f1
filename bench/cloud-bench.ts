// `npm run bench:cloud`: the cloud faces beside KMS, against one Inkan server in a child process.
// Key Vault Sign (RS256 on RSA-2048, ES256 on P-256) and Encrypt (A256GCM, 1 KiB) through the real
// @azure/keyvault-keys CryptographyClient (bearer tokens from @azure/identity, cached by the SDK),
// XKS Encrypt (AES-256-GCM, 1 KiB, SigV4-signed per request by @smithy/signature-v4) with the
// spec-derived client, and KMS Sign/Encrypt through @aws-sdk/client-kms; every client over
// keep-alive connections, at concurrency 1, 8 and 64. Prints req/s, p50/p99 and CPU per request.
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as nc from 'node:crypto';
import { ClientSecretCredential } from '@azure/identity';
import { CryptographyClient, KeyClient } from '@azure/keyvault-keys';
import { CreateKeyCommand, EncryptCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { XksClient } from '../test/protocol/xks/xks-client';
import { CONCURRENCY, measure, print, ROW_MS, startBenchServer, type Row } from './bench-util';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

async function main(): Promise<void> {
  console.error(`Inkan cloud-faces benchmark: ${ROW_MS} ms per row, ${require('node:os').cpus().length} CPUs, node ${process.version}`);
  const server = await startBenchServer();
  const rows: Row[] = [];
  const akv = server.akv;
  const tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, ca: fs.readFileSync(akv.caFile) });
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const kms = new KMSClient({ endpoint: server.kms.endpoint, region: server.kms.region, maxAttempts: 1,
    credentials: { accessKeyId: server.kms.accessKeyId, secretAccessKey: server.kms.secretAccessKey }, requestHandler: new NodeHttpHandler({ httpAgent }) });
  try {
    const credential = new ClientSecretCredential(akv.tenantId, akv.clientId, akv.clientSecret, { authorityHost: akv.authorityHost, disableInstanceDiscovery: true, agent: tlsAgent });
    const opts = { agent: tlsAgent, disableChallengeResourceVerification: true };
    const keys = new KeyClient(akv.vaultUrl, credential, opts);
    const rsa = new CryptographyClient(await keys.createRsaKey('bench-rsa', { keySize: 2048 }), credential, opts);
    const ec = new CryptographyClient(await keys.createEcKey('bench-ec', { curve: 'P-256' }), credential, opts);
    const aes = new CryptographyClient(await keys.createOctKey('bench-aes', { keySize: 256 }), credential, opts);
    const kib = nc.randomBytes(1024);
    const digest = nc.createHash('sha256').update(kib).digest();
    const x = server.xks;
    const xks = new XksClient({ host: 'localhost', port: Number(new URL(x.endpoint).port), prefix: x.uriPrefix, accessKeyId: x.accessKeyId,
      secretAccessKey: x.secretAccessKey, ca: fs.readFileSync(akv.caFile, 'utf8'), agent: tlsAgent });
    const kRsa = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const kEc = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const kAes = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const ok = async (p: Promise<{ status: number }>) => { const r = await p; if (r.status !== 200) throw new Error(`XKS HTTP ${r.status}`); };
    const ops: [string, string, () => Promise<unknown>][] = [
      ['Sign RSA-2048 PKCS#1 SHA-256', 'Key Vault SDK → Inkan', () => rsa.sign('RS256', digest)],
      ['Sign RSA-2048 PKCS#1 SHA-256', 'KMS SDK → Inkan', () => kms.send(new SignCommand({ KeyId: kRsa, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }))],
      ['Sign ECDSA P-256', 'Key Vault SDK → Inkan', () => ec.sign('ES256', digest)],
      ['Sign ECDSA P-256', 'KMS SDK → Inkan', () => kms.send(new SignCommand({ KeyId: kEc, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }))],
      ['Encrypt 1 KiB (AES-256-GCM)', 'Key Vault SDK → Inkan', () => aes.encrypt({ algorithm: 'A256GCM', plaintext: kib })],
      ['Encrypt 1 KiB (AES-256-GCM)', 'XKS client → Inkan', () => ok(xks.encrypt(x.keyId, kib))],
      ['Encrypt 1 KiB (AES-256-GCM)', 'KMS SDK → Inkan', () => kms.send(new EncryptCommand({ KeyId: kAes, Plaintext: kib }))],
    ];
    for (const [name, how, fn] of ops) for (const conc of CONCURRENCY) rows.push(await measure(name, how, conc, fn, server.pid));
  } finally {
    kms.destroy();
    tlsAgent.destroy();
    httpAgent.destroy();
    server.stop();
  }
  print(rows);
}
void main().catch((err) => { console.error(err); process.exitCode = 1; });
