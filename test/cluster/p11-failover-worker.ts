// Worker thread of the PKCS#11 failover test: a long-running application on Debian's
// p11-kit-client.so through `inkan p11-stdio --server …` (the address it is given). It logs in,
// opens sessions, makes an RSA-2048 key pair, then signs in a loop — and every few signatures makes
// a new token key pair, the way a signing service enrols keys — until told to stop. It also leaves
// a session object and a multi-part signature open, which cannot survive a failover, and reports
// what they answer afterwards. Progress goes to shared memory so the test can kill nodes mid-loop.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';

export interface FailoverJob { module: string; address: string; pin: string; label: string; keyEvery: number }
/** Float64 slots: signatures done, time of the last success (ms). */
export const PROGRESS = { done: 0, lastOk: 1 } as const;

export interface FailoverReport {
  modulus: string; exponent: string;
  signatures: { msg: string; sig: string }[];
  failures: string[];
  /** Key pairs whose C_GenerateKeyPair was acknowledged (or found by label after CKR_DEVICE_REMOVED). */
  acknowledged: string[];
  deviceRemoved: number;
  sessionObject: string; multipart: string; handleStable: boolean;
  error?: string;
}

const RW = pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION;

function ckr(fn: () => unknown): string {
  try { fn(); } catch (err) { return (err as Error).message.split(':')[0]; }
  return 'CKR_OK';
}

if (!isMainThread && workerData?.inkanFailoverWorker) {
  const job = workerData.job as FailoverJob;
  const progress = new Float64Array(workerData.progress as SharedArrayBuffer);
  process.env.P11_KIT_SERVER_ADDRESS = job.address;
  const p = new pkcs11js.PKCS11();
  p.load(job.module);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  const report: FailoverReport = {
    modulus: '', exponent: '', signatures: [], failures: [], acknowledged: [], deviceRemoved: 0, sessionObject: '', multipart: '', handleStable: false,
  };
  try {
    const [slot] = p.C_GetSlotList(true);
    const s = p.C_OpenSession(slot, RW);
    p.C_Login(s, pkcs11js.CKU_USER, job.pin);
    const { publicKey, privateKey } = p.C_GenerateKeyPair(s, { mechanism: pkcs11js.CKM_RSA_PKCS_KEY_PAIR_GEN },
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_MODULUS_BITS, value: 2048 }, { type: pkcs11js.CKA_LABEL, value: job.label }],
      [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: job.label }, { type: pkcs11js.CKA_SIGN, value: true }]);
    const [n, e] = p.C_GetAttributeValue(s, publicKey, [{ type: pkcs11js.CKA_MODULUS }, { type: pkcs11js.CKA_PUBLIC_EXPONENT }]);
    report.modulus = (n.value as Buffer).toString('base64url');
    report.exponent = (e.value as Buffer).toString('base64url');
    // What cannot survive: a session object, and a multi-part signature fed before the failover.
    const dataObject = p.C_CreateObject(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_DATA }, { type: pkcs11js.CKA_TOKEN, value: false },
      { type: pkcs11js.CKA_LABEL, value: 'session-object' }, { type: pkcs11js.CKA_VALUE, value: Buffer.from('gone with its node') }]);
    const multi = p.C_OpenSession(slot, RW);
    p.C_SignInit(multi, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, privateKey);
    p.C_SignUpdate(multi, Buffer.from('first half'));
    postMessage({ ready: true });
    for (let i = 0; Atomics.load(new Int32Array(workerData.stop as SharedArrayBuffer), 0) === 0; i++) {
      const msg = `message ${i}`;
      try {
        p.C_SignInit(s, { mechanism: pkcs11js.CKM_SHA256_RSA_PKCS }, privateKey);
        report.signatures.push({ msg, sig: p.C_Sign(s, Buffer.from(msg), Buffer.alloc(256)).toString('base64') });
        progress[PROGRESS.done] = report.signatures.length;
        progress[PROGRESS.lastOk] = Date.now();
      } catch (err) {
        report.failures.push(`sign ${i}: ${(err as Error).message}`);
      }
      if (job.keyEvery > 0 && i % job.keyEvery === job.keyEvery - 1) enrol(p, s, `${job.label}-k${i}`, report);
    }
    report.sessionObject = ckr(() => p.C_GetAttributeValue(s, dataObject, [{ type: pkcs11js.CKA_LABEL }]));
    report.multipart = ckr(() => p.C_SignFinal(multi, Buffer.alloc(256)));
    // The key handle from before the failovers still names the same key on the last node.
    const [label] = p.C_GetAttributeValue(s, privateKey, [{ type: pkcs11js.CKA_LABEL }]);
    report.handleStable = (label.value as Buffer).toString() === job.label;
    p.C_CloseSession(multi);
    p.C_CloseSession(s);
  } catch (err) {
    report.error = String((err as Error)?.stack ?? err);
  } finally {
    try { p.C_Finalize(); } catch { /* the report says why */ }
    postMessage(report);
  }
}

/** Key enrolment as docs/pkcs11.md advises: after CKR_DEVICE_REMOVED, look for the label before making it again. */
function enrol(p: pkcs11js.PKCS11, s: Buffer, label: string, report: FailoverReport): void {
  const make = () => p.C_GenerateKeyPair(s, { mechanism: pkcs11js.CKM_EC_KEY_PAIR_GEN },
    [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_EC_PARAMS, value: Buffer.from('06082a8648ce3d030107', 'hex') }, { type: pkcs11js.CKA_LABEL, value: label }],
    [{ type: pkcs11js.CKA_TOKEN, value: true }, { type: pkcs11js.CKA_LABEL, value: label }, { type: pkcs11js.CKA_SIGN, value: true }]);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      make();
      report.acknowledged.push(label);
      return;
    } catch (err) {
      if (!(err as Error).message.startsWith('CKR_DEVICE_REMOVED')) { report.failures.push(`enrol ${label}: ${(err as Error).message}`); return; }
      report.deviceRemoved++;
      p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_LABEL, value: label }]);
      const found = p.C_FindObjects(s, 1);
      p.C_FindObjectsFinal(s);
      if (found.length) { report.acknowledged.push(label); return; }
    }
  }
  report.failures.push(`enrol ${label}: CKR_DEVICE_REMOVED twice`);
}

function postMessage(m: unknown): void { parentPort!.postMessage(m); }
