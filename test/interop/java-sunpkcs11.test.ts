// Java's SunPKCS11 provider (OpenJDK, default-jdk-headless) through p11-kit-client.so: the
// KeyStore lists a token key that has a certificate stored beside it (same CKA_ID) as a
// PrivateKeyEntry and signs with it; node:crypto verifies the signature with the certificate's
// key. The Java program is compiled at test time in a temp dir; one JVM run keeps the test fast.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { P11_KIT_CLIENT, p11Server, P11Server } from './p11-helpers';

const TOKEN = 'pkcs11:token=default';

/** Lists the KeyStore as JSON lines and signs the message with every private key entry. The PIN comes
 *  from the environment, never the command line. */
const JAVA = `
import java.security.*;
import java.util.*;
public class InkanKeyStore {
  public static void main(String[] args) throws Exception {
    Provider p = Security.getProvider("SunPKCS11").configure(args[0]);
    Security.addProvider(p);
    KeyStore ks = KeyStore.getInstance("PKCS11", p);
    ks.load(null, System.getenv("INKAN_PIN").toCharArray());
    byte[] message = args[1].getBytes("UTF-8");
    Base64.Encoder b64 = Base64.getEncoder();
    for (String alias : Collections.list(ks.aliases())) {
      boolean entry = ks.entryInstanceOf(alias, KeyStore.PrivateKeyEntry.class);
      boolean secret = ks.entryInstanceOf(alias, KeyStore.SecretKeyEntry.class);
      String line = "{\\"alias\\":\\"" + alias + "\\",\\"privateKeyEntry\\":" + entry + ",\\"secretKeyEntry\\":" + secret;
      if (entry) {
        KeyStore.PrivateKeyEntry e = (KeyStore.PrivateKeyEntry) ks.getEntry(alias, null);
        String alg = e.getPrivateKey().getAlgorithm().equals("RSA") ? "SHA256withRSA" : "SHA256withECDSA";
        Signature s = Signature.getInstance(alg, p);
        s.initSign(e.getPrivateKey());
        s.update(message);
        line += ",\\"algorithm\\":\\"" + alg + "\\",\\"signature\\":\\"" + b64.encodeToString(s.sign())
          + "\\",\\"certificate\\":\\"" + b64.encodeToString(e.getCertificate().getEncoded()) + "\\"";
      }
      System.out.println(line + "}");
    }
  }
}
`;

describe('Java SunPKCS11 KeyStore through p11-kit-client.so', { timeout: 180_000 }, () => {
  let srv: P11Server;
  before(async () => { srv = await p11Server(); });
  after(async () => { await srv.close(); });

  test('a token key with its certificate is a PrivateKeyEntry; its SHA256withRSA signature verifies in node:crypto', async () => {
    const gnutls = (cmd: string, ...args: string[]) => srv.ok(cmd, ['--provider', P11_KIT_CLIENT, ...args], { env: { GNUTLS_PIN: srv.pin } });
    // The key pair gets no CKA_ID from its maker: both halves get SHA-1 of the public key, and
    // p11tool gives the certificate the id of its public key, which is how SunPKCS11 pairs them.
    await srv.ok('pkcs11-tool', ['--module', P11_KIT_CLIENT, '--login', '--pin', srv.pin, '--keypairgen', '--key-type', 'rsa:2048', '--label', 'java-rsa']);
    await srv.ok('pkcs11-tool', ['--module', P11_KIT_CLIENT, '--login', '--pin', srv.pin, '--keypairgen', '--key-type', 'EC:prime256v1', '--label', 'java-nocert']);
    const certPath = srv.file('java-rsa.crt');
    await gnutls('certtool', '--generate-self-signed', '--load-privkey', `${TOKEN};object=java-rsa;type=private`,
      '--load-pubkey', `${TOKEN};object=java-rsa;type=public`, '--template', srv.file('t.tmpl', 'cn = "java"\nexpiration_days = 30\nsigning_key\n'),
      '--outfile', certPath);
    await gnutls('p11tool', '--login', '--write', '--load-certificate', certPath, '--label', 'java-rsa', TOKEN);

    const classes = path.dirname(srv.file('InkanKeyStore.java', JAVA));
    await srv.ok('javac', ['-d', classes, path.join(classes, 'InkanKeyStore.java')]);
    const cfg = srv.file('inkan.cfg', `name = Inkan\nlibrary = ${P11_KIT_CLIENT}\nslotListIndex = 0\n`);
    const message = 'signed inside Inkan for Java';
    const out = (await srv.ok('java', ['-cp', classes, 'InkanKeyStore', cfg, message], { env: { INKAN_PIN: srv.pin } })).toString();
    const entries = out.trim().split('\n').map((l) => JSON.parse(l));
    // The key with a certificate is the one private-key entry (a key pair without one is none);
    // the others are the dev user's AES keys (the dev XKS keys), which Java lists as secret keys.
    assert.deepEqual(entries.filter((e) => e.privateKeyEntry).map((e) => e.alias), ['java-rsa'], 'only the key with a certificate is a private-key entry');
    assert.deepEqual(entries.filter((e) => !e.privateKeyEntry).map((e) => e.secretKeyEntry), entries.slice(1).map(() => true), 'every other entry is a secret key');
    const e = entries.find((x) => x.privateKeyEntry)!;
    const cert = new crypto.X509Certificate(Buffer.from(e.certificate, 'base64'));
    assert.deepEqual(cert.raw, new crypto.X509Certificate(fs.readFileSync(certPath)).raw);
    assert.equal(e.algorithm, 'SHA256withRSA');
    assert.ok(crypto.verify('sha256', Buffer.from(message), cert.publicKey, Buffer.from(e.signature, 'base64')), 'node:crypto verifies the signature');
  });
});
