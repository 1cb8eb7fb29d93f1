// Slots and tokens: one token per partition (DESIGN.md). The core has one partition today,
// the default one, so there is one slot; the table is the place to add more.
import { DEFAULT_PARTITION } from '../../core/partitions';

export interface Slot {
  readonly id: number;
  readonly partition: string;
  readonly label: string;
}

export const SLOTS: readonly Slot[] = Object.freeze([
  Object.freeze({ id: 1, partition: DEFAULT_PARTITION, label: 'Inkan default' }),
]);
