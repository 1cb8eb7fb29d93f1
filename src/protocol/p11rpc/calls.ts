// The call table of protocol version 0 (docs/p11kit-rpc.md §6, = p11-kit 0.24.1 rpc-message.h
// p11_rpc_calls): 66 ids, each with the request and response signature that both ends
// compare byte for byte (§5.1). Kept as literal data so the types of decoded arguments
// and response values can be derived from the signatures (see message-types.ts).
import type { StructName } from './structs';

/** [id, name, request signature (null: never sent as a request), response signature]. */
export const CALL_TABLE = [
  [0, 'ERROR', null, 'u'],
  [1, 'C_Initialize', 'ayyay', ''],
  [2, 'C_Finalize', '', ''],
  [3, 'C_GetInfo', '', 'vsusv'],
  [4, 'C_GetSlotList', 'yfu', 'au'],
  [5, 'C_GetSlotInfo', 'u', 'ssuvv'],
  [6, 'C_GetTokenInfo', 'u', 'ssssuuuuuuuuuuuvvs'],
  [7, 'C_GetMechanismList', 'ufu', 'au'],
  [8, 'C_GetMechanismInfo', 'uu', 'uuu'],
  [9, 'C_InitToken', 'uayz', ''],
  [10, 'C_OpenSession', 'uu', 'u'],
  [11, 'C_CloseSession', 'u', ''],
  [12, 'C_CloseAllSessions', 'u', ''],
  [13, 'C_GetSessionInfo', 'u', 'uuuu'],
  [14, 'C_InitPIN', 'uay', ''],
  [15, 'C_SetPIN', 'uayay', ''],
  [16, 'C_GetOperationState', 'ufy', 'ay'],
  [17, 'C_SetOperationState', 'uayuu', ''],
  [18, 'C_Login', 'uuay', ''],
  [19, 'C_Logout', 'u', ''],
  [20, 'C_CreateObject', 'uaA', 'u'],
  [21, 'C_CopyObject', 'uuaA', 'u'],
  [22, 'C_DestroyObject', 'uu', ''],
  [23, 'C_GetObjectSize', 'uu', 'u'],
  [24, 'C_GetAttributeValue', 'uufA', 'aAu'],
  [25, 'C_SetAttributeValue', 'uuaA', ''],
  [26, 'C_FindObjectsInit', 'uaA', ''],
  [27, 'C_FindObjects', 'ufu', 'au'],
  [28, 'C_FindObjectsFinal', 'u', ''],
  [29, 'C_EncryptInit', 'uMu', ''],
  [30, 'C_Encrypt', 'uayfy', 'ay'],
  [31, 'C_EncryptUpdate', 'uayfy', 'ay'],
  [32, 'C_EncryptFinal', 'ufy', 'ay'],
  [33, 'C_DecryptInit', 'uMu', ''],
  [34, 'C_Decrypt', 'uayfy', 'ay'],
  [35, 'C_DecryptUpdate', 'uayfy', 'ay'],
  [36, 'C_DecryptFinal', 'ufy', 'ay'],
  [37, 'C_DigestInit', 'uM', ''],
  [38, 'C_Digest', 'uayfy', 'ay'],
  [39, 'C_DigestUpdate', 'uay', ''],
  [40, 'C_DigestKey', 'uu', ''],
  [41, 'C_DigestFinal', 'ufy', 'ay'],
  [42, 'C_SignInit', 'uMu', ''],
  [43, 'C_Sign', 'uayfy', 'ay'],
  [44, 'C_SignUpdate', 'uay', ''],
  [45, 'C_SignFinal', 'ufy', 'ay'],
  [46, 'C_SignRecoverInit', 'uMu', ''],
  [47, 'C_SignRecover', 'uayfy', 'ay'],
  [48, 'C_VerifyInit', 'uMu', ''],
  [49, 'C_Verify', 'uayay', ''],
  [50, 'C_VerifyUpdate', 'uay', ''],
  [51, 'C_VerifyFinal', 'uay', ''],
  [52, 'C_VerifyRecoverInit', 'uMu', ''],
  [53, 'C_VerifyRecover', 'uayfy', 'ay'],
  [54, 'C_DigestEncryptUpdate', 'uayfy', 'ay'],
  [55, 'C_DecryptDigestUpdate', 'uayfy', 'ay'],
  [56, 'C_SignEncryptUpdate', 'uayfy', 'ay'],
  [57, 'C_DecryptVerifyUpdate', 'uayfy', 'ay'],
  [58, 'C_GenerateKey', 'uMaA', 'u'],
  [59, 'C_GenerateKeyPair', 'uMaAaA', 'uu'],
  [60, 'C_WrapKey', 'uMuufy', 'ay'],
  [61, 'C_UnwrapKey', 'uMuayaA', 'u'],
  [62, 'C_DeriveKey', 'uMuaA', 'u'],
  [63, 'C_SeedRandom', 'uay', ''],
  [64, 'C_GenerateRandom', 'ufy', 'ay'],
  [65, 'C_WaitForSlotEvent', 'u', 'u'],
] as const;

