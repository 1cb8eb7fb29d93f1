// @ts-check
// Checks an audit export (inkan-audit-export/2, NDJSON) in the browser with WebCrypto: every
// record's hash (SHA-256 over the inkan-audit/v2 chain input), every link to the record before,
// and every checkpoint's Ed25519 signature against the module's audit public key, fetched from
// the module (never the key the export itself carries). It follows the rules of the offline
// verifier (src/audit-chain/verify-chain.ts), written anew for the browser, and names the first
// bad record of each chain. A second implementation: the tests check it agrees with that one.

const SCHEME = 'inkan-audit/v2';
const GENESIS = '0'.repeat(64);
const HEX64 = /^[0-9a-f]{64}$/;
const FIELDS = ['seq', 'time', 'node', 'actor', 'role', 'face', 'partition', 'op', 'object', 'outcome', 'code', 'detail'];
const RECORD_KEYS = new Set(['type', 'chain', 'prev', 'hash', ...FIELDS]);
const enc = new TextEncoder();

/** @param {ArrayBuffer} buf */
const hex = (buf) => Array.from(new Uint8Array(buf), (b) => b.toString(16).padStart(2, '0')).join('');

/** @param {string} pem */
export async function importAuditKey(pem) {
  const b64 = pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, '').replace(/\s+/g, '');
  const der = Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));
  return crypto.subtle.importKey('spki', der, { name: 'Ed25519' }, false, ['verify']);
}

/** @param {Record<string, any>} r */
export function canonical(r) {
  return JSON.stringify(FIELDS.map((f) => r[f] ?? null));
}

/** @param {string} chain @param {string} prev @param {Record<string, any>} r */
export async function recordHash(chain, prev, r) {
  return hex(await crypto.subtle.digest('SHA-256', enc.encode(`${SCHEME}\0${JSON.stringify(chain)}\0${prev}\0${canonical(r)}`)));
}

/** @param {CryptoKey} key @param {any} cp */
async function signatureValid(key, cp) {
  if (typeof cp.signature !== 'string' || !HEX64.test(cp.hash) || !Number.isSafeInteger(cp.seq)) return false;
  const msg = enc.encode(JSON.stringify([`${SCHEME}/checkpoint`, cp.chain, cp.seq, cp.hash, cp.time, cp.node]));
  try {
    const sig = Uint8Array.from(atob(cp.signature), (ch) => ch.charCodeAt(0));
    return await crypto.subtle.verify({ name: 'Ed25519' }, key, sig, msg);
  } catch { return false; }
}

/**
 * @typedef {{ chain: string, ok: boolean, records: number, checkpoints: number, problem?: string, firstBadSeq?: number }} ChainResult
 * @typedef {{ ok: boolean, chains: ChainResult[], records: any[], problem?: string }} VerifyResult
 */

/**
 * @param {string} text the export
 * @param {CryptoKey} key the module's audit public key
 * @returns {Promise<VerifyResult>}
 */
