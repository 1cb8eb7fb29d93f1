// Key-use quorum (CloudHSM's key-usage service; the DNSSEC KSK pattern "usable for 15 minutes
// after 3 approvals"): a key may carry a quorum value of at most its owner plus the users it is
// shared with. While the value is above 1, the key is usable only inside an activation window
// that a token approved by that many of those users opened (`key.activate`). The gate checks
// the window on every use through every face (Gate.checkKeyQuorum); changing a quorum that is
// already above 1 needs such a token too. The value and window live in a `quorum` row per key
// (the managed key when the object is a version of one, so a rotation keeps it).
import { HsmError } from '../errors/hsm-error';
import type { HsmObject } from './hsm-object';
import { PRIVATE_FIRST, type KeyReads } from './key-reads';
import type { ObjectStore } from './object-store';
import type { Operations } from './operation';
import type { Admitted, Gate, KeyQuorumState } from './policy/gate';
import type { Caller } from './principal';
import { MAX_QUORUM, QuorumService } from './quorum';

const MAX_WINDOW_S = 24 * 3600;
export const DEFAULT_WINDOW_S = 15 * 60;

const rowId = (ref: string) => `qq:${ref}`;
/** The key a quorum belongs to: its managed key, else the object itself. */
export const keyRef = (obj: HsmObject) => obj.managed || obj.id;

export class KeyQuorum {
  constructor(private readonly quorum: QuorumService, private readonly objects: ObjectStore, private readonly lookup: KeyReads,
    private readonly gate: Gate, private readonly ops: Operations, private readonly now: () => number = Date.now) {
    quorum.keyRequirement = (a, id) => this.requirement(a, id);
    quorum.keyArgs = async (a, operation, args) => {
      const key = await this.lookup.resolveIn(a, String(args.key ?? ''), PRIVATE_FIRST);
      const window = args.window ?? (await this.stateOf(key))?.window ?? DEFAULT_WINDOW_S;
      return { ...args, key: key.id, window };
    };
  }

  /** The key's use quorum, for the gate (a cached row; undefined for a key without one). */
  async stateOf(obj: HsmObject): Promise<KeyQuorumState | undefined> {
    const row = await this.quorum.row(rowId(keyRef(obj)));
    return row && (JSON.parse(row.data) as KeyQuorumState);
  }

  /** For key-use tokens: approvals needed, and who may give them (the key's owner and sharees). */
  private async requirement(a: Admitted, id: string): Promise<{ required: number; approvers: string[] }> {
    const obj = await this.objects.get(id);
    if (!obj || obj.partition !== a.partition) throw new HsmError('KEY_NOT_FOUND');
    const state = await this.stateOf(obj);
    return { required: state?.value ?? 1, approvers: [obj.owner, ...obj.sharedWith].filter(Boolean) };
  }

  /** Sets a key's use quorum (its owner). Raising it from 1 needs nothing more; changing a value
   *  above 1 needs a token approved under the current value. */
  set(caller: Caller, obj: HsmObject, value: number, window: number = DEFAULT_WINDOW_S, tokenId?: string): Promise<KeyQuorumState> {
    return QuorumService.usedOnce(this.ops.run(caller, 'key.set-quorum', async (a, change, rec) => {
      rec.object = obj.id;
      if (!Number.isSafeInteger(value) || value < 1 || value > MAX_QUORUM) throw new HsmError('BAD_REQUEST', `a quorum value is 1 to ${MAX_QUORUM}`);
      if (!Number.isSafeInteger(window) || window < 1 || window > MAX_WINDOW_S) throw new HsmError('BAD_REQUEST', `an activation window is 1 to ${MAX_WINDOW_S} seconds`);
      const key = await this.lookup.getIn(a, obj.id);
      this.gate.authorize(a, 'key.manage', { kind: 'object', object: key });
      if (!key.isKey) throw new HsmError('KEY_TYPE_INCONSISTENT', 'only keys carry a use quorum');
      const able = 1 + key.sharedWith.length;
      if (value > able) throw new HsmError('QUORUM_VALUE_TOO_HIGH', `the key has ${able} user(s) (its owner and ${key.sharedWith.length} sharee(s)); share it first`);
      // Under its current value: a value above 1 is changed only with a token it approved.
      await this.quorum.useIn(a, change, rec, 'key.set-quorum', { key: key.id, value, window }, tokenId);
      rec.object = key.id;
      rec.detail = `${value} of owner and sharees, window ${window} s${tokenId ? `; ${rec.detail}` : ''}`.slice(0, 400);
      const old = await this.quorum.row(rowId(keyRef(key)));
      const state: KeyQuorumState = { value, window, activeUntil: 0 };
      this.quorum.putIn(change, { id: rowId(keyRef(key)), partition: a.partition, kind: 'key', ref: keyRef(key), data: state }, old);
      return state;
    }));
  }

  /** Opens the key's activation window with an approved token (key.activate, bound to the key and
   *  window), the token's use and the window in one transaction. */
  activate(caller: Caller, obj: HsmObject, tokenId: string | undefined): Promise<KeyQuorumState> {
    return QuorumService.usedOnce(this.ops.run(caller, 'key.activate', async (a, change, rec) => {
      rec.object = obj.id;
      const key = await this.lookup.getIn(a, obj.id);
      this.gate.authorize(a, 'key.use', { kind: 'object', object: key });
      const old = await this.quorum.row(rowId(keyRef(key)));
      const prev = old && (JSON.parse(old.data) as KeyQuorumState);
      if (!old || !prev || prev.value <= 1) throw new HsmError('BAD_REQUEST', 'the key has no use quorum: it needs no activation');
      await this.quorum.useIn(a, change, rec, 'key.activate', { key: key.id, window: prev.window }, tokenId);
      rec.object = key.id;
      const state: KeyQuorumState = { ...prev, activeUntil: this.now() + prev.window * 1000 };
      rec.detail = `usable until ${new Date(state.activeUntil).toISOString()}; ${rec.detail ?? ''}`.slice(0, 400);
      this.quorum.putIn(change, { id: old.id, partition: a.partition, kind: 'key', ref: keyRef(key), data: state }, old);
      return state;
    }));
  }
}
