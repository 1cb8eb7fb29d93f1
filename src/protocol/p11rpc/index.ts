// Public API of the p11-kit RPC codec (docs/p11kit-rpc.md): framing, bounded reader and
// writer, the call table, and typed request decoding / response encoding. No PKCS#11
// semantics live here; src/api/p11 builds the server on top of this.
export { ProtocolError, type ProtocolErrorKind } from './protocol-error';
export { Reader, DEFAULT_READER_LIMITS, NULL_BYTE_ARRAY, type ReaderLimits } from './reader';
export { Writer } from './writer';
export {
  FrameDecoder, encodeFrame, negotiateVersion, versionReply,
  PROTOCOL_VERSION, FRAME_HEADER_LENGTH, DEFAULT_MAX_FRAME_SIZE, DEFAULT_MAX_OPTIONS_LENGTH,
  type Frame, type FrameDecoderOptions,
} from './framing';
export {
  CALLS, CALL, CALL_TABLE, callById, callByName, parseSignature,
  type CallDef, type CallName, type RequestCallName, type SigToken,
} from './calls';
export {
  attributeClass, makeAttribute, unavailableAttribute, nativeUlong, nativeSize,
  attrBool, attrUlong, attrBytes, readAttribute, readAttributeArray, readAttributeRequests,
  writeAttribute, writeAttributeArray,
  UNTRANSPORTABLE_ATTRIBUTE_TYPES,
  type Attribute, type AttributeOut, type AttributeRequest, type AttributeClass,
} from './attributes';
export {
  readMechanism, paramsOfKind, NULL_MECHANISM, STRUCTURED_PARAM_MECHANISMS,
  type Mechanism, type MechanismParams,
} from './mechanisms';
export {
  fitBytes, fitUlongs, lengthOnly, countOnly, isLengthOnly,
  type OutputBufferHint, type BytesOutput, type UlongsOutput,
} from './outputs';
export {
  STRUCT_LAYOUTS, CK_UNAVAILABLE_INFORMATION, CK_EFFECTIVELY_INFINITE, padText, blankPad, structValues,
  type CkVersion, type CkInfo, type CkSlotInfo, type CkTokenInfo, type CkMechanismInfo, type CkSessionInfo,
  type PaddedText, type Ulong, type StructName, type StructTypes,
} from './structs';
export {
  decodeRequest, decodeRequestLayout, encodeRequestBody, encodeResponse, encodeResponseValues, encodeResponseFrame, encodeErrorResponse, isRpcHandshake,
  ERROR_CALL_ID, RPC_HANDSHAKE, type RequestLayout,
} from './message';
export type {
  DecodedRequest, RequestArgs, RequestArg, ResponseValues, ResponseMessage, StructResponses,
} from './message-types';
