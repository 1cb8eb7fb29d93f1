// A measured alternative, not shipped (bench/ecdsa-bench.ts, docs/performance.md): ECDSA over a
// caller's digest by calling the OpenSSL that node exports (EVP_PKEY_sign) through koffi, with
// no build step. Each signature is one koffi async call; koffi's per-call async machinery costs
// more than the signature, so the native/ addon (libuv pool) is ~3× faster and is what Inkan uses.
import type { KeyObject } from 'node:crypto';

type Ptr = unknown; // koffi's opaque pointers (external values); never inspected here
type Cb<T> = (err: Error | null, res: T) => void;
interface AsyncFn<A extends unknown[], R> { (...args: A): R; async(...args: [...A, Cb<R>]): void }

interface Lib {
  BIO_new_mem_buf: (buf: Buffer, len: number) => Ptr;
  BIO_free: (bio: Ptr) => number;
  d2i_PrivateKey_bio: (bio: Ptr, out: null) => Ptr;
  EVP_PKEY_free: (pkey: Ptr) => void;
  EVP_PKEY_CTX_new: (pkey: Ptr, engine: null) => Ptr;
  EVP_PKEY_CTX_free: (ctx: Ptr) => void;
  EVP_PKEY_sign_init: (ctx: Ptr) => number;
  EVP_PKEY_sign: AsyncFn<[Ptr, Buffer, number[], Buffer, number], number>;
  ERR_clear_error: () => void;
}

let lib: Lib | null | undefined;
let reason: string | undefined;

/** In-flight koffi async calls are capped (koffi throws past max_async_calls = 256). */
const MAX_IN_FLIGHT = 64;
let inFlight = 0;
const queue: (() => void)[] = [];

function load(): Lib | null {
  if (lib !== undefined) return lib;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const koffi = require('koffi') as typeof import('koffi');
    const self = koffi.load(null as unknown as string); // the node binary's own exported symbols
    const version = self.func('unsigned long OpenSSL_version_num(void)') as unknown as () => number;
    if (version() < 0x30000000) throw new Error(`OpenSSL ${version().toString(16)} is older than 3.0`);
    koffi.opaque('inkan_BIO');
    koffi.opaque('inkan_EVP_PKEY');
    koffi.opaque('inkan_EVP_PKEY_CTX');
    const f = <T>(proto: string) => self.func(proto) as unknown as T;
    lib = {
      BIO_new_mem_buf: f('inkan_BIO *BIO_new_mem_buf(const uint8_t *buf, int len)'),
      BIO_free: f('int BIO_free(inkan_BIO *bio)'),
      d2i_PrivateKey_bio: f('inkan_EVP_PKEY *d2i_PrivateKey_bio(inkan_BIO *bio, void *out)'),
      EVP_PKEY_free: f('void EVP_PKEY_free(inkan_EVP_PKEY *pkey)'),
      EVP_PKEY_CTX_new: f('inkan_EVP_PKEY_CTX *EVP_PKEY_CTX_new(inkan_EVP_PKEY *pkey, void *engine)'),
      EVP_PKEY_CTX_free: f('void EVP_PKEY_CTX_free(inkan_EVP_PKEY_CTX *ctx)'),
      EVP_PKEY_sign_init: f('int EVP_PKEY_sign_init(inkan_EVP_PKEY_CTX *ctx)'),
      EVP_PKEY_sign: f('int EVP_PKEY_sign(inkan_EVP_PKEY_CTX *ctx, _Out_ uint8_t *sig, _Inout_ size_t *siglen, const uint8_t *tbs, size_t tbslen)'),
      ERR_clear_error: f('void ERR_clear_error(void)'),
    };
  } catch (err) {
    reason = `OpenSSL through koffi unavailable: ${(err as Error).message}`;
    lib = null;
  }
  return lib;
}

/** Whether signatures go to OpenSSL; otherwise why not. */
export function available(): boolean { return load() !== null; }
export function unavailableReason(): string | undefined { load(); return reason; }

// One EVP_PKEY per KeyObject, with the EVP_PKEY_CTXs initialised for signing that are idle
// (a ctx serves one EVP_PKEY_sign at a time and is reused: making one costs about as much as a
// third of a signature). All are freed when the KeyObject is collected. A pending signature
// holds its KeyObject (the closure in signNow), so nothing is freed under a running call.
interface NativeKey { pkey: Ptr; idle: Ptr[] }
const natives = new WeakMap<KeyObject, NativeKey>();
const freer = new FinalizationRegistry<NativeKey>((n) => {
  for (const ctx of n.idle) lib?.EVP_PKEY_CTX_free(ctx);
  lib?.EVP_PKEY_free(n.pkey);
});

