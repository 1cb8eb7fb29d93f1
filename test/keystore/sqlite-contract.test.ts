// The keystore contract suite on the embedded SQLite store.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { SqliteKeyStore } from '../../src/keystore/sqlite/sqlite-store';
import * as os from 'node:os';
import { keystoreContract } from './contract';

keystoreContract('sqlite', {
  async open() {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'inkan-contract-'));
    const file = path.join(dir, 'inkan.db');
    const store = new SqliteKeyStore(file);
    return {
      store,
      second: async () => new SqliteKeyStore(file),
      async cleanup() { await store.close(); fs.rmSync(dir, { recursive: true, force: true }); },
    };
  },
});