export async function verifyExport(text, key) {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  /** @type {any[]} */
  const records = [];
  /** @type {Map<string, any>} */
  const chains = new Map();
  const parsed = [];
  for (const [i, l] of lines.entries()) {
    try { parsed.push(JSON.parse(l)); } catch { return { ok: false, chains: [], records, problem: `line ${i + 1} is not JSON` }; }
  }
  const header = parsed[0];
  if (!header || header.type !== 'header' || header.format !== 'inkan-audit-export/2') return { ok: false, chains: [], records, problem: 'not an inkan-audit-export/2 file (no header line)' };
  const state = (/** @type {string} */ name) => {
    let s = chains.get(name);
    if (!s) { s = { result: { chain: name, ok: true, records: 0, checkpoints: 0 }, started: false, ended: false, expect: 1, last: { seq: 0, hash: GENESIS } }; chains.set(name, s); }
    return s;
  };
  for (const name of header.chains ?? []) state(String(name));
  /** @param {any} s @param {number | undefined} seq @param {string} problem */
  const fail = (s, seq, problem) => { if (s.result.ok) Object.assign(s.result, { ok: false, problem, ...(seq !== undefined ? { firstBadSeq: seq } : {}) }); };
  let ended = false;
  for (const l of parsed.slice(1)) {
    if (l.type === 'end') { ended = true; continue; }
    if (typeof l.chain !== 'string') return { ok: false, chains: [...chains.values()].map((s) => s.result), records, problem: `a ${String(l.type)} line names no chain` };
    const s = state(l.chain);
    if (l.type === 'record') records.push(l);
    if (!s.result.ok) continue;
    if (l.type === 'start') {
      if (s.started) { fail(s, undefined, 'the chain starts twice'); continue; }
      s.started = true;
      s.expect = l.fromSeq;
      s.last = { seq: l.fromSeq - 1, hash: l.prev };
      if (l.fromSeq === 1 && l.prev !== GENESIS) fail(s, 1, 'record 1 does not start from the genesis hash');
      else if (!header.range?.fromSeq && !header.range?.since && l.fromSeq !== 1) fail(s, 1, `records 1-${l.fromSeq - 1} were removed from the start of the log`);
      else if (l.prev === null) fail(s, l.fromSeq - 1, `record ${l.fromSeq - 1}, which the export starts after, is missing`);
    } else if (l.type === 'record') {
      const seq = l.seq;
      if (!s.started) fail(s, seq, `record ${seq} comes before the chain's start line`);
      else if (s.ended) fail(s, seq, `records after the final checkpoint were added`);
      else if (!Number.isSafeInteger(seq) || !HEX64.test(l.prev) || !HEX64.test(l.hash)) fail(s, Number.isSafeInteger(seq) ? seq : s.expect, 'a record line is malformed');
      else if (seq < s.expect) fail(s, seq, `record ${seq} appears twice or was inserted (expected ${s.expect})`);
      else if (seq > s.expect) fail(s, s.expect, `record ${s.expect} was removed or is out of order (found ${seq} in its place)`);
      else if ('unreadable' in l) fail(s, seq, `record ${seq} was edited (its stored body is not a record)`);
      else if (Object.keys(l).some((k) => !RECORD_KEYS.has(k))) fail(s, seq, `record ${seq} was edited (it has a field records do not have)`);
      else if (l.prev !== s.last.hash) fail(s, seq, `record ${seq} does not link to the record before it (inserted, removed or reordered)`);
      else if (await recordHash(l.chain, l.prev, l) !== l.hash) fail(s, seq, `record ${seq} was edited (its hash does not match its content)`);
      else { s.last = { seq, hash: l.hash }; s.expect++; s.result.records++; }
    } else if (l.type === 'checkpoint' || l.type === 'final') {
      const what = l.type === 'final' ? 'final checkpoint' : 'checkpoint';
      if (!s.started) { fail(s, l.seq, `a ${what} comes before the chain's start line`); continue; }
      if (!await signatureValid(key, l)) { fail(s, l.seq, `the ${what} at record ${l.seq} has an invalid signature (forged, edited, or another module's key)`); continue; }
      if (s.ended) { fail(s, l.seq, `a ${what} comes after the final checkpoint`); continue; }
      if (l.seq > s.last.seq) { fail(s, s.last.seq + 1, `the signed ${what} names record ${l.seq}, which is missing: records from ${s.last.seq + 1} on were removed`); continue; }
      if (l.seq === s.last.seq && l.hash !== s.last.hash) { fail(s, l.seq, `record ${l.seq} or one before it differs from what was signed at the ${what}`); continue; }
      if (l.type === 'final') {
        s.ended = true;
        if (l.seq < s.last.seq) fail(s, l.seq + 1, `records after the final checkpoint (${l.seq}) were added`);
      } else if (l.seq < s.last.seq) fail(s, l.seq, `the signed checkpoint at record ${l.seq} is out of place`);
      else s.result.checkpoints++;
    } else {
      fail(s, undefined, `an unknown line type ${JSON.stringify(String(l.type)).slice(0, 40)}`);
    }
  }
  for (const s of chains.values()) {
    if (!s.started) fail(s, undefined, `chain ${s.result.chain} is listed in the header but is not in the export (removed)`);
    else if (!s.ended) fail(s, s.last.seq + 1, `the export has no signed final checkpoint for chain ${s.result.chain} (cut off, or records were added or removed after it)`);
  }
  const results = [...chains.values()].map((s) => s.result);
  if (!ended) return { ok: false, chains: results, records, problem: 'the export has no end line: it was cut off' };
  return { ok: results.every((r) => r.ok), chains: results, records };
}
