// Python's PyKCS11 (python3-pykcs11) through p11-kit-client.so: generates an RSA and an EC key pair,
// signs with SHA256_RSA_PKCS and with CKM_ECDSA over a SHA-256 digest, verifies on the token, and
// hands the public keys and signatures back; node:crypto verifies them as a second implementation.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { P11_KIT_CLIENT, p11Server, P11Server } from './p11-helpers';

/** One JSON line out; the PIN comes from the environment. */
const PYTHON = `
import hashlib, json, os, sys
import PyKCS11
from PyKCS11 import LowLevel as L
lib = PyKCS11.PyKCS11Lib()
lib.load(sys.argv[1])
slot = lib.getSlotList(tokenPresent=True)[0]
s = lib.openSession(slot, PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
s.login(os.environ['INKAN_PIN'])
msg = sys.argv[2].encode()
out = {}
rsa_pub, rsa_priv = s.generateKeyPair(
    [(PyKCS11.CKA_MODULUS_BITS, 2048), (PyKCS11.CKA_PUBLIC_EXPONENT, (1, 0, 1)), (PyKCS11.CKA_VERIFY, True), (PyKCS11.CKA_LABEL, 'py-rsa')],
    [(PyKCS11.CKA_SIGN, True), (PyKCS11.CKA_LABEL, 'py-rsa')], mecha=PyKCS11.MechanismRSAGENERATEKEYPAIR)
sig = bytes(s.sign(rsa_priv, msg, PyKCS11.Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS)))
out['rsaVerifiedOnToken'] = s.verify(rsa_pub, msg, sig, PyKCS11.Mechanism(PyKCS11.CKM_SHA256_RSA_PKCS))
n, e = s.getAttributeValue(rsa_pub, [PyKCS11.CKA_MODULUS, PyKCS11.CKA_PUBLIC_EXPONENT])
out['rsa'] = {'n': bytes(n).hex(), 'e': bytes(e).hex(), 'signature': sig.hex()}
p256 = bytes.fromhex('06082a8648ce3d030107')
ec_pub, ec_priv = s.generateKeyPair(
    [(PyKCS11.CKA_EC_PARAMS, p256), (PyKCS11.CKA_VERIFY, True), (PyKCS11.CKA_LABEL, 'py-ec')],
    [(PyKCS11.CKA_SIGN, True), (PyKCS11.CKA_LABEL, 'py-ec')], mecha=PyKCS11.MechanismECGENERATEKEYPAIR)
digest = hashlib.sha256(msg).digest()
ecsig = bytes(s.sign(ec_priv, digest, PyKCS11.Mechanism(PyKCS11.CKM_ECDSA)))
out['ecVerifiedOnToken'] = s.verify(ec_pub, digest, ecsig, PyKCS11.Mechanism(PyKCS11.CKM_ECDSA))
point = bytes(s.getAttributeValue(ec_pub, [PyKCS11.CKA_EC_POINT])[0])
out['ec'] = {'point': point.hex(), 'signature': ecsig.hex()}
s.logout()
s.closeSession()
print(json.dumps(out))
`;

describe('PyKCS11 through p11-kit-client.so', { timeout: 120_000 }, () => {
  let srv: P11Server;
  before(async () => { srv = await p11Server(); });
  after(async () => { await srv.close(); });

  test('RSA and ECDSA signatures made through PyKCS11 verify on the token and in node:crypto', async () => {
    const message = 'signed through PyKCS11';
    const script = srv.file('sign.py', PYTHON);
    const out = JSON.parse((await srv.ok('/usr/bin/python3', [script, P11_KIT_CLIENT, message], { env: { INKAN_PIN: srv.pin } })).toString());
    assert.deepEqual([out.rsaVerifiedOnToken, out.ecVerifiedOnToken], [true, true]);
    const b64u = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');
    const rsa = crypto.createPublicKey({ key: { kty: 'RSA', n: b64u(out.rsa.n), e: b64u(out.rsa.e) }, format: 'jwk' });
    assert.ok(crypto.verify('sha256', Buffer.from(message), rsa, Buffer.from(out.rsa.signature, 'hex')), 'RSA signature');
    // CKA_EC_POINT is a DER OCTET STRING around the uncompressed point (04 41 04 x y for P-256).
    const point = Buffer.from(out.ec.point, 'hex');
    assert.deepEqual([point[0], point[1], point[2]], [0x04, 0x41, 0x04]);
    const ec = crypto.createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: point.subarray(3, 35).toString('base64url'), y: point.subarray(35).toString('base64url') }, format: 'jwk' });
    assert.ok(crypto.verify('sha256', Buffer.from(message), { key: ec, dsaEncoding: 'ieee-p1363' }, Buffer.from(out.ec.signature, 'hex')), 'ECDSA signature (raw r‖s)');
  });
});
