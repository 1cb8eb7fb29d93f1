// `npm run bench:kms`: Sign (RSA-2048 PKCS#1 SHA-256, ECDSA P-256), Encrypt/Decrypt of 1 KiB and
// GenerateDataKey through @aws-sdk/client-kms over keep-alive HTTP at concurrency 1, 8 and 64,
// against an Inkan server in a child process; beside the same operations done directly with
// node:crypto in this process. Prints req/s, p50/p99 latency and the CPU each process used.
import * as http from 'node:http';
import * as os from 'node:os';
import * as nc from 'node:crypto';
import { promisify } from 'node:util';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, GenerateDataKeyCommand, KMSClient, SignCommand } from '@aws-sdk/client-kms';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import * as path from 'node:path';
import { nativeEcdsa } from '../src/crypto/native-ecdsa';
import { CONCURRENCY, measure, medianRow, presign, print, replayer, ROW_MS, startBenchServer, type BenchServer, type Row } from './bench-util';

/** BENCH_REPEAT runs per row (median; default 3); BENCH_SDK=0 leaves out the SDK rows (pre-signed only). */
const REPEAT = Number(process.env.BENCH_REPEAT ?? 3);
const SDK = process.env.BENCH_SDK !== '0';

// The SDK warns once per process that its 2027 releases need Node 22; Inkan targets Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const signAsync = promisify(nc.sign) as (alg: string, data: Buffer, key: nc.KeyObject) => Promise<Buffer>;

