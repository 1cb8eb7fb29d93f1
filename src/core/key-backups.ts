// One-key backups (Key Vault BackupKey/RestoreKey): a managed key with every version's objects and
// its names, sealed with AES-256-GCM under a key derived from the domain master key (HKDF purpose
// "key-backup"), with the partition in the AAD. So a blob opens only in the same domain and the
// same partition, and any edit fails authentication; it is opaque everywhere else. A restore makes
// the key again, owned by the restoring crypto user, with its key id, version ids and names; it
// refuses (EXISTS) while the key or one of its names still exists. Each is one recorded operation.
//   blob = "IKB2" ‖ iv(12) ‖ tag(16) ‖ AES-256-GCM(JSON body), under HKDF(the partition's own key,
//   "key-backup"), so deleting the partition (which destroys its key) makes its one-key backups
//   unopenable too (docs/sealing.md). "IKB1" blobs, made under HKDF(DMK) before, still open.
import * as c from '../crypto/node-crypto';
import { HsmError } from '../errors/hsm-error';
import type { DomainKeys } from '../keystore/seal';
import type { ObjectStore } from './object-store';
import type { Operations } from './operation';
import type { Gate } from './policy/gate';
import { decodeAttrs, encodeAttrs } from './policy/attributes';
import type { Caller } from './principal';
import type { Quotas } from './quotas';
import type { Records } from './records';
import type { NameService, NameTarget } from './names';
import type { ManagedKey, ManagedKeyData, ManagedKeyService } from './managed-keys';

const MAGIC_V1 = Buffer.from('IKB1');
const MAGIC = Buffer.from('IKB2');
const FORMAT = 'inkan-key-backup/1';
/** A backup holds one key; its blob stays far below this (Key Vault restores take ≤ 256 KiB). */
export const MAX_KEY_BACKUP = 256 * 1024;

interface BackupObject { id: string; cls: number; attrs: string; secret?: string }
interface BackupBody { format: string; partition: string; id: string; data: ManagedKeyData; names: { kind: string; name: string }[]; objects: BackupObject[] }

export class KeyBackups {
  constructor(private readonly records: Records, private readonly objects: ObjectStore, private readonly managed: ManagedKeyService,
    private readonly names: NameService, private readonly gate: Gate, private readonly ops: Operations, private readonly quotas: Quotas,
    private readonly keys: () => DomainKeys) {}

  backup(caller: Caller, key: ManagedKey): Promise<Buffer> {
    return this.ops.run(caller, 'managed-key.backup', async (a, _change, rec) => {
      rec.object = key.id;
      const cur = await this.managed.getIn(a, key.id);
      if (cur.state === 'pending-deletion' || !cur.row) throw new HsmError('KEY_STATE_INVALID', 'only a live managed key is backed up');
      const objects: BackupObject[] = [];
      for (const v of cur.data.versions) {
        for (const id of [v.objectId, v.publicObjectId]) {
          const obj = id ? await this.objects.get(id) : undefined;
          if (!obj) continue;
          this.gate.authorize(a, 'key.backup', { kind: 'object', object: obj });
          const secret = obj.sealed ? this.objects.secretValue(obj) : undefined;
          objects.push({ id: obj.id, cls: obj.cls, attrs: encodeAttrs(obj.attrs), secret: secret?.toString('base64') });
          secret?.fill(0);
        }
      }
      if (!objects.length) throw new HsmError('KEY_STATE_INVALID', 'the key has no material to back up');
      const names: { kind: string; name: string }[] = [];
      for await (const row of this.records.all('names', { partition: cur.partition, target: cur.id })) names.push({ kind: String(row.cols.kind), name: String(row.cols.name) });
      rec.detail = `${cur.data.versions.length} version(s), ${names.length} name(s)`;
      const body: BackupBody = { format: FORMAT, partition: cur.partition, id: cur.id, data: cur.data, names, objects };
      return this.seal(cur.partition, Buffer.from(JSON.stringify(body), 'utf8'));
    });
  }

  restore(caller: Caller, blob: Buffer): Promise<ManagedKey> {
    return this.ops.run(caller, 'managed-key.restore', async (a, change, rec) => {
      this.gate.authorize(a, 'key.create');
      const body = this.open(a.partition, blob);
      rec.object = body.id;
      const owner = a.principal?.isUser ? a.principal.id : '';
      await this.quotas.reserve(a.partition, owner, body.objects.length);
      const remap = new Map<string, string>();
      for (const o of body.objects) {
        const secret = o.secret === undefined ? undefined : Buffer.from(o.secret, 'base64');
        try {
          const obj = this.objects.build({ partition: a.partition, owner, cls: o.cls, attrs: decodeAttrs(o.attrs), secret, managed: body.id });
          this.objects.insert(change, obj);
          remap.set(o.id, obj.id);
        } finally { secret?.fill(0); }
      }
      const data = structuredClone(body.data);
      for (const v of data.versions) {
        v.objectId = remap.get(v.objectId) ?? v.objectId;
        if (v.publicObjectId) v.publicObjectId = remap.get(v.publicObjectId) ?? v.publicObjectId;
      }
      const key = this.managed.restoreIn(change, a, body.id, data);
      const target: NameTarget = { id: key.id, owner: key.owner, partition: key.partition, data: { versions: [] } };
      for (const n of body.names) await this.names.createIn(a, change, n.kind, n.name, target);
      rec.detail = `${data.versions.length} version(s), ${body.names.length} name(s)`;
      return key;
    });
  }

  /** IKB2: from the partition's key (gone with the partition); IKB1: from the DMK (older blobs). */
  private key(partition: string, magic: Buffer = MAGIC): c.KeyObject {
    if (magic.equals(MAGIC_V1)) return c.secretKey(this.keys().derive('key-backup'));
    const raw = c.hkdf('sha256', this.keys().partitionKey(partition), Buffer.from('inkan/hkdf-salt/v1'), Buffer.from('inkan/v1/key-backup'), 32);
    try { return c.secretKey(raw); } finally { raw.fill(0); }
  }
  private aad(partition: string): Buffer { return Buffer.from(`${FORMAT}\0${partition}`); }

  private seal(partition: string, plain: Buffer): Buffer {
    const iv = c.randomBytes(12);
    try {
      const out = c.cipher('aes-256-gcm', this.key(partition), iv, plain, { aad: this.aad(partition), tagLength: 16 });
      return Buffer.concat([MAGIC, iv, out.tag!, out.data]);
    } finally { plain.fill(0); }
  }

  private open(partition: string, blob: Buffer): BackupBody {
    const invalid = () => new HsmError('BACKUP_INVALID', 'the key backup is damaged, or was made in another domain or partition');
    if (!Buffer.isBuffer(blob) || blob.length < 33 || blob.length > MAX_KEY_BACKUP || !(blob.subarray(0, 4).equals(MAGIC) || blob.subarray(0, 4).equals(MAGIC_V1))) throw invalid();
    let plain: Buffer;
    try {
      plain = c.decipher('aes-256-gcm', this.key(partition, blob.subarray(0, 4)), blob.subarray(4, 16), blob.subarray(32), { aad: this.aad(partition), tag: blob.subarray(16, 32), tagLength: 16 });
    } catch { throw invalid(); }
    try {
      const body = JSON.parse(plain.toString('utf8')) as BackupBody;
      if (body.format !== FORMAT || body.partition !== partition || typeof body.id !== 'string' || !Array.isArray(body.objects)) throw invalid();
      return body;
    } finally { plain.fill(0); }
  }
}