function nativeOf(l: Lib, key: KeyObject): NativeKey {
  let n = natives.get(key);
  if (n) return n;
  const der = key.export({ type: 'pkcs8', format: 'der' });
  let pkey: Ptr;
  try {
    const bio = l.BIO_new_mem_buf(der, der.length);
    if (!bio) throw new Error('BIO_new_mem_buf failed');
    try { pkey = l.d2i_PrivateKey_bio(bio, null); } finally { l.BIO_free(bio); }
  } finally {
    der.fill(0);
  }
  if (!pkey) { l.ERR_clear_error(); throw new Error('OpenSSL could not read the EC private key'); }
  n = { pkey, idle: [] };
  natives.set(key, n);
  freer.register(key, n);
  return n;
}

function takeCtx(l: Lib, n: NativeKey): Ptr {
  const idle = n.idle.pop();
  if (idle) return idle;
  const ctx = l.EVP_PKEY_CTX_new(n.pkey, null);
  if (!ctx) { l.ERR_clear_error(); throw new Error('EVP_PKEY_CTX_new failed'); }
  if (l.EVP_PKEY_sign_init(ctx) !== 1) { l.EVP_PKEY_CTX_free(ctx); l.ERR_clear_error(); throw new Error('EVP_PKEY_sign_init failed'); }
  return ctx;
}

/** ECDSA-Sig-Value (RFC 3279) → r‖s, each left-padded to `len` bytes; bounded and strict. */
export function derSigToRaw(der: Buffer, len: number): Buffer {
  const bad = () => new Error('OpenSSL returned a malformed ECDSA signature');
  let i = 0;
  const header = (tag: number): number => {
    if (der[i++] !== tag) throw bad();
    let n = der[i++];
    if (n === 0x81) n = der[i++];
    else if (n > 0x80 || n === undefined) throw bad();
    if (i + n > der.length) throw bad();
    return n;
  };
  if (header(0x30) !== der.length - i) throw bad();
  const out = Buffer.alloc(2 * len);
  for (const at of [0, len]) {
    let n = header(0x02);
    let start = i;
    i += n;
    while (n > 0 && der[start] === 0) { start++; n--; }
    if (n > len) throw bad();
    der.copy(out, at + len - n, start, start + n);
  }
  if (i !== der.length) throw bad();
  return out;
}

function signNow(l: Lib, key: KeyObject, digest: Buffer, len: number, done: (err: Error | null, sig?: Buffer) => void): void {
  let n: NativeKey;
  let ctx: Ptr;
  try {
    n = nativeOf(l, key);
    ctx = takeCtx(l, n);
  } catch (err) {
    done(err as Error);
    return;
  }
  const sig = Buffer.alloc(2 * len + 16); // DER: SEQUENCE of two INTEGERs, each ≤ len + 1 bytes
  const sigLen = [sig.length];
  l.EVP_PKEY_sign.async(ctx, sig, sigLen, digest, digest.length, (err, ok) => {
    void key; // holds the KeyObject (and so its EVP_PKEY and ctx) until OpenSSL is done with them
    if (err || ok !== 1) { l.EVP_PKEY_CTX_free(ctx); return done(err ?? new Error('EVP_PKEY_sign failed')); }
    if (n.idle.length < MAX_IN_FLIGHT) n.idle.push(ctx); else l.EVP_PKEY_CTX_free(ctx);
    try { done(null, derSigToRaw(sig.subarray(0, sigLen[0]), len)); } catch (e) { done(e as Error); }
  });
}

/**
 * Signs `digest` with an EC private key; resolves to PKCS#11's raw r‖s (`orderLen` bytes each).
 * Throws if `available()` is false. OpenSSL 3.0 draws the nonce from its DRBG (FIPS 186-4).
 */
export function signDigestOpenSsl(key: KeyObject, digest: Buffer, orderLen: number): Promise<Buffer> {
  const l = load();
  if (!l) return Promise.reject(new Error(reason));
  return new Promise((resolve, reject) => {
    const start = () => {
      inFlight++;
      signNow(l, key, digest, orderLen, (err, sig) => {
        inFlight--;
        queue.shift()?.();
        if (err) reject(err); else resolve(sig!);
      });
    };
    if (inFlight < MAX_IN_FLIGHT) start(); else queue.push(start);
  });
}
