// Worker for audit-huge.test.ts: appends the 1.5 M records through KeyStore.commit in its own
// thread, so that the main thread's heap measures only the export and the verification.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as c from '../../src/crypto/node-crypto';
import { AuditBody, linkRecords, signCheckpoint } from '../../src/audit-chain/chain';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { nextTime } from './fixtures';

export interface AppendJob { file: string; records: number; batch: number; checkpointEvery: number; pkcs8: Uint8Array; detail: string }

/** One record body; a fixed shape keeps generating 1.5 M of them cheap. */
const record = (i: number, detail: string): Omit<AuditBody, 'seq'> => ({
  time: nextTime(), node: 'node-1', actor: `user${i % 13}`, role: 'user', face: 'kms', partition: `tenant-${i % 3}`,
  op: 'key.sign', object: `7f3c2a10-${String(i).padStart(12, '0')}`, outcome: 'success', detail,
});

async function run(job: AppendJob): Promise<void> {
  const store = new SqliteKeyStore(job.file);
  const key = c.privateKeyFromDer(Buffer.from(job.pkcs8));
  try {
    for (let done = 0; done < job.records; done += job.batch) {
      const res = await store.commit({
        units: [], chain: 'node-1', durable: false,
        finish: (head) => ({ audit: linkRecords('node-1', head, Array.from({ length: job.batch }, (_, i) => record(head.seq + i + 1, job.detail))), writes: [] }),
      });
      for (const r of res.audit) if (r.seq % job.checkpointEvery === 0) await store.audit.putCheckpoint(signCheckpoint(key, 'node-1', r, 'node-1'));
    }
  } finally { await store.close(); }
}

// `node --test` also loads this file on its own; it only works as a worker.
if (!isMainThread && parentPort) {
  const port = parentPort;
  run(workerData as AppendJob).then(() => port.postMessage('done'), (err: Error) => port.postMessage(`failed: ${err.stack}`));
}
