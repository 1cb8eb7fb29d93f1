// The explicit call table of the PKCS#11 face: every request call of protocol version 0
// (docs/p11kit-rpc.md §6) → its C_* handler in the file for its function group.
import type { DecodedRequest, RequestArgs, RequestCallName } from '../../protocol/p11rpc';
import * as general from './general';
import * as session from './session';
import { forgetLogin } from './session';
import { HsmError } from '../../errors/hsm-error';
import * as object from './object';
import * as sign from './sign';
import * as encrypt from './encrypt';
import * as digest from './digest';
import * as key from './key';
import * as random from './random';
import type { P11Context } from './state';

type Handler<N extends RequestCallName> = (ctx: P11Context, args: RequestArgs<N>) => Promise<readonly unknown[]>;
type HandlerTable = { readonly [N in RequestCallName]: Handler<N> };

export const HANDLERS: HandlerTable = Object.freeze({
  C_Initialize: general.C_Initialize, C_Finalize: general.C_Finalize, C_GetInfo: general.C_GetInfo,
  C_GetSlotList: general.C_GetSlotList, C_GetSlotInfo: general.C_GetSlotInfo, C_GetTokenInfo: general.C_GetTokenInfo,
  C_GetMechanismList: general.C_GetMechanismList, C_GetMechanismInfo: general.C_GetMechanismInfo,
  C_InitToken: general.C_InitToken, C_WaitForSlotEvent: general.C_WaitForSlotEvent,

  C_OpenSession: session.C_OpenSession, C_CloseSession: session.C_CloseSession, C_CloseAllSessions: session.C_CloseAllSessions,
  C_GetSessionInfo: session.C_GetSessionInfo, C_InitPIN: session.C_InitPIN, C_SetPIN: session.C_SetPIN,
  C_GetOperationState: session.C_GetOperationState, C_SetOperationState: session.C_SetOperationState,
  C_Login: session.C_Login, C_Logout: session.C_Logout,

  C_CreateObject: object.C_CreateObject, C_CopyObject: object.C_CopyObject, C_DestroyObject: object.C_DestroyObject,
  C_GetObjectSize: object.C_GetObjectSize, C_GetAttributeValue: object.C_GetAttributeValue,
  C_SetAttributeValue: object.C_SetAttributeValue, C_FindObjectsInit: object.C_FindObjectsInit,
  C_FindObjects: object.C_FindObjects, C_FindObjectsFinal: object.C_FindObjectsFinal,

  C_EncryptInit: encrypt.C_EncryptInit, C_Encrypt: encrypt.C_Encrypt, C_EncryptUpdate: encrypt.C_EncryptUpdate,
  C_EncryptFinal: encrypt.C_EncryptFinal, C_DecryptInit: encrypt.C_DecryptInit, C_Decrypt: encrypt.C_Decrypt,
  C_DecryptUpdate: encrypt.C_DecryptUpdate, C_DecryptFinal: encrypt.C_DecryptFinal,
  C_DigestEncryptUpdate: encrypt.C_DigestEncryptUpdate, C_DecryptDigestUpdate: encrypt.C_DecryptDigestUpdate,
  C_SignEncryptUpdate: encrypt.C_SignEncryptUpdate, C_DecryptVerifyUpdate: encrypt.C_DecryptVerifyUpdate,

  C_DigestInit: digest.C_DigestInit, C_Digest: digest.C_Digest, C_DigestUpdate: digest.C_DigestUpdate,
  C_DigestKey: digest.C_DigestKey, C_DigestFinal: digest.C_DigestFinal,

  C_SignInit: sign.C_SignInit, C_Sign: sign.C_Sign, C_SignUpdate: sign.C_SignUpdate, C_SignFinal: sign.C_SignFinal,
  C_SignRecoverInit: sign.C_SignRecoverInit, C_SignRecover: sign.C_SignRecover,
  C_VerifyInit: sign.C_VerifyInit, C_Verify: sign.C_Verify, C_VerifyUpdate: sign.C_VerifyUpdate,
  C_VerifyFinal: sign.C_VerifyFinal, C_VerifyRecoverInit: sign.C_VerifyRecoverInit, C_VerifyRecover: sign.C_VerifyRecover,

  C_GenerateKey: key.C_GenerateKey, C_GenerateKeyPair: key.C_GenerateKeyPair, C_WrapKey: key.C_WrapKey,
  C_UnwrapKey: key.C_UnwrapKey, C_DeriveKey: key.C_DeriveKey,

  C_SeedRandom: random.C_SeedRandom, C_GenerateRandom: random.C_GenerateRandom,
});

/** Calls whose first argument is a session handle: they run in that session's queue (§9.2). */
const SESSIONLESS: ReadonlySet<RequestCallName> = new Set<RequestCallName>([
  'C_Initialize', 'C_Finalize', 'C_GetInfo', 'C_GetSlotList', 'C_GetSlotInfo', 'C_GetTokenInfo',
  'C_GetMechanismList', 'C_GetMechanismInfo', 'C_InitToken', 'C_OpenSession', 'C_CloseAllSessions', 'C_WaitForSlotEvent',
]);

/** The session a request belongs to, or undefined for slot-level calls. */
export function sessionOf(req: DecodedRequest): number | undefined {
  return SESSIONLESS.has(req.name) ? undefined : (req.args[0] as number);
}

export async function handle(ctx: P11Context, req: DecodedRequest): Promise<readonly unknown[]> {
  try {
    return await (HANDLERS[req.name] as Handler<RequestCallName>)(ctx, req.args as never);
  } catch (err) {
    // The core found this login revoked (CKR_USER_NOT_LOGGED_IN): every session of the
    // connection is public from now on, and C_Login may be called again.
    if (err instanceof HsmError && err.code === 'SESSION_REVOKED' && ctx.conn.login) forgetLogin(ctx);
    throw err;
  }
}