async function direct(rows: Row[]): Promise<void> {
  const rsa = nc.generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const ec = nc.generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const aes = nc.randomBytes(32);
  const kib = nc.randomBytes(1024);
  const digest = nc.createHash('sha256').update(kib).digest();
  const gcm = () => {
    const iv = nc.randomBytes(12);
    const c = nc.createCipheriv('aes-256-gcm', aes, iv);
    return { iv, ct: Buffer.concat([c.update(kib), c.final()]), tag: c.getAuthTag() };
  };
  const sealed = gcm();
  const ops: [string, () => Promise<unknown>, boolean, string?][] = [
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
  const native = nativeEcdsa();
  if (native) ops.splice(2, 0, ['Sign ECDSA P-256 DIGEST', () => native.sign(ec, digest), true, 'OpenSSL via native/ addon (libuv pool)']);
  for (const [name, fn, pooled, how] of ops) {
    for (const conc of pooled ? CONCURRENCY : [1]) rows.push(await measure(name, how ?? (pooled ? 'node:crypto (libuv pool)' : 'node:crypto (inline)'), conc, fn));
  }
}

interface Target { name: string; server: BenchServer; kms: KMSClient; agent: http.Agent; ops: [string, string, () => Promise<unknown>][] }

/** One server (this build, or BENCH_BASELINE's) with its keys made and its operations ready to time. */
async function target(name: string, script?: string, env?: Record<string, string>): Promise<Target> {
  const server = await startBenchServer(script, env);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const kms = new KMSClient({
    endpoint: server.kms.endpoint, region: server.kms.region, maxAttempts: 1,
    credentials: { accessKeyId: server.kms.accessKeyId, secretAccessKey: server.kms.secretAccessKey },
    requestHandler: new NodeHttpHandler({ httpAgent: agent }),
  });
  const rsa = (await kms.send(new CreateKeyCommand({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
  const ec = (await kms.send(new CreateKeyCommand({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!.KeyId!;
  const aes = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const kib = nc.randomBytes(1024);
  const digest = nc.createHash('sha256').update(kib).digest();
  const blob = (await kms.send(new EncryptCommand({ KeyId: aes, Plaintext: kib }))).CiphertextBlob!;
  const sdk = `KMS SDK → ${name}`;
  const ops: Target['ops'] = SDK ? [
    ['Sign RSA-2048 PKCS#1 SHA-256', sdk, () => kms.send(new SignCommand({ KeyId: rsa, Message: kib, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' }))],
    ['Sign ECDSA P-256', sdk, () => kms.send(new SignCommand({ KeyId: ec, Message: kib, SigningAlgorithm: 'ECDSA_SHA_256' }))],
    ['Sign ECDSA P-256 DIGEST', sdk, () => kms.send(new SignCommand({ KeyId: ec, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' }))],
    ['Encrypt 1 KiB', sdk, () => kms.send(new EncryptCommand({ KeyId: aes, Plaintext: kib }))],
    ['Decrypt 1 KiB', sdk, () => kms.send(new DecryptCommand({ CiphertextBlob: blob }))],
    ['GenerateDataKey', sdk, () => kms.send(new GenerateDataKeyCommand({ KeyId: aes, KeySpec: 'AES_256' }))],
  ] : [];
  // The same requests pre-signed once by the SDK and replayed by a bare HTTP client: what the
  // server sustains when the SDK's own per-request cost is taken out.
  const raw: [string, Parameters<typeof presign>[1]][] = [
    ['Sign RSA-2048 PKCS#1 SHA-256', new SignCommand({ KeyId: rsa, Message: kib, SigningAlgorithm: 'RSASSA_PKCS1_V1_5_SHA_256' })],
    ['Sign ECDSA P-256', new SignCommand({ KeyId: ec, Message: kib, SigningAlgorithm: 'ECDSA_SHA_256' })],
    ['Sign ECDSA P-256 DIGEST', new SignCommand({ KeyId: ec, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: 'ECDSA_SHA_256' })],
    ['Encrypt 1 KiB', new EncryptCommand({ KeyId: aes, Plaintext: kib })],
    ['GenerateDataKey', new GenerateDataKeyCommand({ KeyId: aes, KeySpec: 'AES_256' })],
  ];
  for (const [op, command] of raw) ops.push([op, `pre-signed HTTP → ${name}`, replayer(server.kms.endpoint, agent, await presign(server.kms, command))]);
  return { name, server, kms, agent, ops };
}

async function overKms(rows: Row[]): Promise<void> {
  const workers = Number(process.env.BENCH_WORKERS ?? os.availableParallelism());
  const targets = [await target(workers > 1 ? `Inkan --workers ${workers}` : 'Inkan')];
  // The same build in one process beside it, unless that is what was asked for.
  if (workers > 1 && process.env.BENCH_ONE !== '0') targets.push(await target('Inkan 1 process', undefined, { BENCH_WORKERS: '1' }));
  if (process.env.BENCH_BASELINE) targets.push(await target('Inkan before', path.join(process.env.BENCH_BASELINE, 'bench', 'kms-bench-server.js')));
  try {
    for (let i = 0; i < targets[0].ops.length; i++) {
      const [, how] = targets[0].ops[i];
      for (const conc of how.startsWith('pre-signed') ? [64] : CONCURRENCY) {
        const runs = targets.map(() => [] as Row[]);
        for (let r = 0; r < REPEAT; r++) {
          for (let j = 0; j < targets.length; j++) {
            const [op, how2, fn] = targets[j].ops[i];
            runs[j].push(await measure(op, how2, conc, fn, targets[j].server.pid));
          }
        }
        rows.push(...runs.map(medianRow));
      }
    }
  } finally {
    for (const t of targets) { t.kms.destroy(); t.agent.destroy(); t.server.stop(); }
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  console.error(`Inkan KMS benchmark: ${ROW_MS} ms per row, median of ${REPEAT} interleaved runs, ${require('node:os').cpus().length} CPUs, load ${require('node:os').loadavg()[0].toFixed(1)}, node ${process.version}`);
  await overKms(rows);
  await direct(rows);
  const order = (r: Row) => ['Sign RSA-2048 PKCS#1 SHA-256', 'Sign ECDSA P-256', 'Sign ECDSA P-256 DIGEST', 'Encrypt 1 KiB', 'Decrypt 1 KiB', 'GenerateDataKey'].indexOf(r.op);
  print(rows.sort((a, b) => order(a) - order(b)));
}
void main().catch((err) => { console.error(err); process.exitCode = 1; });
