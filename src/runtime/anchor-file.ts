// The anchor (core/anchor.ts) kept in files: `anchor.json` beside the store, and optionally a copy
// elsewhere (another disk, a mount only the module's user can write). The newest readable one wins.
import * as fs from 'node:fs';
import type { AnchorData, AnchorSink } from '../core/anchor';
import { writeFileAtomic } from './files';

export const ANCHOR_FILE = 'anchor.json';

export class AnchorFiles implements AnchorSink {
  constructor(private readonly files: string[]) {}

  read(): AnchorData | undefined {
    let best: AnchorData | undefined;
    for (const f of this.files) {
      let a: AnchorData;
      try { a = JSON.parse(fs.readFileSync(f, 'utf8')) as AnchorData; } catch { continue; }
      if (!a || typeof a.domain !== 'string') continue;
      if (!best || (a.time ?? '') > (best.time ?? '')) best = a;
    }
    return best;
  }

  async write(data: AnchorData): Promise<void> {
    const text = JSON.stringify(data, null, 1) + '\n';
    for (const f of this.files) writeFileAtomic(f, text);
  }

  async clear(): Promise<void> {
    for (const f of this.files) fs.rmSync(f, { force: true });
  }
}
