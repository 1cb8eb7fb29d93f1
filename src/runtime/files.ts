// Writing files that must not be half there: to a temporary name in the same directory, fsync,
// rename over the final name, fsync the directory (so a crash leaves the old file or the new one,
// never a truncated one under the final name). Mode 0600: these files hold secrets or evidence.
import * as fs from 'node:fs';
import * as path from 'node:path';

export function writeFileAtomic(file: string, data: Buffer | string, mode = 0o600): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    fs.fsyncSync(fd);
  } finally { fs.closeSync(fd); }
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(dir);
}

export function syncDir(dir: string): void {
  let fd: number | undefined;
  try { fd = fs.openSync(dir, 'r'); fs.fsyncSync(fd); } catch { /* some filesystems refuse; the rename is still atomic */ } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

/** Creates a private directory, or tightens an existing one to 0700 (returns true if it had to). */
export function privateDir(dir: string): boolean {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const mode = fs.statSync(dir).mode & 0o777;
  if (mode === 0o700) return false;
  fs.chmodSync(dir, 0o700);
  return true;
}
