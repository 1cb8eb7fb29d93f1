// `npm run bench:ecdsa`: the ways to sign a caller's digest with ECDSA P-256 (CKM_ECDSA), side by
// side in one process and one run, each row 3 times (median): @noble/curves on the worker pool
// (before; now the fallback), OpenSSL's EVP_PKEY_sign through koffi (bench/options, measured and
// not shipped) and through the native/ addon (what Inkan uses), node:crypto's hash-and-sign on
// the libuv pool (what node does without a raw-digest API), and `openssl speed -multi 2
// ecdsap256` as the machine's ceiling.
import { execFile } from 'node:child_process';
import * as nc from 'node:crypto';
import * as os from 'node:os';
import { promisify } from 'node:util';
import { offLoop } from '../src/crypto/off-loop';
import { signDigest } from '../src/crypto/raw-ecdsa';
import { available, signDigestOpenSsl } from './options/koffi-ecdsa';
import { nativeEcdsa } from '../src/crypto/native-ecdsa';

const ROW_MS = Number(process.env.BENCH_MS ?? 1500);
const CONC = Number(process.env.BENCH_CONCURRENCY ?? 64);
const REPEAT = 3;
const signAsync = promisify(nc.sign) as (a: string | null, d: Buffer, k: nc.KeyObject) => Promise<Buffer>;

async function rate(op: () => Promise<unknown>): Promise<number> {
  for (let i = 0; i < 20; i++) await op();
  let n = 0;
  const end = performance.now() + ROW_MS;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: CONC }, async () => { while (performance.now() < end) { await op(); n++; } }));
  return n / ((performance.now() - t0) / 1000);
}

function opensslSpeed(): Promise<number> {
  return new Promise((resolve) => execFile('openssl', ['speed', '-seconds', '2', '-multi', '2', 'ecdsap256'], (err, out) => {
    const m = /256 bits ecdsa \(nistp256\)\s+[\d.]+s\s+[\d.]+s\s+([\d.]+)/.exec(out);
    resolve(m ? Number(m[1]) : NaN);
  }));
}

async function main(): Promise<void> {
  const { privateKey } = nc.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const digest = nc.randomBytes(32);
  const rows: [string, () => Promise<unknown>][] = [
    ['@noble/curves, worker threads (before; the fallback)', () => offLoop({ op: 'ecdsa-sign-digest', key: privateKey, data: digest, curve: 'prime256v1' })],
    ['@noble/curves, on the event loop', async () => signDigest('prime256v1', privateKey, digest)],
  ];
  if (available()) rows.push(['OpenSSL EVP_PKEY_sign via koffi, koffi worker threads', () => signDigestOpenSsl(privateKey, digest, 32)]);
  const native = nativeEcdsa();
  if (native) rows.push(['OpenSSL EVP_PKEY_sign via native/ addon, libuv pool (after)', () => native.sign(privateKey, digest)]);
  rows.push(['node:crypto sign(sha256) on the libuv pool (hash-and-sign)', () => signAsync('sha256', digest, privateKey)]);
  const results: [string, number[]][] = [];
  for (const [name] of rows) results.push([name, []]);
  for (let r = 0; r < REPEAT; r++) for (let i = 0; i < rows.length; i++) results[i][1].push(await rate(rows[i][1]));
  const speeds: number[] = [];
  if (!process.env.BENCH_NO_SPEED) for (let r = 0; r < REPEAT; r++) speeds.push(await opensslSpeed());
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const ceiling = speeds.length ? median(speeds) : NaN;
  console.log(`ECDSA P-256 over a 32-byte digest, concurrency ${CONC}, ${ROW_MS} ms per row, median of ${REPEAT} (runs interleaved), ${os.cpus().length} cores, load ${os.loadavg()[0].toFixed(1)}\n`);
  console.log('| path | signatures/s (median) | runs | of openssl speed |');
  console.log('|---|---:|---|---:|');
  const f = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
  for (const [name, xs] of results) console.log(`| ${name} | ${f(median(xs))} | ${xs.map(f).join(' / ')} | ${(median(xs) / ceiling * 100).toFixed(1)} % |`);
  if (speeds.length) console.log(`| \`openssl speed -multi 2 ecdsap256\` | ${f(ceiling)} | ${speeds.map(f).join(' / ')} | 100 % |`);
}

main().catch((err) => { console.error(err); process.exitCode = 1; });
