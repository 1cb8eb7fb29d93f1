// Key Vault's ImportKey over the core: the caller's JWK material becomes the objects of one version
// (the private key and its public half, or the AES key), made inside the core operation that makes
// the version, with the usage flags of the requested key_ops. The private half is checked against
// its public half before anything is stored, by the core (key-material.ts keyPairFromJwk): the face
// only maps the JWK members.
import * as c from '../../crypto/node-crypto';
import { CKO } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import { keyPairFromJwk } from '../../core/key-material';
import type { Hsm } from '../../core/hsm';
import type { HsmObject } from '../../core/hsm-object';
import type { CreateKeyOptions } from '../../core/managed-keys';
import { versionTemplate, type KeyPurpose, type VersionUse } from '../../core/key-specs';
import { KeyPortError, type ImportedMaterial, type KeyKind } from '../key-port';

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
  let pair: { pkcs8: Buffer; spki: Buffer };
  try {
    pair = keyPairFromJwk(m.type === 'rsa'
      ? { kty: 'RSA', n: m.n, e: m.e, d: m.d, p: m.p, q: m.q, dp: m.dp, dq: m.dq, qi: m.qi }
      : { kty: 'EC', crv: m.curve, x: m.x, y: m.y, d: m.d });
  } catch (err) {
    if (err instanceof HsmError && err.code === 'KEY_IMPORT_INVALID') throw invalid(m.type === 'rsa' ? 'RSA' : 'EC');
    throw err;
  }
  try {
    const main = await hsm.keys.importKeyIn(a, change, pair.pkcs8, 'key', versionTemplate(CKO.PRIVATE_KEY, purpose, label, ckaId, uses));
    const pub = await hsm.keys.importKeyIn(a, change, pair.spki, 'key', versionTemplate(CKO.PUBLIC_KEY, purpose, label, ckaId, uses));
    return [main, pub];
  } finally { pair.pkcs8.fill(0); }
}
