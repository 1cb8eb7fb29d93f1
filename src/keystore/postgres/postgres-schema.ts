// Creates and migrates the PostgreSQL schema, by the node itself at start: one transaction under
// a transaction-scoped advisory lock, so nodes starting together do not race (CREATE TABLE IF NOT
// EXISTS alone is not safe concurrently: the loser fails on pg_type's unique index). The
// version lives in meta.schema_version, as in SQLite.
import { PLAIN_TABLES, RECORD_TABLES, SCHEMA_VERSION, TABLES } from '../schema';
import type { Db, Query } from './postgres-db';
import { createTableSql, OWN_TABLES_SQL } from './postgres-sql';

/** Advisory lock classes (the first int4 of pg_advisory_xact_lock), 'Ikn' + a class byte, so
 *  they do not collide with each other or, likely, with other applications on the database. */
export const LOCK_SCHEMA = 0x496b6e00;
export const LOCK_CHANGE_ORDER = 0x496b6e01;
export const LOCK_CHAIN = 0x496b6e02;

/** Steps from version N to N+1, run in order inside the migration transaction. PostgreSQL
 *  stores start at version 2 (version 1 was SQLite-only), so there are none yet; a new schema
 *  version adds `MIGRATIONS[2] = async (q) => { ...ALTER TABLE... }` here and bumps SCHEMA_VERSION. */
const MIGRATIONS: Record<number, (q: Query) => Promise<void>> = {};

/** Tables only the PostgreSQL store has (the cluster's node list) are versioned on their own in
 *  meta.pg_layout, so they can grow without a new store schema for SQLite. Step N takes layout N
 *  to N+1; every statement is idempotent (a restore may bring a meta without pg_layout). */
export const PG_LAYOUT = 2;
const LAYOUT_STEPS: Record<number, string[]> = {
  0: [`CREATE TABLE IF NOT EXISTS "cluster_nodes" ("node" TEXT COLLATE "C" PRIMARY KEY, "instance" TEXT NOT NULL,
    "address" TEXT NOT NULL, "state" TEXT NOT NULL, "version" TEXT NOT NULL, "started" BIGINT NOT NULL,
    "beat" BIGINT NOT NULL, "data" TEXT NOT NULL, "mac" BYTEA)`],
  // Key use counters (schema.ts use_counters), for stores made before they existed.
  1: createTableSql(TABLES.use_counters),
};

export async function migrate(db: Db): Promise<void> {
  await db.tx('schema migration', async (q) => {
    await q('SELECT pg_advisory_xact_lock($1, 0)', [LOCK_SCHEMA]);
    const stored = await storedVersion(db, q);
    // Up to date: no DDL, which would lock tables that other nodes are writing.
    if (stored !== SCHEMA_VERSION) await migrateSchema(db, q, stored);
    await migrateLayout(db, q);
  });
}

async function migrateLayout(db: Db, q: Query): Promise<void> {
  const row = (await q<{ value: Buffer }>("SELECT value FROM meta WHERE name = 'pg_layout'")).rows[0];
  const layout = row ? Number(row.value.toString()) : 0;
  if (layout === PG_LAYOUT) return;
  if (!Number.isInteger(layout) || layout > PG_LAYOUT) {
    throw new Error(`PostgreSQL store ${db.target} has PostgreSQL layout ${row?.value.toString().slice(0, 20)}, newer than this Inkan (layout ${PG_LAYOUT}): upgrade this node`);
  }
  for (let l = layout; l < PG_LAYOUT; l++) for (const sql of LAYOUT_STEPS[l]) await q(sql);
  await q("INSERT INTO meta (name, value) VALUES ('pg_layout', $1) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
    [Buffer.from(String(PG_LAYOUT))]);
}

async function migrateSchema(db: Db, q: Query, stored: number | undefined): Promise<void> {
    if (stored !== undefined && stored > SCHEMA_VERSION) {
      throw new Error(`PostgreSQL store ${db.target} has store schema ${stored}, newer than this Inkan (schema ${SCHEMA_VERSION}): upgrade this node`);
    }
    for (let v = stored ?? SCHEMA_VERSION; v < SCHEMA_VERSION; v++) {
      const step = MIGRATIONS[v];
      if (!step) throw new Error(`PostgreSQL store ${db.target} has store schema ${stored}; this Inkan (schema ${SCHEMA_VERSION}) has no migration from it`);
      await step(q);
    }
    // Idempotent: creates what is missing (everything on an empty database, new tables after a migration).
    for (const def of [...RECORD_TABLES, ...PLAIN_TABLES]) for (const sql of createTableSql(def)) await q(sql);
    for (const sql of OWN_TABLES_SQL) await q(sql);
    await q("INSERT INTO meta (name, value) VALUES ('schema_version', $1) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
      [Buffer.from(String(SCHEMA_VERSION))]);
}

/** The schema version of the database, or undefined if it holds no Inkan store yet. */
async function storedVersion(db: Db, q: Query): Promise<number | undefined> {
  if ((await q<{ t: string | null }>("SELECT to_regclass('meta')::text AS t")).rows[0].t === null) return undefined;
  const row = (await q<{ value: Buffer }>("SELECT value FROM meta WHERE name = 'schema_version'")).rows[0];
  const v = row ? Number(row.value.toString()) : NaN;
  if (!Number.isInteger(v)) throw new Error(`PostgreSQL store ${db.target} has a meta table without a readable schema_version: not an Inkan store?`);
  return v;
}
