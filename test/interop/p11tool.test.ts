// GnuTLS's p11tool through p11-kit-client.so: token listing, key generation, object listing
// and the sign-and-verify self-check it runs against the token.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { P11_KIT_CLIENT, p11Server, P11Server } from './p11-helpers';

const TOKEN = 'pkcs11:token=default';

describe('GnuTLS p11tool through p11-kit-client.so', { timeout: 120_000 }, () => {
  let srv: P11Server;
  const p11tool = (...args: string[]) => srv.ok('p11tool', ['--provider', P11_KIT_CLIENT, ...args], { env: { GNUTLS_PIN: srv.pin } });
  before(async () => { srv = await p11Server(); });
  after(async () => { await srv.close(); });

  test('--list-tokens shows the partition token', async () => {
    const out = (await p11tool('--list-tokens')).toString();
    assert.match(out, /Label: default\b/);
    assert.match(out, /Flags: RNG, Requires login/);
  });

  test('--generate-privkey (RSA and ECDSA), --list-all and --test-sign', async () => {
    const rsaPem = (await p11tool('--login', '--generate-privkey', 'rsa', '--bits', '2048', '--label', 'gnutls-rsa', TOKEN)).toString();
    assert.match(rsaPem, /BEGIN PUBLIC KEY/);
    await p11tool('--login', '--generate-privkey', 'ecdsa', '--curve', 'secp256r1', '--label', 'gnutls-ec', TOKEN);
    const all = (await p11tool('--login', '--list-all', TOKEN)).toString();
    assert.match(all, /Type: Private key \(RSA-2048\)\n\s+Label: gnutls-rsa/);
    assert.match(all, /Type: Private key \(EC\/ECDSA-SECP256R1\)\n\s+Label: gnutls-ec/);
    assert.match(all, /Type: Public key \(RSA-2048\)/);
    for (const label of ['gnutls-rsa', 'gnutls-ec']) {
      const r = await srv.run('p11tool', ['--provider', P11_KIT_CLIENT, '--login', '--test-sign', `${TOKEN};object=${label}`], { env: { GNUTLS_PIN: srv.pin } });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stderr + r.stdout.toString(), /Verifying against public key in the token\.\.\. ok/);
    }
  });

  test('without login only public objects are listed (PKCS#11 §4.4); private keys stay invisible', async () => {
    const r = await srv.run('p11tool', ['--provider', P11_KIT_CLIENT, '--list-all', TOKEN]);
    const out = r.stdout.toString();
    assert.match(out, /Type: Public key \(RSA-2048\)/);
    assert.match(out, /Type: Public key \(EC\/ECDSA-SECP256R1\)/);
    assert.doesNotMatch(out, /Private key/);
  });
});
