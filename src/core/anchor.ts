// The anchor: what this node knows of the store, kept OUTSIDE the store (a sidecar file beside
// it, written atomically; optionally a copy elsewhere) so that someone who can write the
// database cannot cut, roll back or wipe it unnoticed (docs/security.md). It holds the domain id,
// the latest signed checkpoint of this node's audit chain and this node's integrity counter
// (integrity.ts), MACed under a DMK-derived key. Checked before the module serves.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { DomainKeys } from '../keystore/seal';
import type { CheckpointRow, KeyStore } from '../keystore/types';
import type { IntegrityState } from './integrity';

export const ANCHOR_SCHEME = 'inkan-anchor/v1';

export interface AnchorData {
  scheme: string;
  domain: string;
  node: string;
  time: string;
  /** The latest checkpoint per chain (this node's), as `inkan audit verify --after` reads it. */
  chains: Record<string, CheckpointRow>;
  integrity?: IntegrityState;
  mac?: string;
}

/** Where anchors are kept (runtime/anchor-file.ts: a file written with fsync and rename). */
export interface AnchorSink {
  read(): AnchorData | undefined;
  write(data: AnchorData): Promise<void>;
  /** Zeroisation: the data directory belongs to no domain any more. */
  clear(): Promise<void>;
}

function macInput(a: AnchorData): Buffer {
  return Buffer.from(JSON.stringify([a.scheme, a.domain, a.node, a.time, Object.entries(a.chains).sort(([x], [y]) => (x < y ? -1 : 1)), a.integrity ?? null]));
}

export function sealAnchor(keys: DomainKeys, a: Omit<AnchorData, 'mac' | 'scheme'>): AnchorData {
  const data: AnchorData = { scheme: ANCHOR_SCHEME, ...a };
  return { ...data, mac: c.hmac('sha256', keys.derive('anchor'), macInput(data)).toString('base64') };
}

export function anchorIsAuthentic(keys: DomainKeys, a: AnchorData): boolean {
  if (a.scheme !== ANCHOR_SCHEME || typeof a.mac !== 'string') return false;
  return c.timingSafeEqual(Buffer.from(a.mac, 'base64'), c.hmac('sha256', keys.derive('anchor'), macInput(a)));
}

/** Before unsealing: a data directory whose anchor names a domain must find that domain in the store. */
export async function checkDomain(store: KeyStore, anchor: AnchorData | undefined, expected?: string): Promise<void> {
  const stored = (await store.getMeta('domain_id'))?.toString();
  const want = expected ?? anchor?.domain;
  if (!want) return;
  if (!stored) {
    throw new HsmError('DOMAIN_MISSING', `this module belongs to domain ${want}, but the store holds no domain: the database was emptied or `
      + 'replaced. Restore a backup into it, or, to start a new domain on purpose, run `inkan serve --new-domain` on this machine');
  }
  if (stored !== want) throw new HsmError('DOMAIN_MISSING', `the store holds domain ${stored}, but this module belongs to domain ${want}`);
}

/** After unsealing: the store still holds everything the anchor vouches for. Returns problems found. */
export async function checkAnchor(store: KeyStore, keys: DomainKeys, anchor: AnchorData, chain: string, integrity: IntegrityState): Promise<string | undefined> {
  if (!anchorIsAuthentic(keys, anchor)) return 'the anchor file beside the store was edited or belongs to another domain';
  const cp = anchor.chains[chain];
  if (cp) {
    const head = await store.audit.head(chain);
    if (head.seq < cp.seq) return `the audit chain ${chain} was cut: the store ends at record ${head.seq}, the anchor vouches for ${cp.seq}`;
    const [at] = await store.audit.list(chain, cp.seq, 1);
    if (!at || at.seq !== cp.seq || at.hash !== cp.hash) return `the audit chain ${chain} was rolled back or rewritten: record ${cp.seq} is not the one the anchor vouches for`;
  }
  const a = anchor.integrity;
  if (a && (integrity.counter < a.counter || (integrity.counter === a.counter && integrity.acc !== a.acc))) {
    return `the store was rolled back: its integrity counter of node ${anchor.node} is ${integrity.counter}, the anchor vouches for ${a.counter}`;
  }
  return undefined;
}
