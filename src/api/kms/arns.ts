// ARNs and account ids of the KMS face. Each crypto user is its own "account": a stable
// 12-digit id derived from its user id. Key references accept what AWS accepts: key id,
// key ARN, alias name, alias ARN (docs/kms-wire.md §1.1).
import { digest } from '../../crypto/node-crypto';

export function accountOf(userId: string): string {
  const n = BigInt('0x' + digest('sha256', Buffer.from(`inkan-account/${userId}`)).subarray(0, 8).toString('hex')) % 1_000_000_000_000n;
  return n.toString().padStart(12, '0');
}

export const keyArn = (region: string, owner: string, keyId: string) => `arn:aws:kms:${region}:${accountOf(owner)}:key/${keyId}`;
export const aliasArn = (region: string, owner: string, name: string) => `arn:aws:kms:${region}:${accountOf(owner)}:${name}`;

export type KeyRef = { kind: 'key'; id: string } | { kind: 'alias'; name: string };

const ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]*:\d{12}:(key\/.+|alias\/.+)$/;

/** Parses a KeyId member; undefined if it cannot name anything (AWS: NotFoundException "Invalid keyId"). */
export function parseKeyRef(ref: string): KeyRef | undefined {
  let rest = ref;
  if (ref.startsWith('arn:')) {
    const m = ARN.exec(ref);
    if (!m) return undefined;
    rest = m[1];
    if (rest.startsWith('key/')) return { kind: 'key', id: rest.slice(4) };
  }
  if (rest.startsWith('alias/')) return { kind: 'alias', name: rest };
  return rest.length ? { kind: 'key', id: rest } : undefined;
}
