// Development mode for the KMS face: an access key for the dev crypto user, kept in
// dev-credentials.json under "kms" so an AWS SDK can be pointed at the dev server at once.
import type { Hsm } from '../core/hsm';
import type { DevCredentials } from './dev-mode';

export const DEV_KMS_REGION = 'us-east-1';

export interface DevKmsCredentials { endpoint: string; region: string; accessKeyId: string; secretAccessKey: string }

/** Reuses the access key recorded on an earlier start if it still authenticates; else issues one. */
export async function devKmsCredentials(hsm: Hsm, creds: DevCredentials, endpoint: string): Promise<DevKmsCredentials> {
  const previous = creds.kms as Partial<DevKmsCredentials> | undefined;
  if (previous?.accessKeyId && previous.secretAccessKey) {
    const found = await hsm.accessKeys.lookup(previous.accessKeyId);
    if (found && found.secretAccessKey === previous.secretAccessKey) {
      return { endpoint, region: previous.region ?? DEV_KMS_REGION, accessKeyId: previous.accessKeyId, secretAccessKey: previous.secretAccessKey };
    }
  }
  const user = await hsm.users.find(creds.user.username);
  if (!user) throw new Error('the dev crypto user is missing');
  const key = await hsm.accessKeys.create({ id: user.id, username: user.username, role: 'user' });
  return { endpoint, region: DEV_KMS_REGION, accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey };
}
