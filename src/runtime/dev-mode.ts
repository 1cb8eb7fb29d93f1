// Development mode (`npm start`): initialises a 1-of-1 module on first start, keeps its single
// unseal share in a clearly labelled file beside the database, unseals itself on every start,
// and writes dev-credentials.json (0600) with an officer, a crypto user, an auditor, the PKCS#11
// PINs and a KMS access key. A new dev module turns approved-only mode off (legacy algorithms such as
// DES3 and RSA-1024 work, as test suites expect), as its officer, in the audit trail; an officer may
// turn it on again (`inkan policy set approved-only true`), and restarts keep that choice.
// Never for production. A data directory whose key file exists but
// whose store holds no domain is refused, never silently re-initialised (docs/security.md).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from '../crypto/node-crypto';
import type { Hsm } from '../core/hsm';
import { writeFileAtomic } from './files';

export const DEV_KEY_FILE = 'dev-master-key.DEVELOPMENT-ONLY';
export const DEV_CREDENTIALS_FILE = 'dev-credentials.json';
export const DEV_KMS_REGION = 'us-east-1';

export interface Account { username: string; password: string }
export interface DevCredentials {
  warning: string;
  server: string;
  officer: Account;
  user: Account;
  auditor: Account;
  [face: string]: unknown;
}

const password = () => randomBytes(18).toString('base64url');

/** Brings a dev module to the unsealed state and returns the credentials to print. */
export async function bootstrapDev(hsm: Hsm, dataDir: string, serverUrl: string): Promise<DevCredentials> {
  const keyFile = path.join(dataDir, DEV_KEY_FILE);
  const credFile = path.join(dataDir, DEV_CREDENTIALS_FILE);
  let creds: DevCredentials;
  if (hsm.state === 'uninitialized') {
    if (fs.existsSync(keyFile) && !hsm.opts.newDomain) {
      throw new Error(`${keyFile} exists but the store holds no domain: the database was emptied or replaced. `
        + 'Restore a backup, or start a new development domain on purpose with `inkan serve --dev --new-domain`');
    }
    const officer = { username: 'officer', password: password() };
    const [share] = await hsm.lifecycle.init(1, 1, officer);
    writeFileAtomic(keyFile, `# Inkan DEVELOPMENT master key share. Anyone with this file can unseal the module.\n${share}\n`);
    await hsm.lifecycle.unseal(share);
    const asOfficer = hsm.callerOf(await hsm.login(officer.username, officer.password), 'internal');
    const user = { username: 'user', password: password() };
    const auditor = { username: 'auditor', password: password() };
    await hsm.users.create(asOfficer, user.username, 'user', user.password);
    await hsm.users.create(asOfficer, auditor.username, 'auditor', auditor.password);
    await hsm.partitions.setPolicy(asOfficer, { approvedOnly: false });
    creds = { warning: 'DEVELOPMENT ONLY: these credentials and the key file beside them unlock every key in this module.', server: serverUrl, officer, user, auditor };
  } else {
    if (!fs.existsSync(keyFile)) throw new Error(`${keyFile} is missing: this data directory was not made by --dev; unseal it with its shares instead`);
    const share = fs.readFileSync(keyFile, 'utf8').split('\n').find((l) => l.startsWith('inkan-share-'))!;
    if (hsm.state === 'sealed') await hsm.lifecycle.unseal(share);
    creds = JSON.parse(fs.readFileSync(credFile, 'utf8')) as DevCredentials;
    creds.server = serverUrl;
  }
  writeFileAtomic(credFile, JSON.stringify(creds, null, 2) + '\n');
  return creds;
}

/** Lets the faces (PKCS#11, KMS) add their entries to the same file. */
export function addDevCredentials(dataDir: string, face: string, entry: unknown): void {
  const file = path.join(dataDir, DEV_CREDENTIALS_FILE);
  const creds = JSON.parse(fs.readFileSync(file, 'utf8')) as DevCredentials;
  creds[face] = entry;
  writeFileAtomic(file, JSON.stringify(creds, null, 2) + '\n');
}

export interface DevKmsCredentials { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }

/** Reuses the access key recorded on an earlier start if it still authenticates; else issues one. */
export async function devKmsCredentials(hsm: Hsm, creds: DevCredentials, endpoint: string): Promise<DevKmsCredentials> {
  const previous = creds.kms as Partial<DevKmsCredentials> | undefined;
  if (previous?.accessKeyId && previous.secretAccessKey) {
    const found = await hsm.credentials.lookup(previous.accessKeyId);
    if (found && found.secretAccessKey === previous.secretAccessKey) {
      return { endpoint, region: previous.region ?? DEV_KMS_REGION, accessKeyId: previous.accessKeyId, secretAccessKey: previous.secretAccessKey };
    }
  }
  const user = hsm.callerOf(await hsm.login(creds.user.username, creds.user.password), 'internal');
  const key = await hsm.credentials.create(user);
  return { endpoint, region: DEV_KMS_REGION, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
}
