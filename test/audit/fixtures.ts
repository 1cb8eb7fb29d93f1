// Shared by the audit tests: a real SQLite store whose chains are appended through
// KeyStore.commit (finish() calls linkRecords, as the module does), an audit key, and exports
// streamed to arrays or files. Deliberately independent of core/hsm.ts.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import * as c from '../../src/crypto/node-crypto';
import { AuditBody, linkRecords, signCheckpoint } from '../../src/audit-chain/chain';
import { ExportRange, openExport } from '../../src/core/audit/export';
import { verifyExport, VerifyReport } from '../../src/audit-chain/verify';
import type { AuditRecordRow, CheckpointRow } from '../../src/keystore/types';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';

export function tempDir(prefix = 'inkan-audit-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface AuditKey { privateKey: c.KeyObject; publicKey: c.KeyObject; pem: string }

export async function auditKey(): Promise<AuditKey> {
  const { privateKey, publicKey } = await c.generateEd25519();
  return { privateKey, publicKey, pem: c.exportSpkiPem(publicKey) };
}

export interface Fixture {
  store: SqliteKeyStore;
  dir: string;
  file: string;
  key: AuditKey;
  /** Appends `n` records to `chain` in one commit; `checkpointEvery` stores a signed checkpoint
   *  every that many records, as the module does. */
  append(chain: string, n: number, opts?: { checkpointEvery?: number; make?: (i: number) => Partial<AuditBody> }): Promise<AuditRecordRow[]>;
  /** The export callback: signs the head and stores the checkpoint (what the module does). */
  sign(chain: string, head: { seq: number; hash: string }): CheckpointRow;
  lines(range?: ExportRange): Promise<string[]>;
  verify(lines: string[], anchors?: CheckpointRow[], key?: string): Promise<VerifyReport>;
  sql(text: string, ...params: unknown[]): unknown;
  /** A consistent copy of the database now (VACUUM INTO), for a later rollback. */
  snapshot(): string;
  /** Puts an earlier snapshot back in place of the database, as an attacker with the file could. */
  restore(snapshotFile: string): Promise<void>;
  close(): Promise<void>;
}

let clock = Date.parse('2026-01-01T00:00:00.000Z');
/** Strictly increasing record times, 1 s apart, so `since` ranges have something to pick. */
export function nextTime(): string { clock += 1000; return new Date(clock).toISOString(); }

export function body(i: number, extra: Partial<AuditBody> = {}): Omit<AuditBody, 'seq'> {
  return {
    time: nextTime(), node: 'node-1', actor: `user${i % 7}`, role: 'user', face: i % 2 ? 'kms' : 'p11',
    ...(i % 3 ? { partition: `p${i % 3}` } : {}), op: i % 5 ? 'key.sign' : 'key.generate', object: `obj-${i}`,
    outcome: i % 11 ? 'success' : 'failure', ...(i % 11 ? {} : { code: 'KEY_TYPE_INCONSISTENT' }), ...extra,
  };
}

export async function* fromArray(lines: string[]): AsyncGenerator<string> {
  for (const l of lines) yield l.endsWith('\n') ? l : l + '\n';
}

export async function fixture(): Promise<Fixture> {
  const dir = tempDir();
  const file = path.join(dir, 'inkan.db');
  const key = await auditKey();
  let snapshots = 0;
  const f: Fixture = {
    store: new SqliteKeyStore(file), dir, file, key,
    async append(chain, n, opts = {}) {
      const res = await f.store.commit({
        units: [], chain, durable: false,
        finish: (head) => ({ audit: linkRecords(chain, head, Array.from({ length: n }, (_, i) => body(head.seq + i + 1, { node: chain, ...opts.make?.(head.seq + i + 1) }))), writes: [] }),
      });
      if (opts.checkpointEvery) {
        for (const r of res.audit) if (r.seq % opts.checkpointEvery === 0) await f.store.audit.putCheckpoint(signCheckpoint(key.privateKey, chain, r, chain));
      }
      return res.audit;
    },
    sign(chain, head) {
      const cp = signCheckpoint(key.privateKey, chain, head, 'node-1');
      void f.store.audit.putCheckpoint(cp);
      return cp;
    },
    async lines(range = {}) {
      const out: string[] = [];
      for await (const l of await openExport(f.store.audit, { ...range, publicKey: key.pem, sign: f.sign, pageSize: 7 })) out.push(l);
      return out;
    },
    verify: (lines, anchors, pem = key.pem) => verifyExport(fromArray(lines), { publicKey: pem, anchors }),
    sql: (text, ...params) => {
      const st = f.store.rawDatabase().prepare(text);
      return st.reader ? st.all(...params) : st.run(...params);
    },
    snapshot() {
      const copy = path.join(dir, `snapshot-${++snapshots}.db`);
      f.store.rawDatabase().prepare('VACUUM INTO ?').run(copy);
      return copy;
    },
    async restore(snapshotFile) {
      await f.store.close();
      for (const x of [file, `${file}-wal`, `${file}-shm`]) fs.rmSync(x, { force: true });
      fs.copyFileSync(snapshotFile, file);
      f.store = new SqliteKeyStore(file);
    },
    async close() {
      await f.store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  return f;
}

/** SHA-256 by the openssl CLI: the second implementation record hashes are checked with. */
export function opensslSha256(data: Buffer): string {
  return execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: data }).toString('hex');
}

export const parse = (l: string) => JSON.parse(l) as Record<string, any>;
export const findLine = (lines: string[], pred: (l: Record<string, any>) => boolean) => lines.findIndex((l) => pred(parse(l)));
