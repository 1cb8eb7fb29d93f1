// One user must not stall or starve everyone (issue #8, item 8). The attack: one crypto user
// floods the partition with token objects, all under the label another user's key has. Now a
// per-user quota holds exactly under concurrent creation, and the other user's label lookups
// read its own rows only (an index on partition, owner, label), however large the flood.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { CKA, CKM, CKO } from '../../src/pkcs11/constants';
import type { RecordRow } from '../../src/keystore/types';
import { freshModule, TestModule } from '../helpers/harness';

const T = (entries: [number, unknown][]) => new Map<number, any>(entries);
const dataObject = (label: string) => T([[CKA.CLASS, CKO.DATA], [CKA.TOKEN, true], [CKA.LABEL, label], [CKA.VALUE, Buffer.from('x')]]);

describe('object flood', () => {
  let m: TestModule;
  before(async () => { m = await freshModule(); });
  after(() => m.close());

  test('concurrent creations past the per-user quota: exactly the quota is stored, the rest QUOTA_EXCEEDED, others unaffected', async () => {
    await m.hsm.partitions.setPolicy(m.officer, { maxObjectsPerUser: 150 });
    const flooder = await m.newUser('quota-flooder');
    const results = await Promise.allSettled(Array.from({ length: 190 }, (_, i) => m.hsm.keys.createObject(flooder, dataObject(`q-${i}`))));
    const refused = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    assert.equal(results.length - refused.length, 150);
    assert.deepEqual([...new Set(refused.map((r) => (r.reason as { code?: string }).code))], ['QUOTA_EXCEEDED']);
    assert.equal(await m.store.count('objects', { partition: 'default', owner: flooder.principal!.id }), 150, 'the store holds exactly the quota');
    // A refused creation left nothing behind, and another user still creates.
    const other = await m.newUser('quota-bystander');
    await m.hsm.keys.generateKey(other, CKM.AES_KEY_GEN, T([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.LABEL, 'bystander']]));
    await assert.rejects(m.hsm.keys.createObject(flooder, dataObject('one-more')), (e: Error & { code?: string }) => e.code === 'QUOTA_EXCEEDED');
    await m.hsm.partitions.setPolicy(m.officer, { maxObjectsPerUser: 100_000 });
  });

  test("3,000 objects under another user's label: its lookups read only its own rows and find its key", async () => {
    const flooder = await m.newUser('label-flooder');
    const victim = await m.newUser('label-victim');
    const mine = await m.hsm.keys.generateKey(victim, CKM.AES_KEY_GEN, T([[CKA.VALUE_LEN, 32], [CKA.TOKEN, true], [CKA.LABEL, 'payments']]));
    for (let batch = 0; batch < 15; batch++) {
      await Promise.all(Array.from({ length: 200 }, () => m.hsm.keys.createObject(flooder, dataObject('payments'))));
    }
    assert.equal(await m.store.count('objects', { partition: 'default', owner: flooder.principal!.id }), 3000);

    // Count the object rows the store hands the core while the victim looks its key up.
    const find = m.store.find.bind(m.store);
    let rows = 0;
    m.store.find = async (table, where, opts) => {
      const out: RecordRow[] = await find(table, where, opts);
      if (table === 'objects') rows += out.length;
      return out;
    };
    try {
      const byLabel = await m.hsm.lookup.resolve(victim, 'payments');
      assert.equal(byLabel.id, mine.id, 'the label names the victim\'s key, not ambiguous with the flood');
      const found = await m.hsm.lookup.find(victim, T([[CKA.LABEL, 'payments']]));
      assert.deepEqual(found.map((o) => o.id), [mine.id]);
      assert.ok(rows <= 4, `the victim's lookups read ${rows} object rows (the flood has 3,000 under its label)`);
      // The flooder's own lookup sees its 3,000 (bounded by the list cap), never the victim's key.
      rows = 0;
      const theirs = await m.hsm.lookup.find(flooder, T([[CKA.LABEL, 'payments']]));
      assert.ok(theirs.length > 0 && theirs.every((o) => o.owner === flooder.principal!.id));
      assert.ok(rows >= 3000, `the count is real: the flooder's own lookup read ${rows} rows`);
    } finally {
      m.store.find = find;
    }
  });
});
