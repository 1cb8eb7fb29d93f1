// KeyStore on an embedded SQLite file (better-sqlite3, WAL). The embedded default.
import * as fs from 'node:fs';
import Database from 'better-sqlite3';
import { HsmError } from '../../errors/hsm-error';
import { SqliteAuditStore } from './sqlite-audit';
import { SqliteBulkStore } from './sqlite-bulk';
import { AccessKeyRow, KeyStore, KmsAliasRow, KmsKeyRow, ObjectRow, UserRow } from '../types';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
  id TEXT PRIMARY KEY, partition TEXT NOT NULL, owner TEXT NOT NULL, cls INTEGER NOT NULL,
  label TEXT NOT NULL, attrs TEXT NOT NULL, sealed BLOB, shared_with TEXT NOT NULL,
  version INTEGER NOT NULL, created INTEGER NOT NULL, mac BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS objects_partition ON objects(partition);
CREATE TABLE IF NOT EXISTS users (
  id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, role TEXT NOT NULL, password_hash TEXT NOT NULL,
  failed_logins INTEGER NOT NULL, locked INTEGER NOT NULL, version INTEGER NOT NULL,
  created INTEGER NOT NULL, mac BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS kms_keys (
  id TEXT PRIMARY KEY, owner TEXT NOT NULL, data TEXT NOT NULL, version INTEGER NOT NULL,
  created INTEGER NOT NULL, mac BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS kms_aliases (
  owner TEXT NOT NULL, name TEXT NOT NULL, target_key_id TEXT NOT NULL, created INTEGER NOT NULL,
  updated INTEGER NOT NULL, version INTEGER NOT NULL, mac BLOB NOT NULL, PRIMARY KEY (owner, name));
CREATE TABLE IF NOT EXISTS access_keys (
  id TEXT PRIMARY KEY, user_id TEXT NOT NULL, sealed BLOB NOT NULL, created INTEGER NOT NULL, mac BLOB NOT NULL);
`;

interface ObjectSqlRow {
  id: string; partition: string; owner: string; cls: number; label: string; attrs: string;
  sealed: Buffer | null; shared_with: string; version: number; created: number; mac: Buffer;
}
interface UserSqlRow {
  id: string; username: string; role: string; password_hash: string; failed_logins: number;
  locked: number; version: number; created: number; mac: Buffer;
}

const toObject = (r: ObjectSqlRow): ObjectRow => ({
  id: r.id, partition: r.partition, owner: r.owner, cls: r.cls, label: r.label, attrs: r.attrs,
  sealed: r.sealed, sharedWith: r.shared_with, version: r.version, created: r.created, mac: r.mac,
});
const objectParams = (r: ObjectRow) => ({
  id: r.id, partition: r.partition, owner: r.owner, cls: r.cls, label: r.label, attrs: r.attrs,
  sealed: r.sealed, shared_with: r.sharedWith, version: r.version, created: r.created, mac: r.mac,
});
const toUser = (r: UserSqlRow): UserRow => ({
  id: r.id, username: r.username, role: r.role, passwordHash: r.password_hash,
  failedLogins: r.failed_logins, locked: r.locked !== 0, version: r.version, created: r.created, mac: r.mac,
});
const userParams = (r: UserRow) => ({
  id: r.id, username: r.username, role: r.role, password_hash: r.passwordHash,
  failed_logins: r.failedLogins, locked: r.locked ? 1 : 0, version: r.version, created: r.created, mac: r.mac,
});

interface AliasSqlRow { owner: string; name: string; target_key_id: string; created: number; updated: number; version: number; mac: Buffer }
const toAlias = (r: AliasSqlRow): KmsAliasRow => ({
  owner: r.owner, name: r.name, targetKeyId: r.target_key_id, created: r.created, updated: r.updated, version: r.version, mac: r.mac,
});
const aliasParams = (r: KmsAliasRow) => ({
  owner: r.owner, name: r.name, target_key_id: r.targetKeyId, created: r.created, updated: r.updated, version: r.version, mac: r.mac,
});
interface AccessKeySqlRow { id: string; user_id: string; sealed: Buffer; created: number; mac: Buffer }
const toAccessKey = (r: AccessKeySqlRow): AccessKeyRow => ({ id: r.id, userId: r.user_id, sealed: r.sealed, created: r.created, mac: r.mac });
const accessKeyParams = (r: AccessKeyRow) => ({ id: r.id, user_id: r.userId, sealed: r.sealed, created: r.created, mac: r.mac });

export class SqliteKeyStore implements KeyStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  readonly audit: SqliteAuditStore;
  readonly bulk: SqliteBulkStore;

  constructor(file: string) {
    this.db = new Database(file);
    // Sealed, but nobody else needs to read it either.
    for (const f of [file, `${file}-wal`, `${file}-shm`]) if (fs.existsSync(f)) fs.chmodSync(f, 0o600);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    this.audit = new SqliteAuditStore(this.db);
    this.bulk = new SqliteBulkStore(this.db);
  }

  async getMeta(name: string): Promise<Buffer | undefined> {
    const row = this.db.prepare('SELECT value FROM meta WHERE name = ?').get(name) as { value: Buffer } | undefined;
    return row?.value;
  }
  async putMeta(values: Record<string, Buffer>): Promise<void> {
    const stmt = this.db.prepare('INSERT INTO meta(name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value');
    this.db.transaction(() => { for (const [k, v] of Object.entries(values)) stmt.run(k, v); })();
  }

  async insertObject(row: ObjectRow): Promise<void> {
    this.db.prepare(`INSERT INTO objects VALUES (@id, @partition, @owner, @cls, @label, @attrs, @sealed,
      @shared_with, @version, @created, @mac)`).run(objectParams(row));
  }
  async updateObject(row: ObjectRow, expectedVersion: number): Promise<void> {
    const res = this.db.prepare(`UPDATE objects SET partition=@partition, owner=@owner, cls=@cls, label=@label,
      attrs=@attrs, sealed=@sealed, shared_with=@shared_with, version=@version, created=@created, mac=@mac
      WHERE id=@id AND version=@expected`).run({ ...objectParams(row), expected: expectedVersion });
    if (res.changes !== 1) throw new HsmError('STORE_CONFLICT');
  }
  async getObject(id: string): Promise<ObjectRow | undefined> {
    const r = this.db.prepare('SELECT * FROM objects WHERE id = ?').get(id) as ObjectSqlRow | undefined;
    return r && toObject(r);
  }
  async listObjects(partition: string): Promise<ObjectRow[]> {
    return (this.db.prepare('SELECT * FROM objects WHERE partition = ? ORDER BY created, id').all(partition) as ObjectSqlRow[]).map(toObject);
  }
  async deleteObject(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM objects WHERE id = ?').run(id).changes === 1;
  }
  async countObjects(): Promise<Record<number, number>> {
    const rows = this.db.prepare('SELECT cls, COUNT(*) AS n FROM objects GROUP BY cls').all() as { cls: number; n: number }[];
    return Object.fromEntries(rows.map((r) => [r.cls, r.n]));
  }

  async insertUser(row: UserRow): Promise<void> {
    try {
      this.db.prepare(`INSERT INTO users VALUES (@id, @username, @role, @password_hash, @failed_logins, @locked,
        @version, @created, @mac)`).run(userParams(row));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') throw new HsmError('USER_EXISTS');
      throw err;
    }
  }
  async updateUser(row: UserRow, expectedVersion: number): Promise<void> {
    const res = this.db.prepare(`UPDATE users SET username=@username, role=@role, password_hash=@password_hash,
      failed_logins=@failed_logins, locked=@locked, version=@version, created=@created, mac=@mac
      WHERE id=@id AND version=@expected`).run({ ...userParams(row), expected: expectedVersion });
    if (res.changes !== 1) throw new HsmError('STORE_CONFLICT');
  }
  async getUserByName(username: string): Promise<UserRow | undefined> {
    const r = this.db.prepare('SELECT * FROM users WHERE username = ?').get(username) as UserSqlRow | undefined;
    return r && toUser(r);
  }
  async getUserById(id: string): Promise<UserRow | undefined> {
    const r = this.db.prepare('SELECT * FROM users WHERE id = ?').get(id) as UserSqlRow | undefined;
    return r && toUser(r);
  }
  async listUsers(): Promise<UserRow[]> {
    return (this.db.prepare('SELECT * FROM users ORDER BY created, username').all() as UserSqlRow[]).map(toUser);
  }
  async deleteUser(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM users WHERE id = ?').run(id).changes === 1;
  }

  async insertKmsKey(row: KmsKeyRow): Promise<void> {
    this.db.prepare('INSERT INTO kms_keys VALUES (@id, @owner, @data, @version, @created, @mac)').run(row);
  }
  async updateKmsKey(row: KmsKeyRow, expectedVersion: number): Promise<void> {
    const res = this.db.prepare(`UPDATE kms_keys SET owner=@owner, data=@data, version=@version, created=@created, mac=@mac
      WHERE id=@id AND version=@expected`).run({ ...row, expected: expectedVersion });
    if (res.changes !== 1) throw new HsmError('STORE_CONFLICT');
  }
  async getKmsKey(id: string): Promise<KmsKeyRow | undefined> {
    return this.db.prepare('SELECT * FROM kms_keys WHERE id = ?').get(id) as KmsKeyRow | undefined;
  }
  async listKmsKeys(): Promise<KmsKeyRow[]> {
    return this.db.prepare('SELECT * FROM kms_keys ORDER BY created, id').all() as KmsKeyRow[];
  }
  async deleteKmsKey(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM kms_keys WHERE id = ?').run(id).changes === 1;
  }

  async insertKmsAlias(row: KmsAliasRow): Promise<void> {
    try {
      this.db.prepare(`INSERT INTO kms_aliases VALUES (@owner, @name, @target_key_id, @created, @updated, @version, @mac)`)
        .run(aliasParams(row));
    } catch (err) {
      if (String((err as { code?: string }).code).startsWith('SQLITE_CONSTRAINT')) throw new HsmError('ALIAS_EXISTS');
      throw err;
    }
  }
  async updateKmsAlias(row: KmsAliasRow, expectedVersion: number): Promise<void> {
    const res = this.db.prepare(`UPDATE kms_aliases SET target_key_id=@target_key_id, created=@created, updated=@updated,
      version=@version, mac=@mac WHERE owner=@owner AND name=@name AND version=@expected`).run({ ...aliasParams(row), expected: expectedVersion });
    if (res.changes !== 1) throw new HsmError('STORE_CONFLICT');
  }
  async getKmsAlias(owner: string, name: string): Promise<KmsAliasRow | undefined> {
    const r = this.db.prepare('SELECT * FROM kms_aliases WHERE owner = ? AND name = ?').get(owner, name) as AliasSqlRow | undefined;
    return r && toAlias(r);
  }
  async listKmsAliases(owner: string): Promise<KmsAliasRow[]> {
    return (this.db.prepare('SELECT * FROM kms_aliases WHERE owner = ? ORDER BY name').all(owner) as AliasSqlRow[]).map(toAlias);
  }
  async deleteKmsAlias(owner: string, name: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM kms_aliases WHERE owner = ? AND name = ?').run(owner, name).changes === 1;
  }

  async insertAccessKey(row: AccessKeyRow): Promise<void> {
    this.db.prepare('INSERT INTO access_keys VALUES (@id, @user_id, @sealed, @created, @mac)').run(accessKeyParams(row));
  }
  async getAccessKey(id: string): Promise<AccessKeyRow | undefined> {
    const r = this.db.prepare('SELECT * FROM access_keys WHERE id = ?').get(id) as AccessKeySqlRow | undefined;
    return r && toAccessKey(r);
  }
  async listAccessKeys(): Promise<AccessKeyRow[]> {
    return (this.db.prepare('SELECT * FROM access_keys ORDER BY created, id').all() as AccessKeySqlRow[]).map(toAccessKey);
  }
  async deleteAccessKey(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM access_keys WHERE id = ?').run(id).changes === 1;
  }

  async close(): Promise<void> { this.db.close(); }

  /** Test hook: raw access to the file, to prove tampering is detected. Not used by the module. */
  rawDatabase(): Database.Database { return this.db; }
}
