// The four XKS operations (spec "API operations"): GetKeyMetadata, Encrypt, Decrypt and
// GetHealthStatus, over the XksBackend port. Keys are AES-256 for v1; the key version is bound
// into every ciphertext (./ciphertext.ts), so rotated keys keep decrypting old data.
import { timingSafeEqual } from '../../crypto/node-crypto';
import {
  XksError, optionalBase64, optionalEnum, readRequestMetadata, requireBase64, requireEnum,
  type RequestMetadata, type XksRequest,
} from '../../protocol/xks';
import { KeyPortError, type CallContext, type KeyKind, type KeyUse, type KeyVersion } from '../key-port';
import type { XksBackend } from './backend';
import { cdiv, decodeMetadata, encodeMetadata, gcmAad } from './ciphertext';

export interface XksProduct { vendor: string; model: string; ekmVendor: string; fleetSize: number }
export interface XksOpContext { port: XksBackend<unknown>; req: XksRequest<unknown>; product: XksProduct }

const AES_256_GCM = { scheme: 'aes-gcm', keyBits: 256 } as const;
/** Spec: support at least 4300 bytes of plaintext and 8192 of AAD; beyond these caps is UnsupportedOperation. */
const MAX_PLAINTEXT = 8192;
const MAX_AAD = 16384;
const USAGE: Readonly<Record<KeyUse, string>> = Object.freeze({
  encrypt: 'ENCRYPT', decrypt: 'DECRYPT', sign: 'SIGN', verify: 'VERIFY', wrap: 'WRAP', unwrap: 'UNWRAP',
});

function call(ctx: XksOpContext, md: RequestMetadata): CallContext<unknown> {
  return { caller: ctx.req.principal, face: 'xks', requestId: ctx.req.requestId, audit: md };
}

export function keySpecOf(kind: KeyKind): string {
  if (kind.type === 'aes') return `AES_${kind.bits}`;
  if (kind.type === 'rsa') return `RSA_${kind.bits}`;
  return kind.curve === 'secp256k1' ? 'ECC_SECG_P256K1' : `ECC_NIST_${kind.curve.replace('-', '')}`;
}

/** The key must be enabled, AES-256 and allow every use asked for (spec: InvalidStateException, InvalidKeyUsageException). */
function checkUsable(key: KeyVersion, uses: readonly KeyUse[]): void {
  if (!key.enabled) throw new XksError('InvalidStateException', 'The external key is disabled.');
  if (key.kind.type !== 'aes' || key.kind.bits !== 256) throw new XksError('InvalidKeyUsageException', 'The external key is not an AES-256 key.');
  for (const use of uses) {
    if (!key.uses.includes(use)) throw new XksError('InvalidKeyUsageException', `The external key does not allow ${USAGE[use]}.`);
  }
}

export async function getKeyMetadata(ctx: XksOpContext): Promise<object> {
  const md = readRequestMetadata(ctx.req.input, ['awsPrincipalArn', 'kmsOperation', 'kmsRequestId']);
  const key = await ctx.port.getKey(call(ctx, md), { name: ctx.req.keyId! });
  return { keySpec: keySpecOf(key.kind), keyUsage: key.uses.map((u) => USAGE[u]).slice(0, 10), keyStatus: key.enabled ? 'ENABLED' : 'DISABLED' };
}

function plaintextInput(input: XksRequest<unknown>['input']): { plaintext: Buffer; aad?: Buffer; wantCdiv: boolean } {
  requireEnum(input, 'encryptionAlgorithm', ['AES_GCM']);
  const wantCdiv = optionalEnum(input, 'ciphertextDataIntegrityValueAlgorithm', ['SHA_256']) !== undefined;
  const aad = optionalBase64(input, 'additionalAuthenticatedData', MAX_AAD);
  let plaintext: Buffer;
  try {
    plaintext = requireBase64(input, 'plaintext', MAX_PLAINTEXT);
  } catch (err) {
    if (err instanceof XksError && /longer than/.test(err.message)) throw new XksError('UnsupportedOperationException', err.message);
    throw err;
  }
  return { plaintext, aad, wantCdiv };
}

