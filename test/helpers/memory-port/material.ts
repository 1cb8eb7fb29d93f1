// TEST ONLY. Key material for the in-memory stand-in of the face-neutral key port: generation,
// import, public halves and the crypto operations, over Inkan's own src/crypto adapters (the
// tests check results with node:crypto and @noble/curves directly, or through the real SDKs).
import * as c from '../../../src/crypto/node-crypto';
import { signDigest, verifyDigest } from '../../../src/crypto/raw-ecdsa';
import { pssSignDigest, pssVerifyDigest } from '../../../src/crypto/emsa-pss';
import {
  KeyPortError, type CipherAlgorithm, type DecryptInput, type EcCurve, type EncryptInput, type ImportedMaterial,
  type KeyKind, type PublicKey, type SignAlgorithm,
} from '../../../src/api/key-port';

export interface Material { kind: KeyKind; priv?: c.KeyObject; pub?: c.KeyObject; secret?: c.KeyObject }

const OPENSSL_CURVE: Record<EcCurve, string> = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1', secp256k1: 'secp256k1' };
const JWK_CRV: Record<EcCurve, string> = { 'P-256': 'P-256', 'P-384': 'P-384', 'P-521': 'P-521', secp256k1: 'secp256k1' };
const CURVE_BYTES: Record<EcCurve, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66, secp256k1: 32 };

export async function generate(kind: KeyKind): Promise<Material> {
  if (kind.type === 'rsa') {
    const pair = await c.generateRsa(kind.bits, kind.publicExponent);
    return { kind, priv: pair.privateKey, pub: pair.publicKey };
  }
  if (kind.type === 'ec') {
    const pair = await c.generateEc(OPENSSL_CURVE[kind.curve]);
    return { kind, priv: pair.privateKey, pub: pair.publicKey };
  }
  const bytes = c.randomBytes(kind.bits / 8);
  const secret = c.secretKey(bytes);
  bytes.fill(0);
  return { kind, secret };
}

const b64 = (b: Buffer) => b.toString('base64url');

export function fromImport(m: ImportedMaterial): Material {
  try {
    if (m.type === 'aes') return { kind: { type: 'aes', bits: (m.key.length * 8) as 128 | 192 | 256 }, secret: c.secretKey(Buffer.from(m.key)) };
    if (m.type === 'rsa') {
      const priv = c.privateKeyFromJwk({ kty: 'RSA', n: b64(m.n), e: b64(m.e), d: b64(m.d), p: b64(m.p), q: b64(m.q), dp: b64(m.dp), dq: b64(m.dq), qi: b64(m.qi) });
      const bits = priv.asymmetricKeyDetails?.modulusLength ?? 0;
      if (![2048, 3072, 4096].includes(bits)) throw new KeyPortError('invalid-input', 'RSA keys must be 2048, 3072 or 4096 bits.');
      const publicExponent = Number(priv.asymmetricKeyDetails?.publicExponent ?? 0);
      return { kind: { type: 'rsa', bits: bits as 2048, publicExponent }, priv, pub: c.publicOf(priv) };
    }
    const priv = c.privateKeyFromJwk({ kty: 'EC', crv: JWK_CRV[m.curve], x: b64(m.x), y: b64(m.y), d: b64(m.d) });
    return { kind: { type: 'ec', curve: m.curve }, priv, pub: c.publicOf(priv) };
  } catch (err) {
    if (err instanceof KeyPortError) throw err;
    throw new KeyPortError('invalid-input', 'The key material is not a valid key.');
  }
}

const pad = (b: Buffer, n: number) => (b.length >= n ? b : Buffer.concat([Buffer.alloc(n - b.length), b]));

export function publicKeyOf(m: Material): PublicKey | undefined {
  if (!m.pub) return undefined;
  const jwk = c.exportJwk(m.pub);
  if (m.kind.type === 'rsa') return { type: 'rsa', n: Buffer.from(jwk.n!, 'base64url'), e: Buffer.from(jwk.e!, 'base64url') };
  const curve = (m.kind as { curve: EcCurve }).curve;
  const size = CURVE_BYTES[curve];
  return { type: 'ec', curve, x: pad(Buffer.from(jwk.x!, 'base64url'), size), y: pad(Buffer.from(jwk.y!, 'base64url'), size) };
}

/** DigestInfo prefixes (RFC 8017 §9.2 note 1) for PKCS#1 v1.5 signatures over a digest. */
const DIGEST_INFO: Record<string, string> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};
const HASH_BYTES: Record<string, number> = { sha256: 32, sha384: 48, sha512: 64 };

export function checkSignFits(m: Material, alg: SignAlgorithm): void {
  const ok = alg.scheme === 'ecdsa' ? m.kind.type === 'ec' && m.kind.curve === alg.curve : m.kind.type === 'rsa';
  if (!ok) throw new KeyPortError('algorithm-mismatch', 'The signature algorithm does not fit this key.');
}

