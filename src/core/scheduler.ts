// The module's periodic work, started by the composition root and run as the `system` actor:
// audit checkpoints, managed-key rotation and deletion that came due, scheduled backups (the
// runtime writes the files), the integrity scan, pruning of login counters of unknown names.
// In a cluster one node runs the key lifecycle and backups (`leader()`); checkpoints are per node.
import type { Hsm } from './hsm';

export interface Task { name: string; everyMs: number; leaderOnly: boolean; run(): Promise<unknown> }

export interface SchedulerOptions {
  /** True while this node may run cluster-wide tasks (always on a single node). */
  leader?: () => boolean | Promise<boolean>;
  onError?: (task: string, err: unknown) => void;
}

export class Scheduler {
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly running = new Set<string>();

  constructor(private readonly hsm: Hsm, private readonly opts: SchedulerOptions = {}) {}

  /** The module's own tasks; the composition root may add more (backups) with `add`. */
  standardTasks(): Task[] {
    return [
      { name: 'audit-checkpoint', everyMs: 60_000, leaderOnly: false, run: () => this.hsm.audit.checkpointIfNew() },
      { name: 'key-lifecycle', everyMs: 60_000, leaderOnly: true, run: () => this.hsm.managed.runDue(this.hsm.systemCaller()) },
      { name: 'integrity-scan', everyMs: 6 * 3_600_000, leaderOnly: false, run: () => this.hsm.lifecycle.scan() },
    ];
  }

  add(task: Task): void {
    const timer = setInterval(() => void this.tick(task), task.everyMs);
    timer.unref();
    this.timers.push(timer);
  }

  start(tasks: Task[] = this.standardTasks()): void {
    for (const t of tasks) this.add(t);
  }

  /** Runs one task now (tests, and `inkan` commands that ask for it). */
  async tick(task: Task): Promise<void> {
    if (this.running.has(task.name) || this.hsm.state !== 'unsealed') return;
    if (task.leaderOnly && this.opts.leader && !(await this.opts.leader())) return;
    this.running.add(task.name);
    try { await task.run(); } catch (err) { this.opts.onError?.(task.name, err); } finally { this.running.delete(task.name); }
  }

  stop(): void {
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
  }
}
