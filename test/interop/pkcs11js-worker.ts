// Worker thread for the pkcs11js concurrency test: its own p11-kit-client instance (so its
// own connection), one session, ECDSA signatures over a digest; posts them back for checking.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import * as pkcs11js from 'pkcs11js';

export interface WorkerJob { module: string; address: string; pin: string; keyId: string; digest: string; count: number }

if (!isMainThread && workerData?.inkanP11Worker) {
  const job = workerData.job as WorkerJob;
  process.env.P11_KIT_SERVER_ADDRESS = job.address;
  const p = new pkcs11js.PKCS11();
  p.load(job.module);
  p.C_Initialize({ flags: pkcs11js.CKF_OS_LOCKING_OK });
  try {
    const [slot] = p.C_GetSlotList(true);
    const s = p.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    p.C_Login(s, pkcs11js.CKU_USER, job.pin);
    p.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }, { type: pkcs11js.CKA_ID, value: Buffer.from(job.keyId, 'hex') }]);
    const [key] = p.C_FindObjects(s, 1);
    p.C_FindObjectsFinal(s);
    const sigs: string[] = [];
    for (let i = 0; i < job.count; i++) {
      p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key);
      sigs.push(p.C_Sign(s, Buffer.from(job.digest, 'hex'), Buffer.alloc(64)).toString('hex'));
    }
    p.C_CloseSession(s);
    parentPort!.postMessage({ sigs });
  } catch (err) {
    parentPort!.postMessage({ error: String(err) });
  } finally {
    p.C_Finalize();
  }
}
