// Key Vault's ImportKey over the core: the caller's JWK material becomes the objects of one version
// (the private key and its public half, or the AES key), made inside the core operation that makes
// the version, with the usage flags of the requested key_ops. The private half is checked against
// its public half before anything is stored (RSA: a test signature; EC: the public point from d).
import * as c from '../../crypto/node-crypto';
import { CKO } from '../../pkcs11/constants';
import type { Hsm } from '../../core/hsm';
import type { HsmObject } from '../../core/hsm-object';
import type { CreateKeyOptions } from '../../core/managed-keys';
import { versionTemplate, type KeyPurpose, type VersionUse } from '../../core/key-specs';
import { KeyPortError, type ImportedMaterial, type KeyKind } from '../key-port';

const NODE_CRV: Record<string, string> = { 'P-256': 'P-256', 'P-384': 'P-384', 'P-521': 'P-521', secp256k1: 'secp256k1' };
const b64u = (b: Buffer) => b.toString('base64url');
const invalid = (what: string) => new KeyPortError('invalid-input', `The JSON Web Key is not a valid ${what} key.`);

function unsignedBits(n: Buffer): number {
  let i = 0;
  while (i < n.length - 1 && n[i] === 0) i++;
  return (n.length - i) * 8;
}

/** The kind the material is, before anything is made. */
export function specOfMaterial(m: ImportedMaterial): KeyKind {
  if (m.type === 'aes') {
    if (![16, 24, 32].includes(m.key.length)) throw invalid('AES');
    return { type: 'aes', bits: (m.key.length * 8) as 128 | 192 | 256 };
  }
  if (m.type === 'ec') return { type: 'ec', curve: m.curve };
  const bits = unsignedBits(m.n);
  if (bits !== 2048 && bits !== 3072 && bits !== 4096) throw new KeyPortError('invalid-input', 'RSA keys must be 2048, 3072 or 4096 bits.');
  return { type: 'rsa', bits, publicExponent: Number(BigInt('0x' + m.e.toString('hex'))) };
}

function privateKeyOf(m: Exclude<ImportedMaterial, { type: 'aes' }>): c.KeyObject {
  let key: c.KeyObject;
  try {
    key = m.type === 'rsa'
      ? c.privateKeyFromJwk({ kty: 'RSA', n: b64u(m.n), e: b64u(m.e), d: b64u(m.d), p: b64u(m.p), q: b64u(m.q), dp: b64u(m.dp), dq: b64u(m.dq), qi: b64u(m.qi) })
      : c.privateKeyFromJwk({ kty: 'EC', crv: NODE_CRV[m.curve], x: b64u(m.x), y: b64u(m.y), d: b64u(m.d) });
  } catch { throw invalid(m.type === 'rsa' ? 'RSA' : 'EC'); }
  // Pairwise consistency: the private half must belong to the public half the caller gave.
  const pub = c.publicOf(key);
  if (m.type === 'ec') {
    const jwk = c.exportJwk(pub);
    if (jwk.x !== b64u(m.x) || jwk.y !== b64u(m.y)) throw invalid('EC');
  } else {
    const probe = Buffer.from('inkan import pairwise check');
    if (!c.verifySync('sha256', probe, pub, c.signSync('sha256', probe, key))) throw invalid('RSA');
  }
  return key;
}

/** What the core hands a builder of an imported version: the admitted caller and the operation's change. */
type BuildArgs = Parameters<NonNullable<CreateKeyOptions['firstVersion']>>;

/** The objects of one imported version, in `change` (the caller's operation): secret or private first. */
export async function importedObjects(hsm: Hsm, a: BuildArgs[0], change: BuildArgs[1], m: ImportedMaterial, uses: readonly VersionUse[],
  label: string, purpose: KeyPurpose): Promise<HsmObject[]> {
  const ckaId = c.randomBytes(16);
  if (m.type === 'aes') {
    const key = Buffer.from(m.key);
    try { return [await hsm.keys.importKeyIn(a, change, key, 'aes', versionTemplate(CKO.SECRET_KEY, purpose, label, ckaId, uses))]; } finally { key.fill(0); }
  }
  const priv = privateKeyOf(m);
  const pkcs8 = c.exportPkcs8(priv);
  try {
    const main = await hsm.keys.importKeyIn(a, change, pkcs8, 'key', versionTemplate(CKO.PRIVATE_KEY, purpose, label, ckaId, uses));
    const pub = await hsm.keys.importKeyIn(a, change, c.exportSpki(c.publicOf(priv)), 'key', versionTemplate(CKO.PUBLIC_KEY, purpose, label, ckaId, uses));
    return [main, pub];
  } finally { pkcs8.fill(0); }
}
