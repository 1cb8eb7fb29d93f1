// ECDSA over a caller's digest through OpenSSL (native/inkan-ecdsa.c: EVP_PKEY_sign and
// EVP_PKEY_verify on libuv's pool), when the optional addon was built at install. Where it was
// not (no compiler, INKAN_NATIVE=0) `nativeEcdsa()` is undefined and callers use
// @noble/curves (raw-ecdsa.ts on the worker pool). Each KeyObject is handed to OpenSSL once
// (PKCS#8 or SPKI DER, wiped after) and its EVP_PKEY lives beside it until it is collected.
import * as path from 'node:path';
import type { KeyObject } from 'node:crypto';

interface Addon {
  loadKey(der: Buffer, isPrivate: boolean): object;
  sign(key: object, digest: Buffer): Promise<Buffer>;
  verify(key: object, digest: Buffer, rs: Buffer): Promise<boolean>;
  openssl(): string;
}

export interface NativeEcdsa {
  /** PKCS#11's r‖s, each half the order's length. */
  sign(key: KeyObject, digest: Buffer): Promise<Buffer>;
  verify(key: KeyObject, digest: Buffer, rs: Buffer): Promise<boolean>;
  /** OpenSSL's version string, as the addon sees it (node's own OpenSSL). */
  openssl: string;
}

/** Where the addon is built: native/build/Release beside dist/ (this file is dist/src/crypto/). */
const ADDON = path.join(__dirname, '..', '..', '..', 'native', 'build', 'Release', 'inkan_ecdsa.node');

let loaded: { api?: NativeEcdsa; reason?: string } | undefined;

function wrap(addon: Addon): NativeEcdsa {
  const handles = new WeakMap<KeyObject, object>();
  const handle = (key: KeyObject): object => {
    let h = handles.get(key);
    if (h) return h;
    const isPrivate = key.type === 'private';
    const der = isPrivate ? key.export({ type: 'pkcs8', format: 'der' }) : key.export({ type: 'spki', format: 'der' });
    try { h = addon.loadKey(der, isPrivate); } finally { der.fill(0); }
    handles.set(key, h);
    return h;
  };
  return {
    sign: (key, digest) => addon.sign(handle(key), digest),
    verify: (key, digest, rs) => addon.verify(handle(key), digest, rs),
    openssl: addon.openssl(),
  };
}

function load(): { api?: NativeEcdsa; reason?: string } {
  if (loaded) return loaded;
  if (process.env.INKAN_NATIVE === '0') return (loaded = { reason: 'INKAN_NATIVE=0' });
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    loaded = { api: wrap(require(ADDON) as Addon) };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    loaded = { reason: e.code === 'MODULE_NOT_FOUND' ? 'the addon was not built (npm install builds it with node-gyp)' : e.message };
  }
  return loaded;
}

/** The OpenSSL path, or undefined where the addon cannot load. */
export function nativeEcdsa(): NativeEcdsa | undefined { return load().api; }

/** Which implementation signs raw digests, for the start-up log and `inkan` status. */
export function rawEcdsaProvider(): string {
  const { api, reason } = load();
  return api ? `OpenSSL (${api.openssl}, native addon)` : `@noble/curves on worker threads (${reason})`;
}
