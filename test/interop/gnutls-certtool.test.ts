// GnuTLS certtool through p11-kit-client.so: self-signed certificates signed by token keys (RSA and
// ECDSA), checked by openssl; p11tool stores one beside its key, pairing them by CKA_ID, and lists
// it without a PIN (certificates and public keys are public objects, PKCS#11 §4.4).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { P11_KIT_CLIENT, p11Server, P11Server } from './p11-helpers';

const TOKEN = 'pkcs11:token=default';

describe('GnuTLS certtool with token keys', { timeout: 120_000 }, () => {
  let srv: P11Server;
  const gnutls = (cmd: string, ...args: string[]) => srv.ok(cmd, ['--provider', P11_KIT_CLIENT, ...args], { env: { GNUTLS_PIN: srv.pin } });
  before(async () => { srv = await p11Server(); });
  after(async () => { await srv.close(); });

  test('certtool --generate-self-signed with an RSA and an EC token key; openssl verifies both', async () => {
    const template = srv.file('cert.tmpl', 'cn = "certtool test"\nexpiration_days = 30\nsigning_key\nca\n');
    for (const [label, gen] of [['gt-rsa', ['rsa', '--bits', '2048']], ['gt-ec', ['ecdsa', '--curve', 'secp256r1']]] as const) {
      await gnutls('p11tool', '--login', '--generate-privkey', ...gen, '--label', label, TOKEN);
      const out = srv.file(`${label}.crt`);
      await gnutls('certtool', '--generate-self-signed', '--load-privkey', `${TOKEN};object=${label};type=private`,
        '--load-pubkey', `${TOKEN};object=${label};type=public`, '--template', template, '--outfile', out);
      const verified = await srv.run('openssl', ['verify', '-CAfile', out, out]);
      assert.equal(verified.status, 0, verified.stderr);
      assert.match(verified.stdout.toString(), /: OK/);
      const cert = new crypto.X509Certificate(fs.readFileSync(out));
      assert.match(cert.subject, /CN=certtool test/);
      assert.equal(cert.publicKey.asymmetricKeyType, label === 'gt-rsa' ? 'rsa' : 'ec');
    }
  });

  test('p11tool --write stores the certificate beside its key with the same CKA_ID; it is listed without a PIN', async () => {
    await gnutls('p11tool', '--login', '--write', '--load-certificate', srv.file('gt-rsa.crt'), '--label', 'gt-rsa', TOKEN);
    const all = (await srv.ok('p11tool', ['--provider', P11_KIT_CLIENT, '--list-all', TOKEN])).toString();
    const ids = (type: string) => [...all.matchAll(new RegExp(`Type: ${type}[^\\n]*\\n(?:\\s+[^\\n]*\\n)*?\\s+ID: ([0-9a-f:]+)`, 'g'))].map((m) => m[1]);
    assert.equal(ids('X\\.509 Certificate').length, 1, all);
    assert.ok(ids('Public key').includes(ids('X\\.509 Certificate')[0]), 'the certificate has its public key\'s CKA_ID');
    assert.doesNotMatch(all, /Private key/);
  });
});
