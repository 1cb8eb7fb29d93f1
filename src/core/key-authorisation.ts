// A context-specific login's result (PKCS#11 2.40 §5.6 CKU_CONTEXT_SPECIFIC): the proof that a
// user gave a key's own PIN just now, good for one operation with that one key. Minted only by
// KeyLimits.authenticate (core/key-limits.ts), which remembers what it minted; the gate refuses
// any other object, one that was used already, or one for another key or user.
export class KeyAuthorisation {
  readonly #brand = true;
  used = false;

  private constructor(readonly objectId: string, readonly principalId: string, readonly expires: number) {}

  static has(x: unknown): x is KeyAuthorisation {
    return typeof x === 'object' && x !== null && #brand in x;
  }

  /** @internal Only KeyLimits.authenticate calls this. */
  static create(objectId: string, principalId: string, expires: number): KeyAuthorisation {
    return new KeyAuthorisation(objectId, principalId, expires);
  }
}
