// The cluster's node list on PostgreSQL: one row per node name, rewritten by that node's
// heartbeat. Times are the database server's clock (now()), so nodes whose clocks disagree still
// agree on who beat when. The row's MAC is the caller's (runtime/cluster.ts, under a DMK-derived
// key): this table is as untrusted as the rest of the database. It is not part of backups.
import type { Db } from './postgres-db';

export interface NodeRow {
  node: string;
  /** Random per process start: tells a restarted node from a second process with the same name. */
  instance: string;
  address: string;
  state: string;
  version: string;
  /** Milliseconds since the epoch, database clock. */
  started: number;
  beat: number;
  /** JSON: counters a node reports (ops, unsealed, keystore...). */
  data: string;
  mac: Buffer | null;
}

const COLS = '"node", "instance", "address", "state", "version", "started", "beat", "data", "mac"';
const MAX_NODES = 1_000;

export class PostgresNodeList {
  constructor(private readonly db: Db) {}

  /** The database's clock, in milliseconds since the epoch. */
  async now(): Promise<number> {
    return (await this.db.query<{ now: number }>('cluster clock', 'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now'))[0].now;
  }

  async get(node: string): Promise<NodeRow | undefined> {
    return (await this.db.query<NodeRow>('cluster node', `SELECT ${COLS} FROM "cluster_nodes" WHERE "node" = $1`, [node]))[0];
  }

  /** Every node, by name, with the database clock at the time of reading. */
  async list(): Promise<{ now: number; nodes: NodeRow[] }> {
    const now = await this.now();
    const nodes = await this.db.query<NodeRow>('cluster nodes', `SELECT ${COLS} FROM "cluster_nodes" ORDER BY "node" LIMIT ${MAX_NODES}`);
    return { now, nodes };
  }

  async put(row: NodeRow): Promise<void> {
    await this.db.query('cluster heartbeat', `INSERT INTO "cluster_nodes" (${COLS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
      ON CONFLICT ("node") DO UPDATE SET "instance" = EXCLUDED."instance", "address" = EXCLUDED."address", "state" = EXCLUDED."state",
        "version" = EXCLUDED."version", "started" = EXCLUDED."started", "beat" = EXCLUDED."beat", "data" = EXCLUDED."data", "mac" = EXCLUDED."mac"`,
    [row.node, row.instance, row.address, row.state, row.version, row.started, row.beat, row.data, row.mac]);
  }

  /** A node leaving the cluster on purpose (`inkan cluster remove`) or shutting down cleanly keeps its row; this drops it. */
  async remove(node: string): Promise<boolean> {
    const rows = await this.db.query<{ node: string }>('cluster remove', 'DELETE FROM "cluster_nodes" WHERE "node" = $1 RETURNING "node"', [node]);
    return rows.length > 0;
  }
}
