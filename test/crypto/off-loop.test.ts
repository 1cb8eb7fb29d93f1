// Private-key operations that node:crypto offers only synchronously run on worker threads:
// while six RSA-4096 signatures are computed, the event loop keeps turning.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { CKK, CKM } from '../../src/pkcs11/constants';
import { mechanism } from '../../src/mechanisms/registry';
import { describe } from '../../src/mechanisms/key-types';

test('raw RSA, OAEP decryption, PSS and ECDSA over a digest leave the event loop free', async () => {
  const { privateKey } = nc.generateKeyPairSync('rsa', { modulusLength: 4096 });
  const rsa = describe(CKK.RSA, privateKey);
  const ec = describe(CKK.EC, nc.generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey);
  const digestInfo = Buffer.concat([Buffer.from('3031300d060960864801650304020105000420', 'hex'), Buffer.alloc(32, 1)]);
  const oaep = nc.publicEncrypt({ key: privateKey, oaepHash: 'sha256' }, Buffer.from('secret'));
  let finished = 0;
  const work = [
    ...Array.from({ length: 4 }, () => mechanism(CKM.RSA_PKCS).sign!(rsa, digestInfo, {})),
    mechanism(CKM.RSA_PKCS_OAEP).decrypt!(rsa, oaep, { hashAlg: CKM.SHA256 }),
    mechanism(CKM.RSA_PKCS_PSS).sign!(rsa, Buffer.alloc(32, 2), { hashAlg: CKM.SHA256, mgf: 2, saltLength: 32 }),
    mechanism(CKM.ECDSA).sign!(ec, Buffer.alloc(32, 3), {}),
  ].map((p) => p.then((r) => { finished++; return r; }));
  // On the event loop these would all finish before any timer could run.
  await new Promise((r) => setTimeout(r, 0));
  const finishedWhenTimerRan = finished;
  const results = await Promise.all(work);
  assert.ok(finishedWhenTimerRan < work.length, `all ${work.length} finished before the timer: the event loop was blocked`);
  // And the results are right (checked with node:crypto's public operations, a separate code path).
  assert.deepEqual(nc.publicDecrypt({ key: privateKey, padding: nc.constants.RSA_PKCS1_PADDING }, results[0]), digestInfo);
  assert.equal(results[4].toString(), 'secret');
});

test('worker errors come back as the mechanism\'s own error', async () => {
  const { privateKey } = nc.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const rsa = describe(CKK.RSA, privateKey);
  await assert.rejects(mechanism(CKM.RSA_PKCS_OAEP).decrypt!(rsa, Buffer.alloc(256, 7), { hashAlg: CKM.SHA256 }), { code: 'ENCRYPTED_DATA_INVALID' });
});
