// The quorum token format (CloudHSM's token-sign model): the exact bytes an approver signs with
// their own key, on their own machine. Both the module (which verifies) and `inkan quorum approve`
// (which shows the token and signs it) use this file, so what is shown, signed and checked is one
// canonical encoding: "inkan-quorum-token-1\n" followed by the body as canonical JSON (keys
// sorted at every level, no whitespace, integers only). Signatures: Ed25519 over those bytes, or
// ECDSA P-256 with SHA-256 (DER). Needs crypto/ only (like audit-chain/), see docs/operators.md.
import * as c from '../crypto/node-crypto';

export const TOKEN_SCHEME = 'inkan-quorum-token-1';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [k: string]: JsonValue };

/** What a token binds: the operation and its arguments, who asked, where, until when. */
export interface TokenBody {
  scheme: typeof TOKEN_SCHEME;
  id: string;
  partition: string;
  service: string;
  operation: string;
  args: { [k: string]: JsonValue };
  requester: { id: string; username: string };
  /** Approvals needed (the requester counts once) when the token was issued. */
  required: number;
  created: string;
  expires: string;
  nonce: string;
}

/** Canonical JSON: sorted keys, no whitespace; only safe integers among numbers. */
export function canonicalJson(v: unknown, depth = 0): string {
  if (depth > 8) throw new TypeError('too deeply nested');
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v)) throw new TypeError('only integers are allowed in token arguments');
    return String(v);
  }
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJson(x, depth + 1)).join(',')}]`;
  if (typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k], depth + 1)}`).join(',')}}`;
  }
  throw new TypeError(`a ${typeof v} cannot be part of a token`);
}

/** The bytes every approver signs. */
export function canonicalBytes(body: TokenBody): Buffer {
  return Buffer.from(`${TOKEN_SCHEME}\n${canonicalJson(body)}`, 'utf8');
}

export type SigningKeyKind = 'ed25519' | 'p256';

/** A personal signing public key, checked: its kind, its SPKI PEM and a fingerprint (SHA-256 of the SPKI). */
export interface PublicSigningKey { kind: SigningKeyKind; pem: string; fingerprint: string }

/** Parses a PEM public key (or a private key, whose public half is taken); undefined if it is
 *  neither Ed25519 nor P-256. */
export function publicSigningKey(pem: string): PublicSigningKey | undefined {
  let key: c.KeyObject;
  try {
    key = pem.includes('PRIVATE KEY') ? c.publicOf(c.privateKeyFromPem(pem)) : c.publicKeyFromPem(pem);
  } catch { return undefined; }
  const kind = kindOf(key);
  if (!kind) return undefined;
  const spki = c.exportSpki(key);
  return { kind, pem: c.exportSpkiPem(key), fingerprint: c.digest('sha256', spki).toString('hex') };
}

function kindOf(key: c.KeyObject): SigningKeyKind | undefined {
  if (key.asymmetricKeyType === 'ed25519') return 'ed25519';
  if (key.asymmetricKeyType === 'ec' && key.asymmetricKeyDetails?.namedCurve === 'prime256v1') return 'p256';
  return undefined;
}

/** A fresh key pair for an officer (`inkan user keygen`): PKCS#8 and SPKI PEM. */
export async function generateSigningKey(kind: SigningKeyKind): Promise<{ privatePem: string; publicPem: string }> {
  const pair = kind === 'ed25519' ? await c.generateEd25519() : await c.generateEc('prime256v1');
  const der = c.exportPkcs8(pair.privateKey).toString('base64');
  const privatePem = `-----BEGIN PRIVATE KEY-----\n${der.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { privatePem, publicPem: c.exportSpkiPem(pair.publicKey) };
}

/** Signs the token's canonical bytes with an approver's private key (PEM, on the approver's machine). */
export async function signToken(body: TokenBody, privatePem: string): Promise<{ signature: string; fingerprint: string }> {
  const key = c.privateKeyFromPem(privatePem);
  const pub = publicSigningKey(privatePem);
  if (!pub) throw new TypeError('the signing key is neither Ed25519 nor P-256');
  const sig = await c.sign(pub.kind === 'ed25519' ? null : 'sha256', canonicalBytes(body), key);
  return { signature: sig.toString('base64'), fingerprint: pub.fingerprint };
}

/** True if `signature` (base64) is the holder of `publicPem`'s signature over the token. */
export async function verifyToken(body: TokenBody, publicPem: string, signature: string): Promise<boolean> {
  const pub = publicSigningKey(publicPem);
  if (!pub || typeof signature !== 'string' || signature.length > 200 || !/^[A-Za-z0-9+/=]+$/.test(signature)) return false;
  try {
    return await c.verify(pub.kind === 'ed25519' ? null : 'sha256', canonicalBytes(body), c.publicKeyFromPem(pub.pem), Buffer.from(signature, 'base64'));
  } catch { return false; }
}

/** Human lines showing everything a token binds (what an approver approves). */
export function describeToken(body: TokenBody): string[] {
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
