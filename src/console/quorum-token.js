// @ts-check
// The quorum token's canonical bytes and description in the browser: a faithful port of the
// encoding in src/quorum-token/token.ts (which needs node:crypto and Buffer, so it cannot load
// here). "inkan-quorum-token-1\n" + canonical JSON (keys sorted at every level, no whitespace,
// safe integers only). test/console/console-quorum.test.ts checks both give identical bytes.

export const TOKEN_SCHEME = 'inkan-quorum-token-1';

/** Canonical JSON, as token.ts canonicalJson. @param {unknown} v @param {number} [depth] @returns {string} */
export function canonicalJson(v, depth = 0) {
  if (depth > 8) throw new TypeError('too deeply nested');
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new TypeError('only integers are allowed in token arguments');
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x, depth + 1)).join(',')}]`;
  if (typeof v === 'object') {
    const o = /** @type {Record<string, unknown>} */ (v);
    return `{${Object.keys(o).sort().map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k], depth + 1)}`).join(',')}}`;
  }
  throw new TypeError(`a ${typeof v} cannot be part of a token`);
}

/** The bytes every approver signs. @param {any} body @returns {Uint8Array<ArrayBuffer>} */
export function canonicalBytes(body) {
  return new TextEncoder().encode(`${TOKEN_SCHEME}\n${canonicalJson(body)}`);
}

/** Human lines showing everything a token binds, as token.ts describeToken (the CLI's `quorum show`). @param {any} body */
export function describeToken(body) {
  return [
    `token      ${body.id}`,
    `operation  ${body.operation} (service ${body.service})`,
    `arguments  ${canonicalJson(body.args)}`,
    `requester  ${body.requester.username} (${body.requester.id})`,
    `partition  ${body.partition}`,
    `needs      ${body.required} approvals (the requester counts once)`,
    `created    ${body.created}`,
    `expires    ${body.expires}`,
    `nonce      ${body.nonce}`,
  ];
}

/** The CLI's `quorum show <token>` text (commands-quorum.ts describe). @param {any} t */
export function describeView(t) {
  return [
    ...describeToken(t.body),
    `state      ${t.state}, ${t.count} of ${t.required} approvals`,
    ...t.approvals.map((/** @type {any} */ a) => `approved   by ${a.username} at ${a.at} (key ${String(a.fingerprint).slice(0, 16)})`),
    `canonical  ${t.canonical}`,
  ].join('\n');
}

/** @param {string} b64 @returns {Uint8Array<ArrayBuffer>} */
export function fromBase64(b64) {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** @param {Uint8Array} bytes */
export function toBase64(bytes) {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** @param {Uint8Array} a @param {Uint8Array} b */
export function sameBytes(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** WebCrypto's ECDSA answer (r||s, 32 bytes each) as the DER SEQUENCE the module verifies (node's
 *  default, as signToken makes). An encoding, not a primitive. @param {Uint8Array} raw */
export function p1363ToDer(raw) {
  if (raw.length !== 64) throw new TypeError('a P-256 signature is 64 bytes');
  /** @param {Uint8Array} x */
  const int = (x) => {
    let i = 0;
    while (i < x.length - 1 && x[i] === 0) i++;
    const v = x.slice(i);
    const body = v[0] & 0x80 ? [0, ...v] : [...v];
    return [0x02, body.length, ...body];
  };
  const seq = [...int(raw.slice(0, 32)), ...int(raw.slice(32))];
  return new Uint8Array([0x30, seq.length, ...seq]);
}

/** A PEM PKCS#8 private key (`inkan user keygen`) imported into WebCrypto, non-extractable, for
 *  signing only: Ed25519 or ECDSA P-256. Undefined if the text is neither.
 *  @param {string} pem @returns {Promise<{ kind: 'ed25519'|'p256', key: CryptoKey } | undefined>} */
export async function importSigningKey(pem) {
  const m = pem.match(/-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\s]+)-----END PRIVATE KEY-----/);
  if (!m) return undefined;
  let der;
  try { der = fromBase64(m[1].replace(/\s+/g, '')); } catch { return undefined; }
  try { return { kind: 'ed25519', key: await crypto.subtle.importKey('pkcs8', der, { name: 'Ed25519' }, false, ['sign']) }; } catch { /* not Ed25519 */ }
  try { return { kind: 'p256', key: await crypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']) }; } catch { /* not P-256 */ }
  return undefined;
}

/** Signs the canonical bytes as signToken does: Ed25519, or ECDSA P-256 SHA-256 in DER; base64.
 *  @param {{ kind: 'ed25519'|'p256', key: CryptoKey }} k @param {Uint8Array<ArrayBuffer>} bytes */
export async function signBytes(k, bytes) {
  if (k.kind === 'ed25519') return toBase64(new Uint8Array(await crypto.subtle.sign({ name: 'Ed25519' }, k.key, bytes)));
  return toBase64(p1363ToDer(new Uint8Array(await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, k.key, bytes))));
}
