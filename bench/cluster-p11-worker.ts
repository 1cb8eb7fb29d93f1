// Worker thread of `npm run bench:cluster`'s PKCS#11 rows: one application (its own p11-kit-client
// instance, so its own connection and, through `inkan p11-stdio --server`, its own relay process)
// that logs in, finds the bench key by label and signs with RSA-2048 PKCS#1 v1.5 / SHA-256 until
// the stop flag is set or the time is up. Latencies and the time of every success go back.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';

export interface P11BenchJob { module: string; pin: string; label: string; durationMs: number }
export interface P11BenchResult { count: number; elapsedMs: number; lat: number[]; failures: string[]; okTimes: number[]; error?: string }

if (!isMainThread && workerData?.inkanClusterP11Worker) {
  const job = workerData.job as P11BenchJob;
  const stop = new Int32Array(workerData.stop as SharedArrayBuffer);
  const out: P11BenchResult = { count: 0, elapsedMs: 0, lat: [], failures: [], okTimes: [] };
  const p = new pkcs11js.PKCS11();
  try {
    p.load(job.module);
    p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
    const s = p.C_OpenSession(p.C_GetSlotList(true)[0], pkcs11js.CKF_SERIAL_SESSION);
    p.C_Login(s, pkcs11js.CKU_USER, job.pin);
    p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: job.label }]);
    const [key] = p.C_FindObjects(s, 1);
    p.C_FindObjectsFinal(s);
    const msg = Buffer.alloc(1024, 7);
    const sig = Buffer.alloc(256);
    parentPort!.postMessage({ ready: true });
    // All workers start together: the main thread flips stop[1] once every one is ready.
    Atomics.wait(stop, 1, 0);
    const start = performance.now();
    while (Atomics.load(stop, 0) === 0 && performance.now() - start < job.durationMs) {
      const t = performance.now();
      try {
        p.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, key);
        p.C_Sign(s, msg, sig);
        out.lat.push(performance.now() - t);
        out.okTimes.push(Date.now());
        out.count++;
      } catch (err) { out.failures.push((err as Error).message); }
    }
    out.elapsedMs = performance.now() - start;
  } catch (err) {
    out.error = String(err);
  } finally {
    try { p.C_Finalize(); } catch { /* reported */ }
    parentPort!.postMessage(out);
  }
}
