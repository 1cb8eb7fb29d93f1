// A count of bytes held on behalf of clients, shared by every connection of one listener, with
// a fixed ceiling: reservations beyond it are refused, so many clients together cannot exhaust
// the process's memory even when each stays within its own per-frame or per-operation cap.

export class ByteBudget {
  private held = 0;
  private peak = 0;
  private refused = 0;

  constructor(readonly name: string, readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`bad ${name} budget ${limit}`);
  }

  /** Takes n bytes if they fit; false (and nothing taken) if they do not. */
  tryReserve(n: number): boolean {
    if (n < 0 || !Number.isSafeInteger(n)) throw new RangeError(`bad reservation ${n}`);
    if (this.held + n > this.limit) { this.refused++; return false; }
    this.held += n;
    if (this.held > this.peak) this.peak = this.held;
    return true;
  }

  /** Gives back n bytes taken earlier; releasing more than is held is a bug, clamped so it cannot go negative. */
  release(n: number): void {
    this.held = Math.max(0, this.held - n);
  }

  get used(): number { return this.held; }
  get highWater(): number { return this.peak; }
  /** Reservations refused since start. */
  get refusals(): number { return this.refused; }
}