export async function encrypt(ctx: XksOpContext): Promise<object> {
  const md = readRequestMetadata(ctx.req.input, ['awsPrincipalArn', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId']);
  const { plaintext, aad, wantCdiv } = plaintextInput(ctx.req.input);
  const cc = call(ctx, md);
  try {
    const key = await ctx.port.getKey(cc, { name: ctx.req.keyId! });
    // A CDIV is only promised after a decrypt check (spec Appendix C), so it needs DECRYPT too.
    checkUsable(key, wantCdiv ? ['encrypt', 'decrypt'] : ['encrypt']);
    const ref = { name: key.name, version: key.version };
    const metadata = encodeMetadata(key.version);
    const out = await ctx.port.encrypt(cc, ref, 'encrypt', AES_256_GCM, { data: plaintext, aad: gcmAad(aad, metadata) });
    const body: Record<string, string> = {
      ciphertext: out.data.toString('base64'), ciphertextMetadata: metadata.toString('base64'),
      initializationVector: out.iv!.toString('base64'), authenticationTag: out.tag!.toString('base64'),
    };
    if (wantCdiv) {
      // Spec Appendix C order: hash the output first, then prove it decrypts to the input.
      const value = cdiv(aad, metadata, out.iv!, out.data, out.tag!);
      const back = await ctx.port.decrypt(cc, ref, 'decrypt', AES_256_GCM, { data: out.data, iv: out.iv, tag: out.tag, aad: gcmAad(aad, metadata) });
      const same = back.data.length === plaintext.length && timingSafeEqual(back.data, plaintext);
      back.data.fill(0);
      if (!same) throw new XksError('InternalException', 'The encryption could not be verified; retry the request.');
      body.ciphertextDataIntegrityValue = value.toString('base64');
    }
    return body;
  } finally {
    plaintext.fill(0);
  }
}

export async function decrypt(ctx: XksOpContext): Promise<object> {
  const md = readRequestMetadata(ctx.req.input, ['awsPrincipalArn', 'kmsKeyArn', 'kmsOperation', 'kmsRequestId']);
  const input = ctx.req.input;
  requireEnum(input, 'encryptionAlgorithm', ['AES_GCM']);
  const ciphertext = requireBase64(input, 'ciphertext', MAX_PLAINTEXT);
  const iv = requireBase64(input, 'initializationVector', 16);
  const tag = requireBase64(input, 'authenticationTag', 16);
  const metadata = optionalBase64(input, 'ciphertextMetadata', 20);
  const aad = optionalBase64(input, 'additionalAuthenticatedData', MAX_AAD);
  if (iv.length !== 12 && iv.length !== 16) throw new XksError('ValidationException', "'initializationVector' must be 12 or 16 bytes.");
  if (tag.length !== 16) throw new XksError('ValidationException', "'authenticationTag' must be 16 bytes.");
  const cc = call(ctx, md);
  const key = await ctx.port.getKey(cc, { name: ctx.req.keyId! });
  checkUsable(key, ['decrypt']);
  const version = decodeMetadata(metadata);
  const invalid = new XksError('InvalidCiphertextException', 'The ciphertext, metadata, IV, AAD or tag is corrupted, missing or otherwise invalid.');
  if (version === undefined) throw invalid;
  try {
    const out = await ctx.port.decrypt(cc, { name: key.name, version }, 'decrypt', AES_256_GCM, { data: ciphertext, iv, tag, aad: gcmAad(aad, metadata!) });
    const body = { plaintext: out.data.toString('base64') };
    out.data.fill(0);
    return body;
  } catch (err) {
    // The key exists (read above), so an unknown version means the metadata was not ours.
    if (err instanceof KeyPortError && (err.code === 'not-found' || err.code === 'decrypt-failed')) throw invalid;
    throw err;
  }
}

const HEALTH: Readonly<Record<string, string>> = Object.freeze({ active: 'ACTIVE', degraded: 'DEGRADED', unavailable: 'UNAVAILABLE' });

export async function getHealthStatus(ctx: XksOpContext): Promise<object> {
  const md = readRequestMetadata(ctx.req.input, ['kmsOperation', 'kmsRequestId']);
  const { nodes } = await ctx.port.health(call(ctx, md));
  if (nodes.length === 0) throw new XksError('InternalException', 'No module node reported its health.');
  return {
    xksProxyFleetSize: ctx.product.fleetSize, xksProxyVendor: ctx.product.vendor, xksProxyModel: ctx.product.model,
    ekmVendor: ctx.product.ekmVendor,
    ekmFleetDetails: nodes.slice(0, 10).map((n) => ({ id: n.id, model: n.model, healthStatus: HEALTH[n.status] })),
  };
}
