// Worker thread for the use-limit race through PKCS#11: its own p11-kit-client instance (its own
// connection), one session, `count` signatures with one key; posts back how many succeeded and
// the CKR of each refusal. It logs in first and says "ready", then signs on "go", so that the
// logins do not overlap (see the test) while the uses race.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { createHash } from 'node:crypto';
import * as pkcs11js from 'pkcs11js';

export interface LimitJob { module: string; address: string; pin: string; keyId: string; count: number }

if (!isMainThread && workerData?.inkanLimitWorker) void run();

async function run(): Promise<void> {
  const job = workerData.job as LimitJob;
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
    parentPort!.postMessage({ ready: true });
    await new Promise((resolve) => parentPort!.once('message', resolve));
    const sigs: string[] = [];
    const refusals: string[] = [];
    for (let i = 0; i < job.count; i++) {
      try {
        p.C_SignInit(s, { mechanism: pkcs11js.CKM_ECDSA }, key);
        sigs.push(p.C_Sign(s, createHash('sha256').update(`message ${i}`).digest(), Buffer.alloc(64)).toString('hex'));
      } catch (err) { refusals.push((err as Error).message.split(':')[0]); }
    }
    p.C_CloseSession(s);
    parentPort!.postMessage({ sigs, refusals });
  } catch (err) {
    parentPort!.postMessage({ error: String(err) });
  } finally {
    p.C_Finalize();
  }
}
