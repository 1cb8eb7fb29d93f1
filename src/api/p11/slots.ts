// Slots and tokens: one slot, one token per partition (DESIGN.md; docs/partitions.md). The slot id
// and the token serial come from the partition id (core/partitions.ts), so they are the same on
// every node and after every restart; the token label is the partition's name. The table is
// built from the store at unseal and rebuilt whenever partitions are created or deleted, here
// or on another node (the core's coherence tells the partition service, which tells this table).
import type { Hsm } from '../../core/hsm';
import { DEFAULT_PARTITION, serialOf, slotOf, type Partition } from '../../core/partitions';

export interface Slot {
  readonly id: number;
  /** The partition id every caller of this slot acts in. */
  readonly partition: string;
  /** The token label: the partition's name. */
  readonly label: string;
  readonly serial: string;
}

const slotOfPartition = (p: Pick<Partition, 'id' | 'name'>): Slot =>
  Object.freeze({ id: slotOf(p.id), partition: p.id, label: p.name, serial: serialOf(p.id) });

/** Before the first unseal the partitions cannot be read: the default partition's slot is shown
 *  (its token not present), as it always exists. */
const BEFORE_UNSEAL: readonly Slot[] = Object.freeze([slotOfPartition({ id: DEFAULT_PARTITION, name: DEFAULT_PARTITION })]);

export class SlotTable {
  private slots: readonly Slot[] = BEFORE_UNSEAL;
  private stale = true;
  private loading?: Promise<void>;

  constructor(private readonly hsm: Hsm) {
    hsm.partitions.watch(() => { this.stale = true; });
  }

  /** The slots as last read (C_GetSlotList refreshes first; a removed partition's slot answers SLOT_ID_INVALID). */
  get current(): readonly Slot[] { return this.slots; }

  /** Re-reads the partitions if any may have changed (a few rows); keeps the last table while sealed. */
  async refresh(): Promise<readonly Slot[]> {
    if (this.hsm.state !== 'unsealed') return this.slots;
    // Changes other nodes made are learned here too: the coherence look evicts and tells the watchers.
    await this.hsm.coherence.sync();
    if (!this.stale) return this.slots;
    this.loading ??= (async () => {
      this.stale = false;
      try {
        this.slots = Object.freeze((await this.hsm.partitions.all()).map(slotOfPartition));
      } catch (err) { this.stale = true; throw err; }
    })().finally(() => { this.loading = undefined; });
    await this.loading;
    return this.slots;
  }
}
