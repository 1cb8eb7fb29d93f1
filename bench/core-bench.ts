// `npm run bench`: ops/s and latency through the core (policy gate, cached unsealed key,
// mechanism registry) beside raw node:crypto in the same process, at the same concurrency.
import * as nc from 'node:crypto';
import { promisify } from 'node:util';
import { CKA, CKM } from '../src/pkcs11/constants';
import { freshModule } from '../test/helpers/harness';

const DURATION_MS = Number(process.env.BENCH_MS ?? 2000);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const signAsync = promisify(nc.sign) as (a: string | null, d: Buffer, k: nc.SignKeyObjectInput | nc.KeyObject) => Promise<Buffer>;

interface Result { ops: number; p50: number; p99: number }

async function measure(op: () => Promise<unknown>): Promise<Result> {
  for (let i = 0; i < 50; i++) await op(); // warm-up
  const lat: number[] = [];
  const end = Date.now() + DURATION_MS;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (Date.now() < end) {
      const t = process.hrtime.bigint();
      await op();
      lat.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  }));
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  lat.sort((a, b) => a - b);
  return { ops: lat.length / secs, p50: lat[Math.floor(lat.length * 0.5)], p99: lat[Math.floor(lat.length * 0.99)] };
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main() {
  const m = await freshModule();
  const c = m.caller;
  const rsa = await m.hsm.keys.generateKeyPair(c, CKM.RSA_PKCS_KEY_PAIR_GEN, new Map<number, any>([[CKA.MODULUS_BITS, 2048], [CKA.TOKEN, true]]), new Map<number, any>([[CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false]]));
  const ec = await m.hsm.keys.generateKeyPair(c, CKM.EC_KEY_PAIR_GEN, new Map<number, any>([[CKA.EC_PARAMS, Buffer.from('06082a8648ce3d030107', 'hex')], [CKA.TOKEN, true]]), new Map<number, any>([[CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false]]));
  const aes = await m.hsm.keys.generateKey(c, CKM.AES_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false]]));
  const hmacKey = await m.hsm.keys.generateKey(c, CKM.GENERIC_SECRET_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.EXTRACTABLE, true], [CKA.SENSITIVE, false]]));
  // The same key material for the raw side, exported once (the keys were made extractable for this).
  const rsaRaw = nc.createPrivateKey({ key: (await m.hsm.lookup.exportKey(c, rsa.privateKey)).data, format: 'der', type: 'pkcs8' });
  const ecRaw = nc.createPrivateKey({ key: (await m.hsm.lookup.exportKey(c, ec.privateKey)).data, format: 'der', type: 'pkcs8' });
  const aesRaw = nc.createSecretKey((await m.hsm.lookup.exportKey(c, aes)).data);
  const hmacRaw = nc.createSecretKey((await m.hsm.lookup.exportKey(c, hmacKey)).data);
  const msg = Buffer.alloc(32, 7);
  const kib = Buffer.alloc(1024, 9);
  const iv = Buffer.alloc(12, 1);

  const rows: [string, () => Promise<unknown>, () => Promise<unknown>][] = [
    ['RSA-2048 sign (SHA256-RSA-PKCS)', () => m.hsm.crypto.sign(c, rsa.privateKey, CKM.SHA256_RSA_PKCS, {}, msg), () => signAsync('sha256', msg, rsaRaw)],
    ['ECDSA P-256 sign (ECDSA-SHA256)', () => m.hsm.crypto.sign(c, ec.privateKey, CKM.ECDSA_SHA256, {}, msg), () => signAsync('sha256', msg, { key: ecRaw, dsaEncoding: 'ieee-p1363' })],
    ['AES-256-GCM encrypt 1 KiB', () => m.hsm.crypto.encrypt(c, aes, CKM.AES_GCM, { iv }, kib), async () => {
      const ci = nc.createCipheriv('aes-256-gcm', aesRaw, iv); const out = Buffer.concat([ci.update(kib), ci.final(), ci.getAuthTag()]); return out; }],
    ['HMAC-SHA256 32 B', () => m.hsm.crypto.sign(c, hmacKey, CKM.SHA256_HMAC, {}, msg), async () => nc.createHmac('sha256', hmacRaw).update(msg).digest()],
  ];
  console.log(`Inkan core vs raw node:crypto — concurrency ${CONCURRENCY}, ${DURATION_MS} ms per cell, ${nc.getHashes().length ? process.version : ''}, ${require('node:os').cpus().length} cores`);
  console.log('| operation | core ops/s | core p50 ms | core p99 ms | raw ops/s | raw p50 ms | raw p99 ms | core/raw |');
  console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const [name, core, raw] of rows) {
    const r = await measure(raw);
    const k = await measure(core);
    console.log(`| ${name} | ${fmt(k.ops)} | ${fmt(k.p50, 3)} | ${fmt(k.p99, 3)} | ${fmt(r.ops)} | ${fmt(r.p50, 3)} | ${fmt(r.p99, 3)} | ${fmt(k.ops / r.ops * 100, 1)} % |`);
  }
  await m.close();
  await durability();
  await limits();
  await lookups();
}

