// OpenSSL through libengine-pkcs11-openssl (libp11) and p11-kit-client.so: a self-signed
// certificate made with an Inkan-held key, verified by plain openssl, then stored in the token
// as a certificate object and read back unchanged.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { CKA, CKM } from '../../src/pkcs11/constants';
import { P11_KIT_CLIENT, p11Server, P11Server } from './p11-helpers';

describe('OpenSSL pkcs11 engine through p11-kit-client.so', { timeout: 120_000 }, () => {
  let srv: P11Server;
  const env = () => ({ PKCS11_MODULE_PATH: P11_KIT_CLIENT });
  const tool = (...args: string[]) => srv.ok('pkcs11-tool', ['--module', P11_KIT_CLIENT, '--login', '--pin', srv.pin, ...args]);
  before(async () => { srv = await p11Server(); });
  after(async () => { await srv.close(); });

  for (const [keyType, id] of [['rsa:2048', 'e1'], ['EC:prime256v1', 'e2']] as const) {
    test(`openssl req -engine pkcs11 signs a certificate with an Inkan ${keyType} key`, async () => {
      await tool('--keypairgen', '--key-type', keyType, '--label', `engine-${id}`, '--id', id);
      const uri = `pkcs11:token=default;object=engine-${id};type=private;pin-value=${encodeURIComponent(srv.pin)}`;
      const certPem = srv.file(`cert-${id}.pem`);
      await srv.ok('openssl', ['req', '-new', '-x509', '-engine', 'pkcs11', '-keyform', 'engine', '-key', uri,
        '-subj', `/CN=Inkan ${keyType}`, '-days', '1', '-sha256', '-out', certPem], { env: env() });
      // Plain openssl, no engine: the self-signature verifies.
      assert.match((await srv.ok('openssl', ['verify', '-CAfile', certPem, certPem])).toString(), /: OK/);

      const der = await srv.ok('openssl', ['x509', '-in', certPem, '-outform', 'DER']);
      const derFile = srv.file(`cert-${id}.der`, der);
      await tool('--write-object', derFile, '--type', 'cert', '--id', id, '--label', `engine-${id}`);
      const back = srv.file(`cert-${id}-back.der`);
      await tool('--read-object', '--type', 'cert', '--id', id, '-o', back);
      assert.deepEqual(await srv.ok('cat', [back]), der);
      // The certificate matches the key that signed it.
      const certKey = await srv.ok('openssl', ['x509', '-in', certPem, '-noout', '-pubkey']);
      const pubDer = srv.file(`pub-${id}.der`);
      await tool('--read-object', '--type', 'pubkey', '--id', id, '-o', pubDer);
      const tokenKey = await srv.ok('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', pubDer]);
      assert.equal(certKey.toString(), tokenKey.toString());
    });
  }

  // libp11 0.4.12 finds no key at all once the user it logs in as can see an Ed25519 key (docs/pkcs11.md).
  // The workaround: Ed25519 keys under another crypto user, whose objects this user does not see.
  test('an Ed25519 key of another crypto user leaves libp11 able to use this user\'s RSA key', async () => {
    const officer = srv.hsm.callerOf(await srv.hsm.login(srv.credentials!.officer.username, srv.credentials!.officer.password), 'admin');
    await srv.hsm.users.create(officer, 'ed-owner', 'user', 'ed-owner-password-1');
    const edOwner = srv.hsm.callerOf(await srv.hsm.login('ed-owner', 'ed-owner-password-1'), 'admin');
    await srv.hsm.keys.generateKeyPair(edOwner, CKM.EC_EDWARDS_KEY_PAIR_GEN, new Map(), new Map<number, boolean | string>([[CKA.TOKEN, true], [CKA.LABEL, 'someone-elses-ed25519']]));
    const data = srv.file('engine-data.txt', 'signed by libp11 next to an Ed25519 key');
    const sig = srv.file('engine-data.sig');
    const uri = `pkcs11:token=default;object=engine-e1;type=private;pin-value=${encodeURIComponent(srv.pin)}`;
    await srv.ok('openssl', ['dgst', '-sha256', '-engine', 'pkcs11', '-keyform', 'engine', '-sign', uri, '-out', sig, data], { env: env() });
    const cert = new crypto.X509Certificate(fs.readFileSync(srv.file('cert-e1.pem')));
    assert.ok(crypto.verify('sha256', fs.readFileSync(data), cert.publicKey, fs.readFileSync(sig)));
  });
});