type Row = (typeof CALL_TABLE)[number];
export type CallName = Row[1];
/** The names a client can send as a request (all but ERROR). */
export type RequestCallName = Exclude<CallName, 'ERROR'>;
export type RequestSignatureOf<N extends CallName> = Extract<Row, readonly [number, N, ...unknown[]]>[2];
export type ResponseSignatureOf<N extends CallName> = Extract<Row, readonly [number, N, ...unknown[]]>[3];
export type CallIdOf<N extends CallName> = Extract<Row, readonly [number, N, ...unknown[]]>[0];

/** One element of a signature (§5.2): a single letter, or `a`/`f` plus the element letter. */
export type SigToken = 'y' | 'u' | 'v' | 's' | 'z' | 'M' | 'ay' | 'au' | 'aA' | 'fy' | 'fu' | 'fA';
const TOKENS: ReadonlySet<string> = new Set<SigToken>(['y', 'u', 'v', 's', 'z', 'M', 'ay', 'au', 'aA', 'fy', 'fu', 'fA']);

export interface CallDef {
  readonly id: number;
  readonly name: CallName;
  readonly request: string | null;
  readonly response: string;
  readonly requestTokens: readonly SigToken[];
  readonly responseTokens: readonly SigToken[];
  /** Set when the response is one fixed structure (§5.7). */
  readonly responseStruct?: StructName;
}

/** §5.7: the calls whose whole response is one CK_* structure. */
const RESPONSE_STRUCTS: Readonly<Record<number, StructName>> = {
  3: 'CK_INFO', 5: 'CK_SLOT_INFO', 6: 'CK_TOKEN_INFO', 8: 'CK_MECHANISM_INFO', 13: 'CK_SESSION_INFO',
};

/** Splits a signature into tokens; `a` and `f` prefix the next letter (§5.2). */
export function parseSignature(sig: string): SigToken[] {
  const out: SigToken[] = [];
  for (let i = 0; i < sig.length; i++) {
    const tok = sig.slice(i, i + (sig[i] === 'a' || sig[i] === 'f' ? 2 : 1));
    i += tok.length - 1;
    if (!TOKENS.has(tok)) throw new Error(`unknown signature token ${JSON.stringify(tok)} in ${sig}`);
    out.push(tok as SigToken);
  }
  return out;
}

function toDef(row: Row): CallDef {
  const [id, name, request, response] = row;
  const def: CallDef = {
    id, name, request, response,
    requestTokens: Object.freeze(request === null ? [] : parseSignature(request)),
    responseTokens: Object.freeze(parseSignature(response)),
    ...(RESPONSE_STRUCTS[id] ? { responseStruct: RESPONSE_STRUCTS[id] } : {}),
  };
  return Object.freeze(def);
}

/** CALLS[id] is the call with that id (the table is dense, 0..65). */
export const CALLS: readonly CallDef[] = Object.freeze(CALL_TABLE.map(toDef));

/** Call ids by name: CALL.C_SignInit === 42. */
export const CALL = Object.freeze(
  Object.fromEntries(CALL_TABLE.map(([id, name]) => [name, id])),
) as { readonly [N in CallName]: CallIdOf<N> };

export function callById(id: number): CallDef | undefined {
  return Number.isInteger(id) && id >= 0 && id < CALLS.length ? CALLS[id] : undefined;
}

export function callByName(name: CallName): CallDef {
  return CALLS[CALL[name]];
}