/** What per-key limits cost (issue #11): the same HMAC on a key without limits, with usage periods
 *  (a check in the gate), and with a use limit (a counter taken in the use's own, fsynced, commit). */
async function limits() {
  const m = await freshModule();
  const now = Math.floor(Date.now() / 1000);
  const hmac = (extra: [number, unknown][]) => m.hsm.keys.generateKey(m.caller, CKM.GENERIC_SECRET_KEY_GEN,
    new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.SIGN, true], ...extra]));
  const plain = await hmac([]);
  const periods = await hmac([[CKA.INKAN_USE_NOT_BEFORE, now - 60], [CKA.INKAN_USE_NOT_AFTER, now + 86_400]]);
  const counted = await hmac([[CKA.INKAN_MAX_USES, 1_000_000_000]]);
  const msg = Buffer.alloc(32, 7);
  console.log(`\nPer-key limits — HMAC-SHA256 32 B, SQLite, concurrency ${CONCURRENCY}`);
  console.log('| key | ops/s | p50 ms | p99 ms |');
  console.log('|---|---:|---:|---:|');
  for (const [name, key] of [['no limits', plain], ['usage periods', periods], ['use limit (counter)', counted]] as const) {
    const r = await measure(() => m.hsm.crypto.sign(m.caller, key, CKM.SHA256_HMAC, {}, msg));
    console.log(`| ${name} | ${fmt(r.ops)} | ${fmt(r.p50, 3)} | ${fmt(r.p99, 3)} |`);
  }
  await m.close();
}

/** What power-loss durability costs (issue #8, item 11): a change (key creation) is always fsynced
 *  (SQLite synchronous=FULL); a key use's audit record only with --durable-uses. */
async function durability() {
  const normal = await freshModule();
  const durable = await freshModule({ durableUses: true });
  const aesOf = (t: typeof normal) => t.hsm.keys.generateKey(t.caller, CKM.AES_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true]]));
  const [a, b] = [await aesOf(normal), await aesOf(durable)];
  const msg = Buffer.alloc(32, 7);
  console.log(`\nDurability — SQLite commit per operation, concurrency ${CONCURRENCY} (uses are group-committed)`);
  console.log('| operation | commit | ops/s | p50 ms | p99 ms |');
  console.log('|---|---|---:|---:|---:|');
  const row = async (name: string, mode: string, op: () => Promise<unknown>) => {
    const r = await measure(op);
    console.log(`| ${name} | ${mode} | ${fmt(r.ops)} | ${fmt(r.p50, 3)} | ${fmt(r.p99, 3)} |`);
  };
  await row('AES-256 key creation (a change)', 'synchronous=FULL (always)', () => aesOf(normal));
  await row('AES-GCM encrypt 32 B (a use)', 'synchronous=NORMAL (default)', () => normal.hsm.crypto.encrypt(normal.caller, a, CKM.AES_GCM, { iv: nc.randomBytes(12) }, msg));
  await row('AES-GCM encrypt 32 B (a use)', 'synchronous=FULL (--durable-uses)', () => durable.hsm.crypto.encrypt(durable.caller, b, CKM.AES_GCM, { iv: nc.randomBytes(12) }, msg));
  await normal.close();
  await durable.close();
}

/** A label lookup of one user while another holds N objects under the same label (issue #8, item 8). */
async function lookups() {
  console.log(`\nLabel lookup by a user while another user holds N objects with the same label, concurrency ${CONCURRENCY}`);
  console.log('| N (other user\'s objects) | lookup ops/s | p50 ms | p99 ms |');
  console.log('|---:|---:|---:|---:|');
  for (const n of [10, 10_000]) {
    const m = await freshModule();
    const flooder = await m.newUser('flooder');
    for (let done = 0; done < n; done += 500) {
      await Promise.all(Array.from({ length: Math.min(500, n - done) }, () => m.hsm.keys.createObject(flooder,
        new Map<number, any>([[CKA.CLASS, 0 /* CKO_DATA */], [CKA.TOKEN, true], [CKA.LABEL, 'payments'], [CKA.VALUE, Buffer.from('x')]]))));
    }
    await m.hsm.keys.generateKey(m.caller, CKM.AES_KEY_GEN, new Map<number, any>([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.LABEL, 'payments']]));
    const r = await measure(() => m.hsm.lookup.resolve(m.caller, 'payments'));
    console.log(`| ${fmt(n)} | ${fmt(r.ops)} | ${fmt(r.p50, 3)} | ${fmt(r.p99, 3)} |`);
    await m.close();
  }
}

main().catch((err) => { console.error(err); process.exit(1); });
