// The one error catalog: every failure the module reports has a stable code here, with the
// PKCS#11 return value and the AWS KMS error type/status each face maps it to.
// docs/errors.md is checked against this table by test/errors/catalog.test.ts.
import { CKR } from '../pkcs11/constants';

export interface ErrorSpec {
  /** Default human message; callers may give a more precise one (never with secrets). */
  message: string;
  /** HTTP status on the admin API. */
  status: number;
  ckr: number;
  kmsType: string;
  kmsStatus: number;
}

const spec = (message: string, status: number, ckr: number, kmsType: string, kmsStatus = status >= 500 ? 500 : 400): ErrorSpec =>
  ({ message, status, ckr, kmsType, kmsStatus });

export const ERRORS = {
  // Module state
  NOT_INITIALIZED: spec('the module is not initialised', 409, CKR.TOKEN_NOT_RECOGNIZED, 'KMSInvalidStateException', 409),
  ALREADY_INITIALIZED: spec('the module is already initialised', 409, CKR.GENERAL_ERROR, 'KMSInvalidStateException', 409),
  SEALED: spec('the module is sealed', 503, CKR.TOKEN_NOT_PRESENT, 'KeyUnavailableException', 500),
  ALREADY_UNSEALED: spec('the module is already unsealed', 409, CKR.GENERAL_ERROR, 'KMSInvalidStateException', 409),
  SELF_TEST_FAILED: spec('the module is in the error state: a power-up self-test failed', 503, CKR.DEVICE_ERROR, 'KMSInternalException', 500),
  SHARE_INVALID: spec('the unseal share is malformed', 400, CKR.ARGUMENTS_BAD, 'ValidationException'),
  SHARE_DUPLICATE: spec('this unseal share was already given', 400, CKR.ARGUMENTS_BAD, 'ValidationException'),
  SHARE_UNKNOWN: spec('this share is not one of this module\'s; the other shares given so far still count', 400, CKR.ARGUMENTS_BAD, 'ValidationException'),
  SHARES_WRONG: spec('the unseal shares do not reconstruct this module\'s master key; progress was reset', 400, CKR.PIN_INCORRECT, 'ValidationException'),
  // Authentication and authorisation
  AUTH_REQUIRED: spec('authentication required', 401, CKR.USER_NOT_LOGGED_IN, 'UnrecognizedClientException'),
  LOGIN_FAILED: spec('wrong username or password', 401, CKR.PIN_INCORRECT, 'UnrecognizedClientException'),
  ACCOUNT_LOCKED: spec('the account is locked after too many failed logins; a crypto officer must unlock it', 403, CKR.PIN_LOCKED, 'AccessDeniedException'),
  FORBIDDEN: spec('this role may not perform this operation', 403, CKR.USER_TYPE_INVALID, 'AccessDeniedException'),
  SESSION_EXPIRED: spec('the session expired; log in again', 401, CKR.USER_NOT_LOGGED_IN, 'UnrecognizedClientException'),
  SESSION_REVOKED: spec('the session was ended: the user was deleted, locked or changed its password; log in again', 401, CKR.USER_NOT_LOGGED_IN, 'UnrecognizedClientException'),
  LOGIN_THROTTLED: spec('too many failed attempts: wait a moment before trying again', 429, CKR.PIN_INCORRECT, 'ThrottlingException'),
  TOO_MANY_SESSIONS: spec('this user holds too many sessions; its oldest was ended, or log out elsewhere', 429, CKR.SESSION_COUNT, 'ThrottlingException'),
  CSRF_REJECTED: spec('the request was refused: a console (cookie) request that changes something must come from the console page itself, with its CSRF token', 403, CKR.USER_NOT_LOGGED_IN, 'AccessDeniedException'),
  // Users
  USER_NOT_FOUND: spec('no such user', 404, CKR.ARGUMENTS_BAD, 'NotFoundException', 404),
  USER_EXISTS: spec('a user with this name already exists', 409, CKR.ARGUMENTS_BAD, 'AlreadyExistsException', 409),
  USERNAME_INVALID: spec('usernames are 1-64 characters of letters, digits, ".", "_" and "-"', 400, CKR.ARGUMENTS_BAD, 'ValidationException'),
  PASSWORD_POLICY: spec('passwords must be 8 to 256 characters', 400, CKR.PIN_LEN_RANGE, 'ValidationException'),
  PARTITION_NOT_FOUND: spec('no such partition', 404, CKR.SLOT_ID_INVALID, 'NotFoundException', 404),
  PARTITION_EXISTS: spec('a partition with this name already exists', 409, CKR.ARGUMENTS_BAD, 'AlreadyExistsException', 409),
  LAST_OFFICER: spec('the last crypto officer cannot be deleted', 409, CKR.ACTION_PROHIBITED, 'KMSInvalidStateException', 409),
  // Objects and attributes
  KEY_NOT_FOUND: spec('no such key or object', 404, CKR.OBJECT_HANDLE_INVALID, 'NotFoundException', 404),
  LABEL_EXISTS: spec('you already have an object of this class with this label; choose another or allow duplicates', 409, CKR.ARGUMENTS_BAD, 'AlreadyExistsException', 409),
  QUOTA_EXCEEDED: spec('the object quota is reached', 403, CKR.DEVICE_MEMORY, 'LimitExceededException'),
  ACTION_PROHIBITED: spec('the object does not allow this action', 403, CKR.ACTION_PROHIBITED, 'KMSInvalidStateException', 409),
  KEY_AMBIGUOUS: spec('more than one object has this label; name it by id', 409, CKR.ARGUMENTS_BAD, 'ValidationException'),
  ATTRIBUTE_TYPE_INVALID: spec('attribute not valid for this object class', 400, CKR.ATTRIBUTE_TYPE_INVALID, 'ValidationException'),
  ATTRIBUTE_VALUE_INVALID: spec('attribute value has the wrong type or size', 400, CKR.ATTRIBUTE_VALUE_INVALID, 'ValidationException'),
  ATTRIBUTE_READ_ONLY: spec('this attribute may not be set or changed that way', 400, CKR.ATTRIBUTE_READ_ONLY, 'ValidationException'),
  ATTRIBUTE_SENSITIVE: spec('this attribute is sensitive and cannot be revealed', 403, CKR.ATTRIBUTE_SENSITIVE, 'AccessDeniedException'),
  TEMPLATE_INCOMPLETE: spec('a required attribute is missing', 400, CKR.TEMPLATE_INCOMPLETE, 'ValidationException'),
  TEMPLATE_INCONSISTENT: spec('the attributes given contradict each other', 400, CKR.TEMPLATE_INCONSISTENT, 'ValidationException'),
  OBJECT_NOT_MODIFIABLE: spec('the object is not modifiable', 403, CKR.ACTION_PROHIBITED, 'KMSInvalidStateException', 409),
  OBJECT_NOT_DESTROYABLE: spec('the object is not destroyable', 403, CKR.ACTION_PROHIBITED, 'KMSInvalidStateException', 409),
  NOT_OWNER: spec('only the owner of a key may manage it', 403, CKR.ACTION_PROHIBITED, 'AccessDeniedException'),
  KEY_UNEXTRACTABLE: spec('the key is not extractable', 403, CKR.KEY_UNEXTRACTABLE, 'KMSInvalidStateException', 409),
  KEY_NOT_WRAPPABLE: spec('the key cannot be wrapped with this wrapping key', 403, CKR.KEY_NOT_WRAPPABLE, 'KMSInvalidStateException', 409),
  STORE_CORRUPT: spec('a stored object failed its integrity check and was not used', 500, CKR.DEVICE_ERROR, 'KMSInternalException', 500),
  EXISTS: spec('it already exists', 409, CKR.ARGUMENTS_BAD, 'AlreadyExistsException', 409),
  STORE_CONFLICT: spec('the object changed concurrently; retry', 409, CKR.FUNCTION_FAILED, 'KMSInvalidStateException', 409),
  STORE_UNAVAILABLE: spec('the key store (database) cannot be reached right now; nothing was done, retry later', 503, CKR.DEVICE_ERROR, 'KMSInternalException', 500),
  // Mechanisms and operations
  MECHANISM_INVALID: spec('mechanism not supported', 400, CKR.MECHANISM_INVALID, 'UnsupportedOperationException'),
  MECHANISM_PARAM_INVALID: spec('mechanism parameters are invalid', 400, CKR.MECHANISM_PARAM_INVALID, 'ValidationException'),
  KEY_TYPE_INCONSISTENT: spec('the key type does not fit this mechanism', 400, CKR.KEY_TYPE_INCONSISTENT, 'InvalidKeyUsageException'),
  KEY_FUNCTION_NOT_PERMITTED: spec('the key\'s attributes do not allow this operation', 403, CKR.KEY_FUNCTION_NOT_PERMITTED, 'InvalidKeyUsageException'),
  MECHANISM_NOT_ALLOWED: spec('the key\'s allowed mechanisms exclude this mechanism', 403, CKR.MECHANISM_INVALID, 'InvalidKeyUsageException'),
  KEY_SIZE_RANGE: spec('key size out of the supported range', 400, CKR.KEY_SIZE_RANGE, 'ValidationException'),
  KEY_EXPIRED: spec('the key is outside its start/end dates', 403, CKR.KEY_FUNCTION_NOT_PERMITTED, 'KMSInvalidStateException', 409),
  KEY_NOT_YET_VALID: spec('the key version is not valid yet (before its not-before date)', 403, CKR.KEY_FUNCTION_NOT_PERMITTED, 'KMSInvalidStateException', 409),
  // Per-key authorisation and use limits (core/policy/key-limits.ts, docs/operators.md)
  KEY_USES_EXHAUSTED: spec('the key has been used as many times as it allows (its use counter is spent)', 403, CKR.KEY_FUNCTION_NOT_PERMITTED, 'KMSInvalidStateException', 409),
  KEY_USE_PERIOD_NOT_STARTED: spec('the key\'s usage period for this operation has not started', 403, CKR.KEY_FUNCTION_NOT_PERMITTED, 'KMSInvalidStateException', 409),
  KEY_USE_PERIOD_ENDED: spec('the key\'s usage period for this operation has ended', 403, CKR.KEY_FUNCTION_NOT_PERMITTED, 'KMSInvalidStateException', 409),
  KEY_AUTH_REQUIRED: spec('the key needs its own authentication for each operation (CKA_ALWAYS_AUTHENTICATE): give the key PIN', 401, CKR.USER_NOT_LOGGED_IN, 'AccessDeniedException'),
  KEY_AUTH_UNSUPPORTED: spec('the key needs its own authentication for each operation, which this face cannot carry; use it through PKCS#11 or the admin API', 403, CKR.USER_NOT_LOGGED_IN, 'UnsupportedOperationException'),
  KEY_PIN_INCORRECT: spec('the key PIN is wrong', 401, CKR.PIN_INCORRECT, 'AccessDeniedException'),
  KEY_PIN_LOCKED: spec('the key PIN is locked after too many wrong PINs; the key cannot be used with it any more (docs/operators.md)', 403, CKR.PIN_LOCKED, 'AccessDeniedException'),
  SHARE_SCOPE_DENIED: spec('the key was shared with you for other operations, or with a required encryption context this request does not carry', 403, CKR.KEY_FUNCTION_NOT_PERMITTED, 'AccessDeniedException'),
  KEY_ACCESS_DENIED: spec('the key\'s access list (key policy) does not allow this caller this action', 403, CKR.KEY_FUNCTION_NOT_PERMITTED, 'AccessDeniedException'),
  CURVE_NOT_SUPPORTED: spec('curve not supported', 400, CKR.CURVE_NOT_SUPPORTED, 'ValidationException'),
  DATA_LEN_RANGE: spec('input length is out of range for this mechanism', 400, CKR.DATA_LEN_RANGE, 'ValidationException'),
  DATA_INVALID: spec('input data is invalid for this mechanism', 400, CKR.DATA_INVALID, 'ValidationException'),
  ENCRYPTED_DATA_INVALID: spec('the ciphertext is invalid or was tampered with', 400, CKR.ENCRYPTED_DATA_INVALID, 'InvalidCiphertextException'),
  ENCRYPTED_DATA_LEN_RANGE: spec('the ciphertext length is invalid', 400, CKR.ENCRYPTED_DATA_LEN_RANGE, 'InvalidCiphertextException'),
  SIGNATURE_INVALID: spec('the signature does not verify', 400, CKR.SIGNATURE_INVALID, 'KMSInvalidSignatureException'),
  SIGNATURE_LEN_RANGE: spec('the signature has the wrong length', 400, CKR.SIGNATURE_LEN_RANGE, 'KMSInvalidSignatureException'),
  WRAPPED_KEY_INVALID: spec('the wrapped key is invalid', 400, CKR.WRAPPED_KEY_INVALID, 'InvalidCiphertextException'),
  WRAPPING_KEY_HANDLE_INVALID: spec('no such wrapping key', 400, CKR.WRAPPING_KEY_HANDLE_INVALID, 'NotFoundException'),
  UNWRAPPING_KEY_HANDLE_INVALID: spec('no such unwrapping key', 400, CKR.UNWRAPPING_KEY_HANDLE_INVALID, 'NotFoundException'),
  KEY_IMPORT_INVALID: spec('the key material could not be parsed', 400, CKR.ATTRIBUTE_VALUE_INVALID, 'IncorrectKeyMaterialException'),
  // PKCS#11 face: connection, session and operation state (PKCS#11 2.40 §5.1-§5.5)
  CRYPTOKI_NOT_INITIALIZED: spec('C_Initialize has not been called on this connection', 400, CKR.CRYPTOKI_NOT_INITIALIZED, 'ValidationException'),
  CRYPTOKI_ALREADY_INITIALIZED: spec('C_Initialize was already called on this connection', 400, CKR.CRYPTOKI_ALREADY_INITIALIZED, 'ValidationException'),
  SLOT_ID_INVALID: spec('no such slot', 400, CKR.SLOT_ID_INVALID, 'ValidationException'),
  SESSION_HANDLE_INVALID: spec('no such session', 400, CKR.SESSION_HANDLE_INVALID, 'ValidationException'),
  SESSION_READ_ONLY: spec('the session is read-only', 400, CKR.SESSION_READ_ONLY, 'ValidationException'),
  SESSION_PARALLEL_NOT_SUPPORTED: spec('sessions must be serial (CKF_SERIAL_SESSION)', 400, CKR.SESSION_PARALLEL_NOT_SUPPORTED, 'ValidationException'),
  SESSION_READ_ONLY_EXISTS: spec('a read-only session exists, so the security officer cannot log in', 400, CKR.SESSION_READ_ONLY_EXISTS, 'ValidationException'),
  SESSION_READ_WRITE_SO_EXISTS: spec('a security officer is logged in, so no read-only session can be opened', 400, CKR.SESSION_READ_WRITE_SO_EXISTS, 'ValidationException'),
  OPERATION_ACTIVE: spec('another operation is active in this session', 400, CKR.OPERATION_ACTIVE, 'ValidationException'),
  OPERATION_NOT_INITIALIZED: spec('no operation of this kind is active in this session', 400, CKR.OPERATION_NOT_INITIALIZED, 'ValidationException'),
  USER_ALREADY_LOGGED_IN: spec('this user is already logged in', 400, CKR.USER_ALREADY_LOGGED_IN, 'ValidationException'),
  USER_ANOTHER_ALREADY_LOGGED_IN: spec('another user is already logged in', 400, CKR.USER_ANOTHER_ALREADY_LOGGED_IN, 'ValidationException'),
  USER_TYPE_INVALID: spec('unknown PKCS#11 user type', 400, CKR.USER_TYPE_INVALID, 'ValidationException'),
  KEY_HANDLE_INVALID: spec('no such key', 400, CKR.KEY_HANDLE_INVALID, 'ValidationException'),
  KEY_INDIGESTIBLE: spec('the key cannot be digested', 400, CKR.KEY_INDIGESTIBLE, 'ValidationException'),
  RANDOM_SEED_NOT_SUPPORTED: spec('the module\'s generator cannot be seeded', 400, CKR.RANDOM_SEED_NOT_SUPPORTED, 'ValidationException'),
  NO_EVENT: spec('no slot event', 400, CKR.NO_EVENT, 'ValidationException'),
  // KMS keys, aliases, imports and access keys (the KMS face; key state also binds every other face)
  KEY_DISABLED: spec('the key is disabled', 403, CKR.KEY_FUNCTION_NOT_PERMITTED, 'DisabledException', 409),
  KEY_PENDING_DELETION: spec('the key is pending deletion', 403, CKR.KEY_FUNCTION_NOT_PERMITTED, 'KMSInvalidStateException', 409),
  KEY_STATE_INVALID: spec('the key is not in a state that allows this operation', 409, CKR.ACTION_PROHIBITED, 'KMSInvalidStateException', 409),
  KEY_PURGE_PROTECTED: spec('the deleted key is purge-protected until its retention period ends', 403, CKR.ACTION_PROHIBITED, 'KMSInvalidStateException', 409),
  POLICY_INVALID: spec('the key policy is malformed or uses something Inkan cannot enforce', 400, CKR.ARGUMENTS_BAD, 'MalformedPolicyDocumentException'),
  ALIAS_RESERVED: spec('this name is reserved', 403, CKR.ARGUMENTS_BAD, 'NotAuthorizedException'),
  ALIAS_EXISTS: spec('an alias with this name already exists', 409, CKR.ARGUMENTS_BAD, 'AlreadyExistsException', 409),
  INCORRECT_KEY: spec('the ciphertext was not encrypted under the key given', 400, CKR.KEY_HANDLE_INVALID, 'IncorrectKeyException'),
  MAC_INVALID: spec('the MAC does not verify', 400, CKR.SIGNATURE_INVALID, 'KMSInvalidMacException'),
  IMPORT_TOKEN_INVALID: spec('the import token is invalid or was not issued for this key', 400, CKR.ARGUMENTS_BAD, 'InvalidImportTokenException'),
  IMPORT_TOKEN_EXPIRED: spec('the import token has expired', 400, CKR.ARGUMENTS_BAD, 'ExpiredImportTokenException'),
  KEY_MATERIAL_INCORRECT: spec('the key material does not fit this key', 400, CKR.ARGUMENTS_BAD, 'IncorrectKeyMaterialException'),
  ACCESS_KEY_NOT_FOUND: spec('no such access key', 404, CKR.ARGUMENTS_BAD, 'NotFoundException', 404),
  // Requests
  BAD_REQUEST: spec('the request is malformed', 400, CKR.ARGUMENTS_BAD, 'ValidationException'),
  TAG_INVALID: spec('the tags are not valid (reserved key, or too many)', 400, CKR.ARGUMENTS_BAD, 'TagException'),
  MARKER_INVALID: spec('the paging marker is not valid', 400, CKR.ARGUMENTS_BAD, 'InvalidMarkerException'),
  NO_SUCH_ROUTE: spec('no such route', 404, CKR.FUNCTION_NOT_SUPPORTED, 'UnknownOperationException', 404),
  METHOD_NOT_ALLOWED: spec('method not allowed', 405, CKR.FUNCTION_NOT_SUPPORTED, 'UnknownOperationException', 405),
  REQUEST_TOO_LARGE: spec('the request is too large', 413, CKR.DATA_LEN_RANGE, 'ValidationException'),
  DEVICE_MEMORY: spec('the module has no room for this request now (a memory budget is spent); try again later', 503, CKR.DEVICE_MEMORY, 'KMSInternalException', 500),
  NOT_SUPPORTED: spec('operation not supported', 400, CKR.FUNCTION_NOT_SUPPORTED, 'UnsupportedOperationException'),
  BACKUP_INVALID: spec('the backup is truncated, edited or not an Inkan backup; nothing was changed', 400, CKR.DATA_INVALID, 'ValidationException'),
  BACKUP_FOREIGN: spec('the backup belongs to another module (other unseal shares); nothing was changed', 400, CKR.DATA_INVALID, 'ValidationException'),
  CONFIRMATION_REQUIRED: spec('this operation must be confirmed twice', 400, CKR.ARGUMENTS_BAD, 'ValidationException'),
  AUDIT_TAMPERED: spec('the audit trail in the store was cut or changed behind the module; it refuses to serve', 503, CKR.DEVICE_ERROR, 'KMSInternalException', 500),
  DOMAIN_MISSING: spec('the store does not hold this module\'s domain (emptied or replaced)', 503, CKR.TOKEN_NOT_RECOGNIZED, 'KMSInternalException', 500),
  BUSY: spec('the module is busy; retry shortly', 503, CKR.DEVICE_MEMORY, 'KMSInternalException', 500),
  AUDIT_FAILED: spec('the audit record could not be written, so the operation was refused', 503, CKR.DEVICE_ERROR, 'KMSInternalException', 500),
  INTERNAL: spec('internal error', 500, CKR.GENERAL_ERROR, 'KMSInternalException', 500),
} as const satisfies Record<string, ErrorSpec>;

export type ErrorCode = keyof typeof ERRORS;
