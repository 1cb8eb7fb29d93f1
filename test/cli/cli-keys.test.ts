// Key listing and key defaults through the real CLI against a dev server: the table (header,
// sorted, filters, json/yaml), labels unique per owner and class unless --allow-duplicate-label,
// default usages by key type, one default CKA_ID for both halves of a pair, the one --encoding
// for bytes in and out (results checked with openssl and node:crypto), backup create --force.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import YAML from 'yaml';
import { devServer, opensslOk, tempDir, TestServer, writeTemp } from '../helpers/harness';
import { CliResult, inkan } from './cli-helpers';

const ok = (r: CliResult) => { assert.equal(r.code, 0, `exit ${r.code}: ${r.err}${r.out}`); return r; };
const json = <T = any>(r: CliResult): T => JSON.parse(ok(r).out) as T;

describe('keys through the CLI', () => {
  let srv: TestServer;
  let work: string;
  let asUser: Record<string, string>;
  before(async () => {
    srv = await devServer();
    work = tempDir('inkan-cli-keys-');
    const u = srv.credentials!.user;
    asUser = { INKAN_SERVER: srv.url, INKAN_USER: u.username, INKAN_PASSWORD: u.password };
    for (const [t, l] of [['ec', 'web-b'], ['aes', 'data'], ['hmac', 'mac'], ['ec', 'web-a'], ['ed25519', 'ssh']]) {
      ok(await inkan(['key', 'generate', '-t', t, '-l', l], asUser));
    }
  });
  after(async () => { await srv.close(); fs.rmSync(work, { recursive: true, force: true }); });

  test('key list: a header, aligned columns, sorted by label then class; filters; json and yaml', async () => {
    const out = ok(await inkan(['key', 'list'], asUser)).out.trimEnd().split('\n');
    assert.match(out[0], /^ID +LABEL +CLASS +TYPE +USAGE +STATE +OWNER$/);
    const labelAt = out[0].indexOf('LABEL');
    const rows = out.slice(1);
    for (const r of rows) assert.equal(r[labelAt - 1], ' ', `columns aligned: ${r}`);
    const labels = rows.map((r) => r.slice(labelAt).split(/\s+/)[0]);
    assert.deepEqual(labels, [...labels].sort((a, b) => a.localeCompare(b)), 'sorted by label');
    // (the dev server's own KMS / Key Vault / XKS test keys are listed too)
    const mine = new Set(['data', 'mac', 'ssh', 'web-a', 'web-b']);
    assert.deepEqual(labels.filter((l) => mine.has(l)), ['data', 'mac', 'ssh', 'ssh', 'web-a', 'web-a', 'web-b', 'web-b']);
    const classAt = out[0].indexOf('CLASS');
    assert.deepEqual(rows.filter((r) => r.slice(labelAt).startsWith('web-a')).map((r) => r.slice(classAt).split(/\s+/)[0]), ['private-key', 'public-key']);

    const web = json(await inkan(['--json', 'key', 'list', '--label', 'web-*', '--class', 'private'], asUser)).keys;
    assert.deepEqual(web.map((k: { label: string }) => k.label), ['web-a', 'web-b']);
    assert.deepEqual(json(await inkan(['--json', 'key', 'list', '--type', 'hmac'], asUser)).keys.map((k: { label: string }) => k.label), ['mac']);
    assert.equal(json(await inkan(['--json', 'key', 'list', '--owner', 'nobody'], asUser)).keys.length, 0);
    assert.equal(json(await inkan(['--json', 'key', 'list', '--owner', 'user', '--type', 'ed25519'], asUser)).keys.length, 2);
    const y = YAML.parse(ok(await inkan(['--output', 'yaml', 'key', 'list', '--label', 'd?t[a-z]'], asUser)).out);
    assert.deepEqual(y.keys.map((k: { label: string }) => k.label), ['data']);
    assert.match(ok(await inkan(['key', 'list', '--label', 'zzz*'], asUser)).out, /^\(no keys\)$/m);
  });

  test('default usages follow the key type', async () => {
    const keys = json(await inkan(['--json', 'key', 'list'], asUser)).keys as { label: string; class: string; usage: string[] }[];
    const usage = (label: string, cls: string) => [...keys.find((k) => k.label === label && k.class === cls)!.usage].sort();
    assert.deepEqual(usage('web-a', 'private-key'), ['sign']);
    assert.deepEqual(usage('web-a', 'public-key'), ['verify']);
    assert.deepEqual(usage('ssh', 'private-key'), ['sign']);
    assert.deepEqual(usage('data', 'secret-key'), ['decrypt', 'encrypt', 'unwrap', 'wrap']);
    assert.deepEqual(usage('mac', 'secret-key'), ['sign', 'verify']);
    // An EC private key may not decrypt or derive by default; an HMAC key may not wrap.
    const r = await inkan(['--json', 'wrap', 'mac', 'data'], asUser);
    assert.equal(r.code, 1);
  });

  test('both halves of a pair get the same default CKA_ID', async () => {
    const gen = json(await inkan(['--json', 'key', 'generate', '-t', 'rsa', '-l', 'paired'], asUser));
    assert.match(gen.key.ckaId, /^[0-9a-f]{2,}$/);
    assert.equal(gen.key.ckaId, gen.publicKey.ckaId);
  });

  test('a label is unique per owner and class unless --allow-duplicate-label', async () => {
    const dup = await inkan(['key', 'generate', '-t', 'aes', '-l', 'data'], asUser);
    assert.equal(dup.code, 1);
    assert.match(dup.err, /\[LABEL_EXISTS\]\n {2}next: choose another --label, or pass --allow-duplicate-label/);
    ok(await inkan(['key', 'generate', '-t', 'aes', '-l', 'twice'], asUser));
    ok(await inkan(['key', 'generate', '-t', 'aes', '-l', 'twice', '--allow-duplicate-label'], asUser));
    const amb = await inkan(['encrypt', 'twice'], asUser, 'x');
    assert.match(amb.err, /\[KEY_AMBIGUOUS\]\n {2}next: name the key by its id/);
  });

  test('--encoding hex|base64|raw for signatures, ciphertexts, IVs, digests and random bytes', async () => {
    const data = writeTemp(work, 'msg.txt', 'encoded output');
    const pem = path.join(work, 'web-a.pem');
    ok(await inkan(['key', 'export-public', 'web-a', '--out', pem], asUser));
    for (const e of ['hex', 'base64'] as const) {
      const text = ok(await inkan(['sign', 'web-a', '-i', data, '--encoding', e], asUser)).out;
      assert.match(text, e === 'hex' ? /^[0-9a-f]+\n$/ : /^[A-Za-z0-9+/]+=*\n$/);
      const der = Buffer.from(text.trim(), e);
      assert.ok(opensslOk(['dgst', '-sha256', '-verify', pem, '-signature', writeTemp(work, `sig.${e}`, der), data]), `openssl verifies the ${e} signature`);
      const sigFile = writeTemp(work, `sig.${e}.txt`, text);
      assert.match(ok(await inkan(['verify', 'web-a', '-i', data, '--signature', sigFile, '--encoding', e], asUser)).out, /Signature OK/);
    }
    const bad = await inkan(['verify', 'web-a', '-i', data, '--signature', writeTemp(work, 'notb64', '%%%'), '--encoding', 'base64'], asUser);
    assert.match(bad.err, /is not base64 \[BAD_ARGUMENT\]/);

    // AES-GCM: ciphertext and IV in base64, decrypted from base64 with the IV in base64.
    const enc = ok(await inkan(['encrypt', 'data', '--encoding', 'base64'], asUser, 'secret text'));
    const iv = /^iv: (\S+)$/m.exec(enc.err)![1];
    assert.equal(Buffer.from(iv, 'base64').length, 12);
    const ct = writeTemp(work, 'ct.b64', enc.out);
    assert.equal(ok(await inkan(['decrypt', 'data', '-i', ct, '--iv', iv, '--encoding', 'base64'], asUser)).out, 'secret text');

    const digest = ok(await inkan(['digest', '--encoding', 'base64'], asUser, 'abc')).out.trim();
    assert.equal(digest, crypto.createHash('sha256').update('abc').digest('base64'));
    assert.equal(ok(await inkan(['digest'], asUser, 'abc')).out.trim(), crypto.createHash('sha256').update('abc').digest('hex'));
    assert.match(ok(await inkan(['random', '12', '--encoding', 'base64'], asUser)).out, /^[A-Za-z0-9+/]{16}\n$/);
    assert.equal((await inkan(['random', '4', '--encoding', 'utf16'], asUser)).err, 'inkan: --encoding is hex, base64 or raw, not utf16 [BAD_ARGUMENT]\n');
  });

  test('backup create refuses to overwrite a file without --force', async () => {
    const o = srv.credentials!.officer;
    const asOfficer = { INKAN_SERVER: srv.url, INKAN_USER: o.username, INKAN_PASSWORD: o.password };
    const file = writeTemp(work, 'keep.bak', 'precious');
    const r = await inkan(['backup', 'create', file], asOfficer);
    assert.equal(r.code, 1);
    assert.match(r.err, /exists; use --force to overwrite it \[EXISTS\]/);
    assert.equal(fs.readFileSync(file, 'utf8'), 'precious', 'untouched');
    ok(await inkan(['backup', 'create', file, '--force'], asOfficer));
    assert.ok(fs.statSync(file).size > 100);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });
});

