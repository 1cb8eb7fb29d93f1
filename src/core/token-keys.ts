// The module's token-signing key (the Key Vault face's OAuth tokens): Ed25519, derived from the
// domain master key like the audit key (HKDF purpose "token-signing"), so every node of the domain
// signs and checks with the same key and it never exists outside an unsealed module. The face
// frames JWTs; only this class touches the private key. The key id is a digest of the public key.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { DomainKeys } from '../keystore/seal';

interface TokenKey { keyId: string; privateKey: c.KeyObject; publicKey: c.KeyObject; raw: Buffer }

/** JWS signing inputs (header.payload) are at most this long (the face caps tokens at 4 KiB). */
const MAX_INPUT = 8192;

export class TokenKeys {
  /** Per unsealing: once the module seals, its DomainKeys and this entry become garbage. */
  private readonly cache = new WeakMap<DomainKeys, TokenKey>();

  constructor(private readonly domainKeys: () => DomainKeys) {}

  private current(): TokenKey {
    const keys = this.domainKeys(); // refuses while sealed
    const hit = this.cache.get(keys);
    if (hit) return hit;
    const seed = keys.derive('token-signing', 32);
    try {
      const privateKey = c.ed25519PrivateFromSeed(seed);
      const publicKey = c.publicOf(privateKey);
      const raw = Buffer.from(c.exportJwk(publicKey).x!, 'base64url');
      const key = { keyId: c.digest('sha256', raw).toString('base64url').slice(0, 22), privateKey, publicKey, raw };
      this.cache.set(keys, key);
      return key;
    } finally { seed.fill(0); }
  }

  /** Current key first (there is one: a new domain is a new key). */
  list(): { keyId: string; publicKey: Buffer }[] {
    const k = this.current();
    return [{ keyId: k.keyId, publicKey: Buffer.from(k.raw) }];
  }

  async sign(keyId: string, input: Buffer): Promise<Buffer> {
    const k = this.current();
    if (keyId !== k.keyId) throw new HsmError('KEY_NOT_FOUND', 'not the current token key');
    if (input.length > MAX_INPUT) throw new HsmError('DATA_LEN_RANGE', 'the token is too long');
    return c.sign(null, input, k.privateKey);
  }

  /** False for an unknown key id or a signature that does not verify. */
  async verify(keyId: string, input: Buffer, signature: Buffer): Promise<boolean> {
    const k = this.current();
    if (keyId !== k.keyId || signature.length !== 64 || input.length > MAX_INPUT) return false;
    return c.verify(null, input, k.publicKey, signature);
  }
}
