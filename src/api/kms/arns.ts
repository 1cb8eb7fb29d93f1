// ARNs of the KMS face. Each partition is its own "account", with a stable 12-digit id kept in
// its record. Key references accept what AWS accepts: key id, key ARN, alias name, alias ARN
// (docs/kms-wire.md §1.1).

export const keyArn = (region: string, account: string, keyId: string) => `arn:aws:kms:${region}:${account}:key/${keyId}`;
export const aliasArn = (region: string, account: string, name: string) => `arn:aws:kms:${region}:${account}:${name}`;

export type KeyRef = { kind: 'key'; id: string } | { kind: 'alias'; name: string };

const ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]*:\d{12}:(key\/.+|alias\/.+)$/;

/** The account an ARN names, or undefined for a bare key id or alias name. */
export function arnAccount(ref: string): string | undefined {
  return ref.startsWith('arn:') ? ref.split(':')[4] : undefined;
}

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
