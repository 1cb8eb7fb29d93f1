// Background duties of `inkan serve` that touch the file system: scheduled backups (CloudHSM takes
// one at least daily) written atomically so a backup killed mid-write never counts as one, and
// tamper response (a watched file or SIGUSR2 zeroises the module without confirmation).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Hsm } from '../core/hsm';
import type { Task } from '../core/scheduler';
import type { Logger } from '../logger';
import { privateDir, writeFileAtomic } from './files';

export const BACKUP_PREFIX = 'inkan-backup-';
export const BACKUP_SUFFIX = '.ikb';

/** "24h", "30m", "45s", "500ms" → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new Error(`bad duration ${text}: use e.g. 24h, 30m, 45s`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** A scheduler task writing a backup into `dir` while unsealed, keeping the newest `keep`. Runs on one node. */
export function backupTask(hsm: Hsm, dir: string, everyMs: number, keep: number, log: Logger): Task {
  privateDir(dir);
  return {
    name: 'scheduled-backup', everyMs, leaderOnly: true,
    async run() {
      try {
        const blob = await hsm.backups.backup(hsm.systemCaller());
        const file = path.join(dir, `${BACKUP_PREFIX}${new Date().toISOString().replace(/[:.]/g, '-')}${BACKUP_SUFFIX}`);
        writeFileAtomic(file, blob);
        // Only complete backups count: temporary files never match the name pattern.
        const all = fs.readdirSync(dir).filter((f) => f.startsWith(BACKUP_PREFIX) && f.endsWith(BACKUP_SUFFIX)).sort();
        for (const f of all.slice(0, Math.max(0, all.length - keep))) fs.rmSync(path.join(dir, f));
        for (const f of fs.readdirSync(dir)) if (f.startsWith(`.${BACKUP_PREFIX}`) && f.endsWith('.tmp')) fs.rmSync(path.join(dir, f), { force: true });
        log.info('scheduled backup written', { file: path.basename(file), bytes: blob.length });
      } catch (err) {
        log.error('scheduled backup failed', { error: (err as Error).message });
      }
    },
  };
}

/** Zeroises when `file` appears or changes, and on SIGUSR2. Returns a function that stops watching. */
export function watchTamper(hsm: Hsm, file: string | undefined, log: Logger): () => void {
  const respond = (source: string) => {
    if (hsm.state === 'uninitialized') return;
    log.warn('TAMPER signal: zeroising the module', { source });
    hsm.backups.zeroize().catch((err) => log.error('zeroisation failed', { error: (err as Error).message }));
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
