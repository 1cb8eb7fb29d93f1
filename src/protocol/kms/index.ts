// Public surface of the KMS transport: what src/api/kms and main.ts may use.
export { KmsError, statusForType, internalError } from './kms-error';
export {
  SIGV4_ALGORITHM, DEFAULT_MAX_SKEW_MS, SIGNATURE_MISMATCH_MESSAGE, UNRECOGNIZED_CLIENT_MESSAGE,
  verifySigV4, parseAuthorization, canonicalRequest, canonicalUri, canonicalQuery, canonicalHeaders,
  stringToSign, signingKey, computeSignature, SigningKeyCache, parseAmzDate, formatAmzDate,
} from './sigv4';
export type { SecretLookup, SecretRecord, SignedRequest, VerifyOptions, VerifiedCaller, ParsedAuthorization } from './sigv4';
export {
  KMS_CONTENT_TYPE, KMS_TARGET_PREFIX, DEFAULT_MAX_BODY_BYTES,
  createKmsHandler, readKmsRequest, writeKmsResponse, writeKmsError, newRequestId,
} from './transport';
export type { KmsRequest, KmsDispatch, KmsTransportOptions, KmsHandlerOptions } from './transport';
export {
  requireString, optionalString, requireBlob, optionalBlob, requireInteger, optionalInteger,
  requireEnum, optionalEnum, optionalBoolean, optionalStringMap, optionalStringList, optionalTimestamp,
  writeBlob, writeTimestamp, validationError,
} from './shapes';
export type { KmsInput, LengthRule, StringRule, MapRule, ListRule } from './shapes';
