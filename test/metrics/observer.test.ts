// The audit wrapper's observer hook (what metrics count) and the mechanism label mapping:
// the observer sees each audited call once with its final outcome, and cannot change it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Hsm } from '../../src/core/hsm';
import type { AuditEvent } from '../../src/core/audit/audit-log';
import { fromCanonical } from '../../src/audit-chain/chain';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import { mechanismLabel } from '../../src/api/metrics/metrics';
import { tempDir } from '../helpers/harness';

test('mechanismLabel maps audit details to CKM_ names and bounds everything else', () => {
  assert.equal(mechanismLabel('CKM_ECDSA'), 'CKM_ECDSA');
  assert.equal(mechanismLabel('CKM_AES_KEY_WRAP by 0f1e2d'), 'CKM_AES_KEY_WRAP');
  assert.equal(mechanismLabel('CKM_RSA_PKCS_KEY_PAIR_GEN, public half 77'), 'CKM_RSA_PKCS_KEY_PAIR_GEN');
  assert.equal(mechanismLabel('CKM_DEADBEEF'), 'other', 'a name the module does not know never becomes a new series');
  assert.equal(mechanismLabel('CKM_ECDSA_SHA256X'), 'other');
  assert.equal(mechanismLabel(undefined), 'none');
  assert.equal(mechanismLabel('with alice'), 'none');
});

test('the observer sees every audited call with its outcome, and a throwing observer changes nothing', async () => {
  const dir = tempDir();
  const store = new SqliteKeyStore(path.join(dir, 'inkan.db'));
  const seen: { e: AuditEvent; seconds: number }[] = [];
  let explode = false;
  const hsm = new Hsm(store, { loginDelayMs: 0, onOperation: (e, seconds) => { seen.push({ e, seconds }); if (explode) throw new Error('observer bug'); } });
  try {
    await hsm.start();
    const [share] = await hsm.lifecycle.init(1, 1, { username: 'officer', password: 'officer-password-1' });
    await hsm.lifecycle.unseal(share);
    seen.length = 0;
    await hsm.login('officer', 'officer-password-1');
    await assert.rejects(hsm.login('officer', 'wrong'), { code: 'LOGIN_FAILED' });
    assert.deepEqual(seen.map(({ e }) => [e.op, e.outcome, e.code]), [['user.login', 'success', undefined], ['user.login', 'failure', 'LOGIN_FAILED']]);
    assert.ok(seen.every(({ seconds }) => seconds > 0 && seconds < 60));

    explode = true;
    const p = await hsm.login('officer', 'officer-password-1');
    assert.equal(p.username, 'officer');
    await assert.rejects(hsm.login('officer', 'wrong'), { code: 'LOGIN_FAILED' });
    const records = (await store.audit.list(hsm.node, 1, 10_000)).map((r) => fromCanonical(r.body));
    assert.deepEqual(records.filter((r) => r.op === 'user.login').map((r) => r.outcome), ['success', 'failure', 'success', 'failure'],
      'audit records are written exactly as without an observer');
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
