// The hash names node:crypto takes, as a type of their own so off-loop.ts and node-crypto.ts
// can both use it without importing each other.
export type HashName = 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512';