describe('key lifecycle verbs and certificates through the CLI', () => {
  let srv: TestServer;
  let work: string;
  let asUser: Record<string, string>;
  before(async () => {
    srv = await devServer();
    work = tempDir('inkan-cli-objects-');
    const u = srv.credentials!.user;
    asUser = { INKAN_SERVER: srv.url, INKAN_USER: u.username, INKAN_PASSWORD: u.password };
  });
  after(async () => { await srv.close(); fs.rmSync(work, { recursive: true, force: true }); });

  test('disable refuses use on every face, enable restores it; rotate makes a new signing version', async () => {
    ok(await inkan(['key', 'generate', '-t', 'ec', '-l', 'life'], asUser));
    const data = writeTemp(work, 'm.txt', 'lifecycle');
    const off = json(await inkan(['--json', 'key', 'disable', 'life'], asUser));
    assert.equal(off.key.state, 'disabled');
    const listed = json(await inkan(['--json', 'key', 'list', '--label', 'life', '--class', 'private'], asUser)).keys;
    assert.equal(listed[0].state, 'disabled', 'key list shows the state');
    assert.match(ok(await inkan(['key', 'list', '--label', 'life'], asUser)).out, /life +private-key +ec\S* +sign +disabled/);
    const refused = await inkan(['--json', 'sign', 'life', '-i', data], asUser);
    assert.equal(refused.code, 1);
    assert.equal(JSON.parse(refused.out).error.code, 'KEY_DISABLED');
    assert.equal(json(await inkan(['--json', 'key', 'enable', 'life'], asUser)).key.state, 'enabled');
    ok(await inkan(['sign', 'life', '-i', data, '-o', path.join(work, 'life.sig')], asUser));
    const rotated = json(await inkan(['--json', 'key', 'rotate', 'life'], asUser));
    assert.equal(rotated.key.versions, 2);
  });

  test('schedule-deletion and cancel-deletion are seen by the KMS API (AWS SDK); versions and usage print what happened', async () => {
    ok(await inkan(['key', 'generate', '-t', 'ec', '-l', 'doomed-cli'], asUser));
    const data = writeTemp(work, 'd.txt', 'counted');
    for (let i = 0; i < 2; i++) ok(await inkan(['sign', 'doomed-cli', '-i', data, '-o', path.join(work, 'd.sig')], asUser));
    ok(await inkan(['key', 'rotate', 'doomed-cli'], asUser));
    const versions = ok(await inkan(['key', 'versions', 'doomed-cli'], asUser)).out.trimEnd().split('\n');
    assert.equal(versions.length, 3, versions.join('\n'));
    assert.match(versions[2], /^2 +[0-9a-f]{32} .*generated \(on-demand\) +yes +sign,verify +current$/);
    const usage = ok(await inkan(['key', 'usage', 'doomed-cli'], asUser)).out;
    assert.match(usage, /^uses: +2 \(sign 2\)$/m);
    assert.match(usage, /^last use: +sign through admin at /m);
    assert.equal((await inkan(['key', 'schedule-deletion', 'doomed-cli', '--days', '3'], asUser)).code, 1, 'below KMS\'s 7 days');
    const s = ok(await inkan(['key', 'schedule-deletion', 'doomed-cli', '--days', '9'], asUser)).out;
    assert.match(s, /: pending-deletion, 2 version/);
    assert.match(s, /deleted: \S+ \(after 9 days/);
    const id = json(await inkan(['--json', 'key', 'show', 'doomed-cli'], asUser)).key.id as string;
    const { KMSClient, DescribeKeyCommand } = await import('@aws-sdk/client-kms');
    const k = srv.credentials!.kms as { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
    const kms = new KMSClient({ endpoint: k.endpoint, region: k.region, credentials: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey }, maxAttempts: 1 });
    try {
      const d = (await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!;
      assert.equal(d.KeyState, 'PendingDeletion');
      assert.equal(Math.round((d.DeletionDate!.getTime() - Date.now()) / 86_400_000), 9);
      assert.match(ok(await inkan(['key', 'cancel-deletion', 'doomed-cli'], asUser)).out, /: disabled, 2 version/);
      assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!.KeyState, 'Disabled');
    } finally { kms.destroy(); }
  });

  test('user role and user lock (officer)', async () => {
    const o = srv.credentials!.officer;
    const asOfficer = { INKAN_SERVER: srv.url, INKAN_USER: o.username, INKAN_PASSWORD: o.password };
    ok(await inkan(['user', 'create', 'kim', '--role', 'user', '--password', 'kim-password-1'], asOfficer));
    assert.equal(ok(await inkan(['user', 'role', 'kim', 'auditor'], asOfficer)).out.trim(), 'kim is now an auditor.');
    assert.match(ok(await inkan(['user', 'list'], asOfficer)).out, /^kim +auditor/m);
    assert.equal((await inkan(['user', 'role', 'kim', 'root'], asOfficer)).code, 1);
    assert.equal(JSON.parse((await inkan(['--json', 'user', 'role', 'kim', 'officer'], asUser)).out).error.code, 'FORBIDDEN');
    ok(await inkan(['user', 'lock', 'kim'], asOfficer));
    assert.match(ok(await inkan(['user', 'list'], asOfficer)).out, /^kim +auditor +LOCKED/m);
  });

  test('key set changes label and usage; tags and aliases are seen by the KMS API (AWS SDK)', async () => {
    ok(await inkan(['key', 'generate', '-t', 'aes', '-l', 'old-name'], asUser));
    const set = json(await inkan(['--json', 'key', 'set', 'old-name', '--label', 'new-name', '--usage', 'encrypt,decrypt'], asUser));
    assert.equal(set.key.label, 'new-name');
    assert.deepEqual([...set.key.usage].sort(), ['decrypt', 'encrypt']);
    assert.equal(JSON.parse((await inkan(['--json', 'key', 'show', 'old-name'], asUser)).out).error.code, 'KEY_NOT_FOUND');
    const tagged = json(await inkan(['--json', 'key', 'tag', 'new-name', 'team=payments', 'env=prod'], asUser));
    assert.deepEqual(tagged.key.tags, { team: 'payments', env: 'prod' });
    assert.deepEqual(json(await inkan(['--json', 'key', 'tag', 'new-name', '--remove', 'env'], asUser)).key.tags, { team: 'payments' });
    const aliased = json(await inkan(['--json', 'key', 'alias', 'new-name', 'payments-data'], asUser));
    assert.deepEqual(aliased.key.aliases, ['alias/payments-data']);

    const { KMSClient, EncryptCommand, ListResourceTagsCommand } = await import('@aws-sdk/client-kms');
    const k = srv.credentials!.kms as { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string };
    const kms = new KMSClient({ endpoint: k.endpoint, region: k.region, credentials: { accessKeyId: k.accessKeyId, secretAccessKey: k.secretAccessKey }, maxAttempts: 1 });
    try {
      const e = await kms.send(new EncryptCommand({ KeyId: 'alias/payments-data', Plaintext: Buffer.from('via alias') }));
      assert.equal(e.KeyId?.endsWith(aliased.key.id), true, `${e.KeyId} is the key the CLI aliased`);
      const tags = await kms.send(new ListResourceTagsCommand({ KeyId: aliased.key.id }));
      assert.deepEqual(tags.Tags, [{ TagKey: 'team', TagValue: 'payments' }]);
    } finally { kms.destroy(); }
    ok(await inkan(['key', 'alias', 'new-name', 'payments-data', '--delete'], asUser));
    assert.deepEqual(json(await inkan(['--json', 'key', 'alias', 'new-name'], asUser)).key.aliases, []);
  });

  test('cert import beside its key (same CKA_ID), list, export as PEM and DER (openssl compares), delete', async () => {
    const gen = json(await inkan(['--json', 'key', 'generate', '-t', 'ec', '-l', 'tls'], asUser));
    const certPem = path.join(work, 'tls.crt');
    const r = require('node:child_process').spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', path.join(work, 'throwaway.key'), '-out', certPem, '-subj', '/CN=inkan cli test', '-days', '1']);
    assert.equal(r.status, 0, String(r.stderr));
    const imp = json(await inkan(['--json', 'cert', 'import', '-i', certPem, '--key', 'tls'], asUser));
    assert.equal(imp.certificate.ckaId, gen.key.ckaId, 'the certificate takes its key\'s CKA_ID');
    assert.equal(imp.certificate.label, 'tls');
    const list = ok(await inkan(['cert', 'list'], asUser)).out;
    assert.match(list, /^ID +LABEL +CKA_ID +BYTES +CREATED\n/);
    assert.match(list, new RegExp(`${imp.certificate.id} +tls +${gen.key.ckaId}`));
    const outPem = path.join(work, 'out.pem');
    ok(await inkan(['cert', 'export', 'tls', '--out', outPem], asUser));
    const der = (f: string) => require('node:child_process').spawnSync('openssl', ['x509', '-in', f, '-outform', 'der']).stdout as Buffer;
    assert.deepEqual(der(outPem), der(certPem));
    const rawDer = ok(await inkan(['cert', 'export', 'tls', '--format', 'der'], asUser)).stdout;
    assert.deepEqual(rawDer, der(certPem));
    assert.match((await inkan(['cert', 'export', 'tls', '--out', outPem], asUser)).err, /\[EXISTS\]/);
    const bad = await inkan(['--json', 'cert', 'import', '-i', writeTemp(work, 'junk.crt', 'not a certificate')], asUser);
    assert.equal(JSON.parse(bad.out).error.code, 'BAD_REQUEST');
    ok(await inkan(['cert', 'delete', 'tls'], asUser));
    assert.match(ok(await inkan(['cert', 'list'], asUser)).out, /\(no certificates\)/);
    assert.ok(json(await inkan(['--json', 'key', 'show', 'tls'], asUser)).key, 'the key stays');
  });
});
