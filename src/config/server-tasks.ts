// Background duties of `inkan serve`: scheduled backups (CloudHSM takes one at least daily)
// and tamper response (a watched file or SIGUSR2 zeroises the module without confirmation).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Hsm } from '../core/hsm';
import type { Principal } from '../core/principal';
import type { Logger } from './logger';

/** The module acting on its own schedule; shows as "scheduler" in the audit log. */
const SCHEDULER: Principal = { id: 'scheduler', username: 'scheduler', role: 'officer' };
export const BACKUP_PREFIX = 'inkan-backup-';

/** "24h", "30m", "45s", "500ms" → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`bad duration ${text}: use e.g. 24h, 30m, 45s`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** Writes a backup into `dir` every `everyMs` while unsealed, keeping the newest `keep`. */
export function scheduleBackups(hsm: Hsm, dir: string, everyMs: number, keep: number, log: Logger): () => void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  let running = false;
  const run = async () => {
    if (running || hsm.state !== 'unsealed') return;
    running = true;
    try {
      const blob = await hsm.backup(SCHEDULER);
      const file = path.join(dir, `${BACKUP_PREFIX}${new Date().toISOString().replace(/[:.]/g, '-')}.ikb`);
      fs.writeFileSync(file, blob, { mode: 0o600 });
      const old = fs.readdirSync(dir).filter((f) => f.startsWith(BACKUP_PREFIX)).sort();
      for (const f of old.slice(0, Math.max(0, old.length - keep))) fs.rmSync(path.join(dir, f));
      log.info('scheduled backup written', { file: path.basename(file), bytes: blob.length });
    } catch (err) {
      log.error('scheduled backup failed', { error: (err as Error).message });
    } finally { running = false; }
  };
  const timer = setInterval(() => void run(), everyMs);
  timer.unref();
  return () => clearInterval(timer);
}

/** Zeroises when `file` appears or changes, and on SIGUSR2. Returns a function that stops watching. */
export function watchTamper(hsm: Hsm, file: string | undefined, log: Logger): () => void {
  const respond = (source: string) => {
    if (hsm.state === 'uninitialized') return;
    log.warn('TAMPER signal: zeroising the module', { source });
    hsm.zeroize().catch((err) => log.error('zeroisation failed', { error: (err as Error).message }));
  };
  const onSignal = () => respond('SIGUSR2');
  process.on('SIGUSR2', onSignal);
  const stat = (f: string) => { try { return fs.statSync(f).mtimeMs; } catch { return undefined; } };
  let seen = file ? stat(file) : undefined;
  const watcher = file ? setInterval(() => {
    const now = stat(file);
    if (now !== undefined && now !== seen) respond(`tamper file ${file}`);
    seen = now;
  }, 250) : undefined;
  watcher?.unref();
  return () => { process.off('SIGUSR2', onSignal); if (watcher) clearInterval(watcher); };
}