export async function signWith(m: Material, alg: SignAlgorithm, digest: Buffer): Promise<Buffer> {
  checkSignFits(m, alg);
  if (alg.scheme === 'ecdsa') return signDigest(OPENSSL_CURVE[alg.curve], m.priv!, digest);
  if (alg.scheme === 'rsa-pss') return pssSignDigest(m.priv!, alg.hash, alg.hash, HASH_BYTES[alg.hash], digest);
  return c.rsaPrivateEncrypt(m.priv!, Buffer.concat([Buffer.from(DIGEST_INFO[alg.hash], 'hex'), digest]), c.constants.RSA_PKCS1_PADDING);
}

export function verifyWith(m: Material, alg: SignAlgorithm, digest: Buffer, sig: Buffer): boolean {
  checkSignFits(m, alg);
  try {
    if (alg.scheme === 'ecdsa') return verifyDigest(OPENSSL_CURVE[alg.curve], m.pub!, digest, sig);
    if (alg.scheme === 'rsa-pss') return pssVerifyDigest(m.pub!, alg.hash, alg.hash, HASH_BYTES[alg.hash], digest, sig);
    const em = c.rsaPublicDecrypt(m.pub!, sig, c.constants.RSA_PKCS1_PADDING);
    return em.equals(Buffer.concat([Buffer.from(DIGEST_INFO[alg.hash], 'hex'), digest]));
  } catch {
    return false;
  }
}

function checkCipherFits(m: Material, alg: CipherAlgorithm): void {
  const ok = alg.scheme === 'rsa-oaep' ? m.kind.type === 'rsa' : m.kind.type === 'aes' && m.kind.bits === alg.keyBits;
  if (!ok) throw new KeyPortError('algorithm-mismatch', 'The encryption algorithm does not fit this key.');
}

const decryptFailed = () => new KeyPortError('decrypt-failed', 'The ciphertext could not be decrypted with this key.');

export function encryptWith(m: Material, alg: CipherAlgorithm, input: EncryptInput): { data: Buffer; iv?: Buffer; tag?: Buffer } {
  checkCipherFits(m, alg);
  switch (alg.scheme) {
    case 'rsa-oaep':
      try { return { data: c.rsaPublicEncrypt(m.pub!, input.data, c.constants.RSA_PKCS1_OAEP_PADDING, alg.hash) }; } catch {
        throw new KeyPortError('invalid-input', 'The plaintext is too long for RSA-OAEP with this key.');
      }
    case 'aes-gcm': {
      const iv = c.randomBytes(12);
      const out = c.cipher(`aes-${alg.keyBits}-gcm`, m.secret!, iv, input.data, { aad: input.aad, tagLength: 16 });
      return { data: out.data, iv, tag: out.tag };
    }
    case 'aes-cbc': {
      if (!alg.padding && input.data.length % 16 !== 0) throw new KeyPortError('invalid-input', 'AES-CBC without padding needs whole 16-byte blocks.');
      const iv = input.iv ?? c.randomBytes(16);
      return { data: c.cipher(`aes-${alg.keyBits}-cbc`, m.secret!, iv, input.data, { padding: alg.padding }).data, iv };
    }
    case 'aes-kw':
      if (input.data.length < 16 || input.data.length % 8 !== 0) throw new KeyPortError('invalid-input', 'AES key wrap needs at least 16 bytes in 8-byte blocks.');
      return { data: c.cipher(`id-aes${alg.keyBits}-wrap`, m.secret!, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'), input.data).data };
  }
}

export function decryptWith(m: Material, alg: CipherAlgorithm, input: DecryptInput): Buffer {
  checkCipherFits(m, alg);
  try {
    switch (alg.scheme) {
      case 'rsa-oaep': return c.rsaPrivateDecrypt(m.priv!, input.data, c.constants.RSA_PKCS1_OAEP_PADDING, alg.hash);
      case 'aes-gcm':
        return c.decipher(`aes-${alg.keyBits}-gcm`, m.secret!, input.iv!, input.data, { aad: input.aad, tag: input.tag, tagLength: 16 });
      case 'aes-cbc': return c.decipher(`aes-${alg.keyBits}-cbc`, m.secret!, input.iv!, input.data, { padding: alg.padding });
      case 'aes-kw': return c.decipher(`id-aes${alg.keyBits}-wrap`, m.secret!, Buffer.from('a6a6a6a6a6a6a6a6', 'hex'), input.data);
    }
  } catch {
    throw decryptFailed();
  }
}

/** Material → bytes for the test port's backup blobs (sealed by the port before leaving it). */
export function exportMaterial(m: Material): string {
  if (m.secret) return c.exportSecret(m.secret).toString('base64');
  return c.exportPkcs8(m.priv!).toString('base64');
}

export function importExported(kind: KeyKind, text: string): Material {
  const bytes = Buffer.from(text, 'base64');
  if (kind.type === 'aes') return { kind, secret: c.secretKey(bytes) };
  const priv = c.privateKeyFromDer(bytes);
  return { kind, priv, pub: c.publicOf(priv) };
}
