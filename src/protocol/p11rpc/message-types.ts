// Types of decoded request arguments and of response values, derived at compile time from
// the signatures in calls.ts (docs/p11kit-rpc.md §5.2, §6). A server that narrows a
// DecodedRequest on `name` gets its arguments as a typed tuple:
//   if (req.name === 'C_SignInit') { const [session, mechanism, key] = req.args; }
import type { Attribute, AttributeOut, AttributeRequest } from './attributes';
import type { CallIdOf, CallName, RequestCallName, RequestSignatureOf, ResponseSignatureOf } from './calls';
import type { Mechanism } from './mechanisms';
import type { BytesOutput, OutputBufferHint, UlongsOutput } from './outputs';
import type {
  CkInfo, CkMechanismInfo, CkSessionInfo, CkSlotInfo, CkTokenInfo, CkVersion, PaddedText, Ulong,
} from './structs';

/** What each signature token decodes to in a request. */
export interface RequestTokenTypes {
  y: number;                      // CK_BYTE / CK_BBOOL
  u: number;                      // CK_ULONG (refused above 2^53 - 1)
  v: CkVersion;
  s: Buffer | null;               // raw bytes of a fixed-size text field
  z: Buffer | null;               // strlen bytes of a C string (C_InitToken label, §10)
  M: Mechanism | null;            // null = NULL mechanism (0.25 cancel marker, §13)
  ay: Buffer | null;              // null = NULL pointer: present = 0, or the NULL marker
  au: number[] | null;
  aA: Attribute[];
  fy: OutputBufferHint;
  fu: OutputBufferHint;
  fA: AttributeRequest[];
}

/** What each signature token takes as a response value. */
export interface ResponseTokenTypes {
  y: number | boolean;
  u: Ulong;
  v: CkVersion;
  s: PaddedText;                  // blank-padded to the field's size by the encoder
  z: PaddedText;
  ay: BytesOutput;
  au: UlongsOutput;
  aA: readonly AttributeOut[];
  M: never;
  fy: never;
  fu: never;
  fA: never;
}

/** Tuple of the types of a signature's tokens: 'uMu' → [T['u'], T['M'], T['u']]. */
export type SignatureTypes<S extends string, T> =
  S extends '' ? [] :
  S extends `${infer P extends 'a' | 'f'}${infer C}${infer R}` ? [T[`${P}${C}` & keyof T], ...SignatureTypes<R, T>] :
  S extends `${infer C}${infer R}` ? [T[C & keyof T], ...SignatureTypes<R, T>] :
  never;

export type RequestArgs<N extends RequestCallName> = SignatureTypes<RequestSignatureOf<N> & string, RequestTokenTypes>;
export type ResponseValues<N extends CallName> = SignatureTypes<ResponseSignatureOf<N>, ResponseTokenTypes>;

/** Any decoded request argument. */
export type RequestArg = RequestTokenTypes[keyof RequestTokenTypes];

export type DecodedRequest = {
  [N in RequestCallName]: { readonly callId: CallIdOf<N>; readonly name: N; readonly args: RequestArgs<N> }
}[RequestCallName];

/** §5.7: the calls whose response may be given as one structure instead of its fields. */
export interface StructResponses {
  C_GetInfo: CkInfo;
  C_GetSlotInfo: CkSlotInfo;
  C_GetTokenInfo: CkTokenInfo;
  C_GetMechanismInfo: CkMechanismInfo;
  C_GetSessionInfo: CkSessionInfo;
}

type StructValuesOf<N> = N extends keyof StructResponses ? readonly [StructResponses[N]] : never;

/** A typed response: `{ callId: CALL.C_GetSlotList, values: [[0x11]] }`. */
export type ResponseMessage = {
  [N in RequestCallName]: {
    readonly callId: CallIdOf<N>;
    readonly values: ResponseValues<N> | Readonly<ResponseValues<N>> | StructValuesOf<N>;
  }
}[RequestCallName];
