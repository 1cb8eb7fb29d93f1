// A node's membership in a cluster of Inkan nodes sharing one PostgreSQL store (docs/cluster.md):
// which store `inkan serve` opens, the node's heartbeat row (MACed under a DMK-derived key, times
// from the database's clock so clock skew between nodes does not matter), the refusal of a
// second live process with the same node name, the leader for cluster-wide tasks, and the node
// list `inkan cluster status` shows. On SQLite the "cluster" is this one node.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { hmac, randomBytes, timingSafeEqual } from '../crypto/node-crypto';
import type { Hsm } from '../core/hsm';
import type { KeyStore } from '../keystore/types';
import { SqliteKeyStore } from '../keystore/sqlite/sqlite-store';
import { PostgresKeyStore, type NodeRow } from '../keystore/postgres/postgres-store';
import type { Logger } from '../logger';

/** `--store` / INKAN_STORE: absent or "sqlite" = the embedded file in the data directory. */
export function describeStore(spec: string | undefined): 'sqlite' | 'postgres' {
  if (spec === undefined || spec === '' || spec === 'sqlite') return 'sqlite';
  if (/^postgres(ql)?:\/\//.test(spec)) return 'postgres';
  throw new Error(`--store takes "sqlite" or a postgres://user@host/db URL, not ${spec.replace(/:[^:@/]*@/, ':***@').slice(0, 80)}`);
}

export async function openStore(spec: string | undefined, dataDir: string): Promise<KeyStore> {
  if (describeStore(spec) === 'sqlite') return new SqliteKeyStore(path.join(dataDir, 'inkan.db'));
  return PostgresKeyStore.open({ url: spec! });
}

export interface NodeStatus {
  node: string;
  address: string;
  state: string;
  unsealed: boolean;
  version: string;
  started: string;
  lastHeartbeat: string;
  /** Milliseconds since the last heartbeat, by the database's clock. */
  heartbeatAgeMs: number;
  /** Beat within three heartbeat intervals. */
  alive: boolean;
  /** ok: MACed under this domain; unsigned: a sealed node (no key yet); bad: not this domain's, or edited. */
  mac: 'ok' | 'unsigned' | 'bad';
  opsPerSec: number;
  keystore: string;
  self: boolean;
  leader: boolean;
}

export interface ClusterStatus { keystore: string; node: string; leader: string | undefined; nodes: NodeStatus[] }

interface BeatData { intervalMs: number; unsealed: boolean; ops: number; opsPerSec: number; keystore: string }

export interface ClusterOptions {
  node: string;
  heartbeatMs?: number;
  log: Logger;
}

const DEFAULT_HEARTBEAT_MS = 2_000;
/** A node is alive while its last beat is younger than this many of its intervals. */
const ALIVE_BEATS = 3;

function packageVersion(): string {
  try {
    // dist/src/runtime → the repository root.
    return String(JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', '..', 'package.json'), 'utf8')).version);
  } catch { return 'unknown'; }
}

function macInput(r: Omit<NodeRow, 'mac'>): Buffer {
  return Buffer.from(JSON.stringify(['inkan-node/v1', r.node, r.instance, r.address, r.state, r.version, r.started, r.beat, r.data]));
}

export class ClusterMember {
  readonly instance = randomBytes(12).toString('hex');
  private readonly heartbeatMs: number;
  private readonly version = packageVersion();
  private readonly nodes?: PostgresKeyStore['nodes'];
  private timer?: NodeJS.Timeout;
  private started = Date.now();
  private ops = 0;
  private lastOps = 0;
  private lastBeatAt = Date.now();
  private isLeader = true;
  private storeDown = false;
  private beating?: Promise<void>;
  /** Where clients reach this node (its admin/KMS URL), known once it listens. */
  private address = '';

  constructor(private readonly hsm: Hsm, private readonly store: KeyStore, private readonly o: ClusterOptions) {
    this.heartbeatMs = Math.max(100, o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
    if (store instanceof PostgresKeyStore) this.nodes = store.nodes;
  }

  /** Counts one operation (the metrics observer calls this) for the ops/s in the node list. */
  countOp(): void { this.ops++; }

  /** True while this node runs the cluster-wide tasks (key lifecycle, scheduled backups). */
  leader(): boolean { return this.isLeader; }

  /** Refuses a node name another live process uses: called before the module writes anything (its
   *  audit chain is named after the node). A node killed and restarted at once waits until its old
   *  row is older than three beats (it cannot tell a dead process from a live one sooner). */
  async claim(): Promise<void> {
    if (!this.nodes) return;
    this.started = await this.nodes.now();
    const deadline = Date.now() + (ALIVE_BEATS + 1) * this.heartbeatMs + 2_000;
    let seen: number | undefined;
    for (;;) {
      const row = await this.nodes.get(this.o.node);
      const now = await this.nodes.now();
      if (!row || row.instance === this.instance) break;
      const interval = this.intervalOf(row);
      const age = now - row.beat;
      if (age >= ALIVE_BEATS * interval) break;
      // It beat again while we waited: a live process has this name.
      if ((seen !== undefined && row.beat !== seen) || Date.now() > deadline) {
        throw new Error(`node name ${this.o.node} is in use by a running node (${row.address}, last heartbeat ${age} ms ago): give each node its own --node`);
      }
      seen = row.beat;
      this.o.log.info('waiting for the last heartbeat of this node name to age', { node: this.o.node, ageMs: age });
      await new Promise((r) => setTimeout(r, Math.min(interval, 500)));
    }
    // Holds the name from now on (a second process starting meanwhile sees a fresh beat).
    await this.nodes.put(this.row(await this.nodes.now()));
  }

  /** Starts beating, once the node listens at `address`. */
  async join(address: string): Promise<void> {
    this.address = address;
    if (!this.nodes) return;
    await this.beat();
    this.timer = setInterval(() => { this.beating ??= this.beat().finally(() => { this.beating = undefined; }); }, this.heartbeatMs);
    this.timer.unref();
  }

  async leave(): Promise<void> {
    clearInterval(this.timer);
    await this.beating;
  }

  /** Writes this node's row and re-elects the leader (the alive, unsealed node with the smallest name). */
  private async beat(): Promise<void> {
    if (!this.nodes) return;
    try {
      const now = await this.nodes.now();
      const row = this.row(now);
      await this.nodes.put(row);
      const list = await this.nodes.list();
      const live = list.nodes.filter((r) => this.check(r) === 'ok' && JSON.parse(r.data).unsealed === true && list.now - r.beat < ALIVE_BEATS * this.intervalOf(r));
      this.isLeader = live.length === 0 ? this.hsm.state === 'unsealed' : live[0].node === this.o.node;
      if (this.storeDown) this.o.log.info('cluster heartbeat: the store is reachable again', { node: this.o.node });
      this.storeDown = false;
    } catch (err) {
      // Without the database nobody can tell who leads: run no cluster-wide task meanwhile.
      this.isLeader = false;
      if (!this.storeDown) this.o.log.warn('cluster heartbeat failed: the store is unreachable', { node: this.o.node, error: (err as Error).message?.slice(0, 200) });
      this.storeDown = true;
    }
  }

  private row(now: number): NodeRow {
    const elapsed = Math.max(1, Date.now() - this.lastBeatAt);
    const data: BeatData = {
      intervalMs: this.heartbeatMs, unsealed: this.hsm.state === 'unsealed', ops: this.ops,
      opsPerSec: Math.round(((this.ops - this.lastOps) * 1000) / elapsed), keystore: this.store.kind,
    };
    this.lastOps = this.ops;
    this.lastBeatAt = Date.now();
    const r = {
      node: this.o.node, instance: this.instance, address: this.address, state: this.hsm.state, version: this.version,
      started: this.started, beat: now, data: JSON.stringify(data),
    };
    const key = this.macKey();
    return { ...r, mac: key ? hmac('sha256', key, macInput(r)) : null };
  }

  private macKey(): Buffer | undefined {
    const keys = this.hsm.state === 'unsealed' ? this.hsm.core.keys : undefined;
    return keys?.derive('cluster-node');
  }

  private check(r: NodeRow): NodeStatus['mac'] {
    if (!r.mac) return 'unsigned';
    const key = this.macKey();
    if (!key) return 'unsigned';
    return timingSafeEqual(r.mac, hmac('sha256', key, macInput(r))) ? 'ok' : 'bad';
  }

  private intervalOf(r: NodeRow): number {
    try {
      const v = Number((JSON.parse(r.data) as Partial<BeatData>).intervalMs);
      return Number.isFinite(v) && v >= 100 ? Math.min(v, 60_000) : DEFAULT_HEARTBEAT_MS;
    } catch { return DEFAULT_HEARTBEAT_MS; }
  }

  /** The node list as the store has it (on SQLite: this node). Throws if the store is unreachable. */
  async status(): Promise<ClusterStatus> {
    if (!this.nodes) {
      const now = Date.now();
      const self: NodeStatus = {
        node: this.o.node, address: this.address, state: this.hsm.state, unsealed: this.hsm.state === 'unsealed', version: this.version,
        started: new Date(this.started).toISOString(), lastHeartbeat: new Date(now).toISOString(), heartbeatAgeMs: 0, alive: true, mac: 'ok',
        opsPerSec: 0, keystore: this.store.kind, self: true, leader: true,
      };
      return { keystore: this.store.kind, node: this.o.node, leader: this.o.node, nodes: [self] };
    }
    const list = await this.nodes.list();
    const nodes = list.nodes.map((r): NodeStatus => {
      let data: Partial<BeatData> = {};
      try { data = JSON.parse(r.data) as Partial<BeatData>; } catch { /* shown as unknown; the MAC says bad */ }
      const age = Math.max(0, list.now - r.beat);
      return {
        node: r.node, address: r.address, state: r.state, unsealed: data.unsealed === true, version: r.version,
        started: new Date(r.started).toISOString(), lastHeartbeat: new Date(r.beat).toISOString(), heartbeatAgeMs: age,
        alive: age < ALIVE_BEATS * this.intervalOf(r), mac: this.check(r), opsPerSec: Number(data.opsPerSec) || 0,
        keystore: String(data.keystore ?? 'postgres'), self: r.node === this.o.node && r.instance === this.instance, leader: false,
      };
    });
    const leader = nodes.find((n) => n.alive && n.unsealed && n.mac === 'ok');
    if (leader) leader.leader = true;
    return { keystore: this.store.kind, node: this.o.node, leader: leader?.node, nodes };
  }
}
