// CKM_EDDSA with phFlag (Ed25519ph, RFC 8032 §5.1) against the RFC's own test vector (§7.3, "abc"),
// for the message and for its SHA-512 digest (prehashed), and a tampered signature.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as nc from 'node:crypto';
import { CKK, CKM } from '../../src/pkcs11/constants';
import { mechanism } from '../../src/mechanisms/registry';
import { describe } from '../../src/mechanisms/key-types';
import { ed25519PrivateFromSeed } from '../../src/crypto/node-crypto';

const SECRET = Buffer.from('833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42', 'hex');
const PUBLIC = 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf';
const SIGNATURE = '98a70222f0b8121aa9d30f813d683f809e462b469c7ff87639499bb94e6dae4131f85042463c2a355a2003d062adf5aaa10b8c61e636062aaad11c2a26083406';

test('Ed25519ph: RFC 8032 §7.3 vector, over the message and over its SHA-512 digest', async () => {
  const key = describe(CKK.EC_EDWARDS, ed25519PrivateFromSeed(SECRET));
  assert.equal(Buffer.from(nc.createPublicKey(key.privateKey!).export({ format: 'jwk' }).x!, 'base64url').toString('hex'), PUBLIC);
  const eddsa = mechanism(CKM.EDDSA);
  const msg = Buffer.from('abc');
  assert.equal((await eddsa.sign!(key, msg, { phFlag: true })).toString('hex'), SIGNATURE);
  const digest = nc.createHash('sha512').update(msg).digest();
  assert.equal((await eddsa.sign!(key, digest, { phFlag: true, prehashed: true })).toString('hex'), SIGNATURE);
  assert.equal(await eddsa.verify!(key, msg, Buffer.from(SIGNATURE, 'hex'), { phFlag: true }), true);
  const bad = Buffer.from(SIGNATURE, 'hex');
  bad[10] ^= 1;
  assert.equal(await eddsa.verify!(key, msg, bad, { phFlag: true }), false);
  // Pure Ed25519 of the same message is a different signature.
  assert.notEqual((await eddsa.sign!(key, msg, {})).toString('hex'), SIGNATURE);
  await assert.rejects(eddsa.sign!(key, digest.subarray(0, 32), { phFlag: true, prehashed: true }), /64 bytes/);
});
