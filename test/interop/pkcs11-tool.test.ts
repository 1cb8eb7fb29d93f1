// OpenSC's pkcs11-tool through Debian's stock p11-kit-client.so against a real Inkan server:
// listing, login, key generation, signatures checked with the openssl CLI, OAEP, digest,
// random, `--test`, and keys shared with the admin face (`inkan key generate` ⇄ pkcs11-tool).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { INKAN_BIN } from '../helpers/harness';
import { P11_KIT_CLIENT, p11Server, P11Server, run } from './p11-helpers';

describe('pkcs11-tool through p11-kit-client.so', { timeout: 180_000 }, () => {
  let srv: P11Server;
  const tool = (...args: string[]) => srv.ok('pkcs11-tool', ['--module', P11_KIT_CLIENT, ...args]);
  const userTool = (...args: string[]) => tool('--login', '--pin', srv.pin, ...args);
  const data = Buffer.from('Inkan signs this message\n');
  let dataFile: string;
  let digestFile: string;

  before(async () => {
    srv = await p11Server();
    dataFile = srv.file('data.txt', data);
    digestFile = srv.file('data.sha256', crypto.createHash('sha256').update(data).digest());
  });
  after(async () => { await srv.close(); });

  async function publicPem(id: string): Promise<string> {
    const der = srv.file(`pub-${id}.der`);
    await userTool('--read-object', '--type', 'pubkey', '--id', id, '-o', der);
    const pem = srv.file(`pub-${id}.pem`);
    await srv.ok('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', der, '-out', pem]);
    return pem;
  }

  test('-I, -L and -M describe the library, the slot with its token, and the mechanisms', async () => {
    assert.match((await tool('-I')).toString(), /Manufacturer\s+Inkan/);
    const slots = (await tool('-L')).toString();
    assert.match(slots, /token label\s+: default\b/);
    assert.match(slots, /login required/);
    const mechs = (await tool('-M')).toString();
    for (const m of ['RSA-PKCS-KEY-PAIR-GEN', 'RSA-PKCS-PSS', 'RSA-PKCS-OAEP', 'SHA256-RSA-PKCS', 'ECDSA', 'SHA256']) assert.match(mechs, new RegExp(`^\\s*${m},`, 'm'));
  });

  test('a wrong PIN is refused with CKR_PIN_INCORRECT', async () => {
    const r = await srv.run('pkcs11-tool', ['--module', P11_KIT_CLIENT, '--login', '--pin', 'user:not-the-password', '-O']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /CKR_PIN_INCORRECT/);
  });

  test('RSA-2048 key pair: RSA-PKCS, SHA256-RSA-PKCS and RSA-PKCS-PSS signatures verify with openssl', async () => {
    await userTool('--keypairgen', '--key-type', 'rsa:2048', '--label', 'tool-rsa', '--id', 'a1');
    const pem = await publicPem('a1');

    const s1 = srv.file('s1.sig');
    await userTool('--sign', '--id', 'a1', '-m', 'SHA256-RSA-PKCS', '-i', dataFile, '-o', s1);
    await srv.ok('openssl', ['dgst', '-sha256', '-verify', pem, '-signature', s1, dataFile]);

    const s2 = srv.file('s2.sig');
    await userTool('--sign', '--id', 'a1', '-m', 'RSA-PKCS-PSS', '--hash-algorithm', 'SHA256', '--mgf', 'MGF1-SHA256', '-i', digestFile, '-o', s2);
    await srv.ok('openssl', ['dgst', '-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', '-verify', pem, '-signature', s2, dataFile]);

    const s3 = srv.file('s3.sig');
    await userTool('--sign', '--id', 'a1', '-m', 'RSA-PKCS', '-i', dataFile, '-o', s3);
    const recovered = await srv.ok('openssl', ['pkeyutl', '-verifyrecover', '-pubin', '-inkey', pem, '-in', s3]);
    assert.deepEqual(recovered, data);

    await userTool('--verify', '--id', 'a1', '-m', 'SHA256-RSA-PKCS', '-i', dataFile, '--signature-file', s1);
  });

  test('OAEP: data encrypted by openssl decrypts inside the module', async () => {
    const pem = await publicPem('a1');
    const enc = srv.file('oaep.bin');
    await srv.ok('openssl', ['pkeyutl', '-encrypt', '-pubin', '-inkey', pem, '-pkeyopt', 'rsa_padding_mode:oaep',
      '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256', '-in', dataFile, '-out', enc]);
    const plain = await userTool('--decrypt', '--id', 'a1', '-m', 'RSA-PKCS-OAEP', '--hash-algorithm', 'SHA256', '--mgf', 'MGF1-SHA256', '-i', enc);
    assert.deepEqual(plain, data);
  });

  for (const [curve, id] of [['prime256v1', 'b1'], ['secp256k1', 'b2']] as const) {
    test(`EC ${curve} key pair: ECDSA signatures verify with openssl`, async () => {
      await userTool('--keypairgen', '--key-type', `EC:${curve}`, '--label', `tool-${curve}`, '--id', id);
      const pem = await publicPem(id);
      const sig = srv.file(`ec-${id}.sig`);
      await userTool('--sign', '--id', id, '-m', 'ECDSA', '--signature-format', 'openssl', '-i', digestFile, '-o', sig);
      await srv.ok('openssl', ['dgst', '-sha256', '-verify', pem, '-signature', sig, dataFile]);
    });
  }

  test('digest and random', async () => {
    const digest = await tool('--hash', '-m', 'SHA256', '-i', dataFile);
    assert.deepEqual(digest, fs.readFileSync(digestFile));
    const random = await tool('--generate-random', '64');
    assert.equal(random.length, 64);
  });

  test('-O lists the keys; a key from `inkan key generate` is found, and a pkcs11-tool key is listed by the CLI', async () => {
    const creds = srv.credentials!;
    const cli = (...args: string[]) => run(process.execPath, [INKAN_BIN, '--server', srv.url, '--json', ...args],
      { ...process.env, INKAN_USER: creds.user.username, INKAN_PASSWORD: creds.user.password });
    const made = await cli('key', 'generate', '-t', 'ec', '-c', 'P-256', '-l', 'from-cli', '--id', 'c1');
    assert.equal(made.status, 0, made.stderr);
    const objects = (await userTool('-O')).toString();
    assert.match(objects, /label:\s+from-cli/);
    assert.match(objects, /label:\s+tool-rsa/);
    const sig = srv.file('cli-key.sig');
    await userTool('--sign', '--id', 'c1', '-m', 'ECDSA', '-i', digestFile, '-o', sig); // pkcs11-tool signs with the first key unless given --id
    const listed = await cli('key', 'list');
    assert.equal(listed.status, 0, listed.stderr);
    const labels = (JSON.parse(listed.stdout.toString()).keys as { label: string }[]).map((k) => k.label);
    assert.ok(labels.includes('tool-rsa'));
  });

  test("P11_KIT_SERVER_ADDRESS='|inkan p11-stdio' reaches the same token through stdin/stdout", async () => {
    const socket = decodeURIComponent(srv.p11Address.slice('unix:path='.length));
    const out = await srv.ok('pkcs11-tool', ['--module', P11_KIT_CLIENT, '--login', '--pin', srv.pin, '-O'],
      { env: { P11_KIT_SERVER_ADDRESS: `|${process.execPath} ${INKAN_BIN} p11-stdio --socket ${socket}` } });
    assert.match(out.toString(), /label:\s+tool-rsa/);
  });

  test('the socket is private to its owner (mode 0600)', () => {
    const socket = decodeURIComponent(srv.p11Address.slice('unix:path='.length));
    assert.equal(fs.statSync(socket).mode & 0o777, 0o600);
    const creds = JSON.parse(fs.readFileSync(`${srv.dir}/dev-credentials.json`, 'utf8'));
    assert.deepEqual(creds.p11, { address: srv.p11Address, pin: srv.pin, soPin: `${creds.officer.username}:${creds.officer.password}` });
  });

  test('pkcs11-tool --test reports no errors', async () => {
    const out = (await userTool('--test')).toString();
    assert.match(out, /No errors/);
  });
});
