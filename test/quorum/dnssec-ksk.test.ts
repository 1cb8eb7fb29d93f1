// docs/operators.md §6 as it stands: the DNSSEC KSK that needs 3 of 5 officers to activate,
// signing through ldns-signzone (OpenSSL pkcs11 engine, p11-kit-client.so) only after the
// ceremony. The doc's shell block is extracted and run with bash against a dev server, so the
// worked example cannot drift from what Inkan does. ldns-verify-zone checks the signed zone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fromCanonical } from '../../src/audit-chain/chain';
import { INKAN_BIN, REPO_ROOT } from '../helpers/harness';
import { cleanEnv } from '../cli/cli-helpers';
import { p11Server, run, type P11Server } from '../interop/p11-helpers';

function exampleBlock(): string {
  const doc = fs.readFileSync(path.join(REPO_ROOT, 'docs', 'operators.md'), 'utf8');
  const m = /<!-- dnssec-ksk-example -->\n```sh\n([\s\S]*?)\n```/.exec(doc);
  assert.ok(m, 'docs/operators.md has the marked example block');
  return m[1];
}

describe('docs/operators.md §6: a DNSSEC KSK that needs 3 of 5 to activate, signed by ldns-signzone', { timeout: 240_000 }, () => {
  let srv: P11Server;
  before(async () => { srv = await p11Server(); });
  after(async () => { await srv.close(); });

  test('the worked example runs as written: refused before the ceremony, a verified signed zone after it', async () => {
    const work = path.dirname(srv.file('x'));
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'inkan'), `#!/bin/sh\nexec "${process.execPath}" "${INKAN_BIN}" "$@"\n`, { mode: 0o755 });
    const script = path.join(work, 'example.sh');
    fs.writeFileSync(script, `cd '${work}'\n${exampleBlock()}\n`);
    const env = cleanEnv({
      ...srv.env, PATH: `${bin}:${process.env.PATH}`, INKAN_SERVER: srv.url,
      OFFICER_PASSWORD: srv.credentials!.officer.password, PW: 'ceremony-pw',
    });
    const r = await run('bash', [script], env, undefined, 200_000);
    const out = r.stdout.toString();
    assert.equal(r.status, 0, `the example failed:\n${r.stderr}\n${out.slice(-3000)}`);
    assert.match(out, /Zone is verified and complete/);
    const signed = fs.readFileSync(path.join(work, 'example.com.zone.signed'), 'utf8');
    assert.match(signed, /DNSKEY\s+257 3 13 /, 'the KSK is in the zone, algorithm 13');
    assert.match(signed, /RRSIG\s+SOA 13 /);
    const records = (await srv.hsm.store.audit.list(srv.hsm.node, 1, 100_000)).map((x) => fromCanonical(x.body));
    assert.ok(records.some((x) => x.op === 'key.activate' && x.outcome === 'success' && /with 3 of 3: signer, alice, bob/.test(String(x.detail))));
    assert.ok(records.some((x) => x.code === 'KEY_QUORUM_REQUIRED'), 'the refused signature before the ceremony is audited');
  });
});
