// Development mode (`npm start`): initialises a 1-of-1 module on first start, keeps its single
// unseal share in a clearly labelled file beside the database, unseals itself on every start,
// and writes dev-credentials.json (0600) with an officer and a crypto user. Never for production.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from '../crypto/node-crypto';
import type { Hsm } from '../core/hsm';
import type { Principal } from '../core/principal';

export const DEV_KEY_FILE = 'dev-master-key.DEVELOPMENT-ONLY';
export const DEV_CREDENTIALS_FILE = 'dev-credentials.json';

export interface DevCredentials {
  warning: string;
  server: string;
  officer: { username: string; password: string };
  user: { username: string; password: string };
  [face: string]: unknown;
}

const password = () => randomBytes(18).toString('base64url');

function writePrivate(file: string, text: string): void {
  fs.writeFileSync(file, text, { mode: 0o600 });
  fs.chmodSync(file, 0o600);
}

/** Brings a dev module to the unsealed state and returns the credentials to print. */
export async function bootstrapDev(hsm: Hsm, dataDir: string, serverUrl: string): Promise<DevCredentials> {
  const keyFile = path.join(dataDir, DEV_KEY_FILE);
  const credFile = path.join(dataDir, DEV_CREDENTIALS_FILE);
  let creds: DevCredentials;
  if (hsm.state === 'uninitialized') {
    const officer = { username: 'officer', password: password() };
    const [share] = await hsm.init(1, 1, officer);
    writePrivate(keyFile, `# Inkan DEVELOPMENT master key share. Anyone with this file can unseal the module.\n${share}\n`);
    await hsm.unseal(share);
    const user = { username: 'user', password: password() };
    const actor: Principal = await hsm.login(officer.username, officer.password);
    await hsm.users.create(actor, user.username, 'user', user.password);
    creds = { warning: 'DEVELOPMENT ONLY: these credentials and the key file beside them unlock every key in this module.', server: serverUrl, officer, user };
  } else {
    if (!fs.existsSync(keyFile)) throw new Error(`${keyFile} is missing: this data directory was not made by --dev; unseal it with its shares instead`);
    const share = fs.readFileSync(keyFile, 'utf8').split('\n').find((l) => l.startsWith('inkan-share-'))!;
    if (hsm.state === 'sealed') await hsm.unseal(share);
    creds = JSON.parse(fs.readFileSync(credFile, 'utf8')) as DevCredentials;
    creds.server = serverUrl;
  }
  writePrivate(credFile, JSON.stringify(creds, null, 2) + '\n');
  return creds;
}

/** Lets later faces (PKCS#11, KMS) add their entries to the same file. */
export function addDevCredentials(dataDir: string, face: string, entry: unknown): void {
  const file = path.join(dataDir, DEV_CREDENTIALS_FILE);
  const creds = JSON.parse(fs.readFileSync(file, 'utf8')) as DevCredentials;
  creds[face] = entry;
  writePrivate(file, JSON.stringify(creds, null, 2) + '\n');
}
