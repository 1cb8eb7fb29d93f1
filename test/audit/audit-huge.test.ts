// A log too large for one JavaScript string (V8's limit is ~512 MiB; v1 failed there with
// "Invalid string length" at ~1.3 M records): 1.5 M records, appended through KeyStore.commit,
// export to a file and verify back in constant memory. Its own file: it takes most of a minute.
// Timings are reported (t.diagnostic), never asserted; bench/ is where speed is measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { constants as bufferConstants } from 'node:buffer';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import * as c from '../../src/crypto/node-crypto';
import { inChunks, openExport } from '../../src/core/audit/export';
import { verifyExport } from '../../src/audit-chain/verify';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { fixture } from './fixtures';
import type { AppendJob } from './huge-append-worker';

const RECORDS = 1_500_000;
const BATCH = 50_000;
const CHECKPOINT_EVERY = 1_000;
const HEAP_LIMIT = 200 * 1024 * 1024;
/** A realistic long detail (the module caps detail at 200 characters). */
const DETAIL = 'rotated key material version 7; previous version kept for decrypt until its deletion window ends; caller asked through the KMS face'.padEnd(180, '.');

test('1.5 M records (> 512 MiB exported) export and verify in constant memory', { timeout: 300_000 }, async (t) => {
  const f = await fixture();
  const out = path.join(f.dir, 'audit.ndjson');
  let maxHeap = 0;
  let cpu = process.cpuUsage();
  const cpuSeconds = () => { const d = process.cpuUsage(cpu); cpu = process.cpuUsage(); return ((d.user + d.system) / 1e6).toFixed(1); };
  const sample = () => { maxHeap = Math.max(maxHeap, process.memoryUsage().heapUsed); };
  const timer = setInterval(sample, 50);
  try {
    let started = Date.now();
    // The append runs in a worker thread (its own heap), as the module's writes would.
    const job: AppendJob = { file: f.file, records: RECORDS, batch: BATCH, checkpointEvery: CHECKPOINT_EVERY, pkcs8: c.exportPkcs8(f.key.privateKey), detail: DETAIL };
    await f.store.close();
    const worker = new Worker(path.join(__dirname, 'huge-append-worker.js'), { workerData: job });
    const [answer] = await once(worker, 'message') as [string];
    assert.equal(answer, 'done');
    await worker.terminate();
    f.store = new SqliteKeyStore(f.file);
    t.diagnostic(`append ${RECORDS} records in ${BATCH}-record commits: ${((Date.now() - started) / 1000).toFixed(1)} s (CPU ${cpuSeconds()} s)`);

    maxHeap = 0;
    started = Date.now();
    const lines = await openExport(f.store.audit, { publicKey: f.key.pem, sign: f.sign });
    await pipeline(inChunks(lines), async function* (chunks) { for await (const ch of chunks) { sample(); yield ch; } }, fs.createWriteStream(out, { mode: 0o600 }));
    const exportHeap = maxHeap;
    const size = fs.statSync(out).size;
    t.diagnostic(`export: ${((Date.now() - started) / 1000).toFixed(1)} s (CPU ${cpuSeconds()} s), ${(size / 2 ** 20).toFixed(0)} MiB, max heapUsed ${(exportHeap / 2 ** 20).toFixed(0)} MiB`);
    assert.ok(size > 512 * 2 ** 20, `the export is only ${size} bytes`);
    assert.ok(size > bufferConstants.MAX_STRING_LENGTH, 'the export does not fit in one string');

    maxHeap = 0;
    started = Date.now();
    const src = fs.createReadStream(out, { highWaterMark: 1 << 20 });
    const report = await verifyExport((async function* () { for await (const ch of src) { sample(); yield ch as Buffer; } })(), { publicKey: f.key.pem });
    const verifyHeap = maxHeap;
    t.diagnostic(`verify: ${((Date.now() - started) / 1000).toFixed(1)} s (CPU ${cpuSeconds()} s), max heapUsed ${(verifyHeap / 2 ** 20).toFixed(0)} MiB`);
    assert.equal(report.ok, true, report.problem);
    assert.deepEqual([report.records, report.checkpoints, report.chains[0].final?.seq], [RECORDS, RECORDS / CHECKPOINT_EVERY, RECORDS]);
    assert.ok(exportHeap < HEAP_LIMIT, `export heap reached ${exportHeap}`);
    assert.ok(verifyHeap < HEAP_LIMIT, `verify heap reached ${verifyHeap}`);
  } finally {
    clearInterval(timer);
    await f.close();
  }
  assert.equal(fs.existsSync(f.dir), false, 'the temp files are gone');
});
