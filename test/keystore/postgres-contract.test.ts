// The keystore contract suite on PostgreSQL: one throw-away server for the file, a fresh
// database per test, and a second store on the same database standing for another node.
import { after, before } from 'node:test';
import { PostgresKeyStore } from '../../src/keystore/postgres/postgres-store';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { keystoreContract } from './contract';

let server: TestPostgres;
let n = 0;
before(async () => { server = await startPostgres(); });
after(async () => { await server?.stop(); });

keystoreContract('postgres', {
  async open() {
    const url = await server.createDatabase(`contract_${++n}`);
    const store = await PostgresKeyStore.open({ url, poolSize: 4 });
    return {
      store,
      second: () => PostgresKeyStore.open({ url, poolSize: 4 }),
      async cleanup() { await store.close(); },
    };
  },
});
