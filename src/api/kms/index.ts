// The KMS face: the explicit operation table (STYLE.md convention 2: one file per operation or
// small group, one line here) and the request handler wiring transport → operation → answer.
// Credentials are the core's access keys; errors map through the catalog (errors.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Hsm } from '../../core/hsm';
import type { Principal } from '../../core/principal';
import { KmsKeys } from './kms-keys';
import type { Logger } from '../../logger';
import { HsmError } from '../../errors/hsm-error';
import { toKmsError } from './errors';
import { createKmsHandler, KmsError, type KmsRequest } from '../../protocol/kms';
import type { KmsOperation, OpContext } from './context';
import { createAlias, deleteAlias, listAliases, updateAlias } from './ops/aliases';
import { createKey } from './ops/create-key';
import { deriveSharedSecret } from './ops/derive-shared-secret';
import { describeKey } from './ops/describe-key';
import { decrypt, encrypt, reEncrypt } from './ops/encrypt';
import { generateDataKey, generateDataKeyPair, generateDataKeyPairWithoutPlaintext, generateDataKeyWithoutPlaintext } from './ops/generate-data-key';
import { generateRandom } from './ops/generate-random';
import { getPublicKey } from './ops/get-public-key';
import { getParametersForImport, importKeyMaterial } from './ops/import';
import { getKeyPolicy, listKeyPolicies, putKeyPolicy } from './ops/key-policy';
import { getKeyLastUsage } from './ops/key-last-usage';
import { deleteImportedKeyMaterial } from './ops/delete-imported-key-material';
import { createGrant, listGrants, listRetirableGrants, retireGrant, revokeGrant } from './ops/grants';
import { cancelKeyDeletion, disableKey, enableKey, scheduleKeyDeletion, updateKeyDescription } from './ops/key-state';
import { listKeys } from './ops/list-keys';
import { generateMac, verifyMac } from './ops/mac';
import { disableKeyRotation, enableKeyRotation, getKeyRotationStatus, listKeyRotations, rotateKeyOnDemand } from './ops/rotation';
import { sign, verify } from './ops/sign';
import { listResourceTags, tagResource, untagResource } from './ops/tags';

export const OPERATIONS: ReadonlyMap<string, KmsOperation> = new Map<string, KmsOperation>([
  ['CreateKey', createKey],
  ['DescribeKey', describeKey],
  ['ListKeys', listKeys],
  ['EnableKey', enableKey],
  ['DisableKey', disableKey],
  ['ScheduleKeyDeletion', scheduleKeyDeletion],
  ['CancelKeyDeletion', cancelKeyDeletion],
  ['UpdateKeyDescription', updateKeyDescription],
  ['CreateAlias', createAlias],
  ['UpdateAlias', updateAlias],
  ['DeleteAlias', deleteAlias],
  ['ListAliases', listAliases],
  ['TagResource', tagResource],
  ['UntagResource', untagResource],
  ['ListResourceTags', listResourceTags],
  ['Encrypt', encrypt],
  ['Decrypt', decrypt],
  ['ReEncrypt', reEncrypt],
  ['GenerateDataKey', generateDataKey],
  ['GenerateDataKeyWithoutPlaintext', generateDataKeyWithoutPlaintext],
  ['GenerateDataKeyPair', generateDataKeyPair],
  ['GenerateDataKeyPairWithoutPlaintext', generateDataKeyPairWithoutPlaintext],
  ['Sign', sign],
  ['Verify', verify],
  ['GetPublicKey', getPublicKey],
  ['GenerateMac', generateMac],
  ['VerifyMac', verifyMac],
  ['GenerateRandom', generateRandom],
  ['DeriveSharedSecret', deriveSharedSecret],
  ['EnableKeyRotation', enableKeyRotation],
  ['DisableKeyRotation', disableKeyRotation],
  ['GetKeyRotationStatus', getKeyRotationStatus],
  ['RotateKeyOnDemand', rotateKeyOnDemand],
  ['ListKeyRotations', listKeyRotations],
  ['GetParametersForImport', getParametersForImport],
  ['ImportKeyMaterial', importKeyMaterial],
  ['DeleteImportedKeyMaterial', deleteImportedKeyMaterial],
  ['GetKeyPolicy', getKeyPolicy],
  ['PutKeyPolicy', putKeyPolicy],
  ['ListKeyPolicies', listKeyPolicies],
  ['GetKeyLastUsage', getKeyLastUsage],
  // Grants: the core's scoped sharing as this branch's own rule (core/managed-key-grants.ts).
  ['CreateGrant', createGrant],
  ['ListGrants', listGrants],
  ['ListRetirableGrants', listRetirableGrants],
  ['RetireGrant', retireGrant],
  ['RevokeGrant', revokeGrant],
]);

/** The node:http listener for requests carrying X-Amz-Target. Logs metadata only (never bodies). */
export function createKmsApi(hsm: Hsm, log: Logger): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const keys = new KmsKeys(hsm);
  const dispatch = async (req: KmsRequest<() => Principal>): Promise<object | undefined> => {
    const started = Date.now();
    const op = OPERATIONS.get(req.operation);
    // The signature verified: only now is the access key's user minted a principal.
    const principal = req.principal();
    try {
      if (!op) throw new KmsError('UnsupportedOperationException', `${req.operation} is not supported by Inkan.`);
      hsm.requireUnsealed();
      const caller = hsm.callerOf(principal, 'kms', { source: req.accessKeyId });
      const account = (await hsm.partitions.get(principal.partition)).accountId;
      const ctx: OpContext = { hsm, keys, caller, region: req.region, account };
      const out = await op(ctx, req.input);
      log.info('kms request', { op: req.operation, user: principal.username, status: 200, ms: Date.now() - started });
      return out;
    } catch (err) {
      const type = err instanceof KmsError ? err.type : err instanceof HsmError ? err.kmsType : 'KMSInternalException';
      log.info('kms request', { op: req.operation, user: principal.username, error: type, code: err instanceof HsmError ? err.code : undefined, ms: Date.now() - started });
      throw err;
    }
  };
  return createKmsHandler<() => Principal>({
    lookupSecret: async (accessKeyId) => {
      hsm.requireUnsealed();
      const found = await hsm.credentials.lookup(accessKeyId);
      return found && { secretAccessKey: found.secretAccessKey, principal: found.principal };
    },
    dispatch,
    mapError: toKmsError,
    onInternalError: (err, requestId) => log.error('kms internal error', {
      requestId, error: err instanceof Error ? `${err.name}: ${err.stack?.split('\n').slice(1, 4).join(' | ')}` : typeof err,
    }),
  });
}
