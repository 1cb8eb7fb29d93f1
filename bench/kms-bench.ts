// `npm run bench:kms`: Sign (RSA-2048 PKCS#1 SHA-256, ECDSA P-256), Encrypt/Decrypt of 1 KiB and
// GenerateDataKey through @aws-sdk/client-kms over keep-alive HTTP at concurrency 1, 8 and 64,
// against an Inkan server in a child process; beside the same operations done directly with
// node:crypto in this process. Prints req/s, p50/p99 latency and the CPU each process used.
import * as http from 'node:http';
import * as nc from 'node:crypto';
import { promisify } from 'node:util';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { CONCURRENCY, measure, print, ROW_MS, startBenchServer, type Creds, type Row } from './bench-util';

// The SDK warns once per process that its 2027 releases need Node 22; Inkan targets Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** The request the SDK would send for `command`, signed, without sending it. */
async function presign(creds: Creds, command: SignCommand): Promise<{ headers: Record<string, string>; body: Buffer }> {
  const capture = new KMSClient({ endpoint: creds.endpoint, region: creds.region, maxAttempts: 1,
    credentials: { accessKeyId: creds.accessKeyId, secretAccessKey: creds.secretAccessKey }, requestHandler: {
    handle: async (req: { headers: Record<string, string>; body: Uint8Array | string }) => {
      const body = typeof req.body === 'string' ? Buffer.from(req.body) : Buffer.from(req.body.buffer, req.body.byteOffset, req.body.byteLength);
      throw Object.assign(new Error('captured'), { captured: { headers: { ...req.headers }, body } });
    },
  } as never });
  try { await capture.send(command); } catch (err) {
    const c = (err as { captured?: { headers: Record<string, string>; body: Buffer } }).captured;
    if (c) return c;
    throw err;
  } finally { capture.destroy(); }
  throw new Error('nothing captured');
}

/** Replays one pre-signed request (valid for the 15-minute SigV4 window) over keep-alive HTTP: the server's share alone. */
function replayer(endpoint: string, agent: http.Agent, req: { headers: Record<string, string>; body: Buffer }): () => Promise<void> {
  const url = new URL(endpoint);
  return () => new Promise((resolve, reject) => {
    const r = http.request({ host: url.hostname, port: url.port, method: 'POST', path: '/', headers: req.headers, agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
    });
    r.on('error', reject);
    r.end(req.body);
  });
}

const signAsync = promisify(nc.sign) as (alg: string, data: Buffer, key: nc.KeyObject) => Promise<Buffer>;

async function direct(rows: Row[]): Promise<void> {
  const rsa = nc.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = nc.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const aes = nc.randomBytes(32);
  const kib = nc.randomBytes(1024);
  const gcm = () => {
    const iv = nc.randomBytes(12);
    const c = nc.createCipheriv('aes-256-gcm', aes, iv);
    return { iv, ct: Buffer.concat([c.update(kib), c.final()]), tag: c.getAuthTag() };
  };
  const sealed = gcm();
  const ops: [string, () => Promise<unknown>, boolean][] = [
    ['Sign RSA-2048 PKCS#1 SHA-256', () => signAsync('sha256', kib, rsa), true],
    ['Sign ECDSA P-256', () => signAsync('sha256', kib, ec), true],
    ['Encrypt 1 KiB', async () => gcm(), false],
    ['Decrypt 1 KiB', async () => {
      const d = nc.createDecipheriv('aes-256-gcm', aes, sealed.iv);
      d.setAuthTag(sealed.tag);
      return Buffer.concat([d.update(sealed.ct), d.final()]);
    }, false],
    ['GenerateDataKey', async () => { const k = nc.randomBytes(32); const c = nc.createCipheriv('aes-256-gcm', aes, nc.randomBytes(12)); return [c.update(k), c.final(), c.getAuthTag()]; }, false],
  ];
  for (const [name, fn, pooled] of ops) {
    for (const conc of pooled ? CONCURRENCY : [1]) rows.push(await measure(name, pooled ? 'node:crypto (libuv pool)' : 'node:crypto (inline)', conc, fn));
  }
}

async function overKms(rows: Row[]): Promise<void> {
  const server = await startBenchServer();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const kms = new KMSClient({
    endpoint: server.kms.endpoint, region: server.kms.region, maxAttempts: 1,
    credentials: { accessKeyId: server.kms.accessKeyId, secretAccessKey: server.kms.secretAccessKey },
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
  try {
    const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const ec = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
    const aes = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const kib = nc.randomBytes(1024);
    const blob = (await kms.send(new EncryptCommand({ KeyId: aes, Plaintext: kib }))).CiphertextBlob!;
    const ops: [string, () => Promise<unknown>][] = [
      ['Sign RSA-2048 PKCS#1 SHA-256', () => kms.send(new SignCommand({ KeyId: rsa, Message: kib, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }))],
      ['Sign ECDSA P-256', () => kms.send(new SignCommand({ KeyId: ec, Message: kib, SigningAlgorithm: 'ECDSA_SHA_256' }))],
      ['Encrypt 1 KiB', () => kms.send(new EncryptCommand({ KeyId: aes, Plaintext: kib }))],
      ['Decrypt 1 KiB', () => kms.send(new DecryptCommand({ CiphertextBlob: blob }))],
      ['GenerateDataKey', () => kms.send(new GenerateDataKeyCommand({ KeyId: aes, KeySpec: 'AES_256' }))],
    ];
    for (const [name, fn] of ops) for (const conc of CONCURRENCY) rows.push(await measure(name, 'KMS SDK → Inkan', conc, fn, server.pid));
    // The same Sign requests pre-signed once by the SDK and replayed by a bare HTTP client:
    // what the server sustains when the SDK's own per-request cost is taken out.
    const raw: [string, SignCommand][] = [
      ['Sign RSA-2048 PKCS#1 SHA-256', new SignCommand({ KeyId: rsa, Message: kib, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' })],
      ['Sign ECDSA P-256', new SignCommand({ KeyId: ec, Message: kib, SigningAlgorithm: 'ECDSA_SHA_256' })],
    ];
    for (const [name, command] of raw) {
      const fn = replayer(server.kms.endpoint, agent, await presign(server.kms, command));
      for (const conc of [8, 64]) rows.push(await measure(name, 'pre-signed HTTP → Inkan', conc, fn, server.pid));
    }
  } finally {
    kms.destroy();
    agent.destroy();
    server.stop();
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  console.error(`Inkan KMS benchmark: ${ROW_MS} ms per row, ${require('node:os').cpus().length} CPUs, node ${process.version}`);
  await overKms(rows);
  await direct(rows);
  const order = (r: Row) => ['Sign RSA-2048 PKCS#1 SHA-256', 'Sign ECDSA P-256', 'Encrypt 1 KiB', 'Decrypt 1 KiB', 'GenerateDataKey'].indexOf(r.op);
  print(rows.sort((a, b) => order(a) - order(b)));
}
void main().catch((err) => { console.error(err); process.exitCode = 1; });
