// Public surface of the XKS proxy transport: what src/api/xks and the composition root may use.
export { XksError, internalError, validation } from './xks-error';
export type { XksErrorName } from './xks-error';
export { optionalBase64, requireBase64, requireEnum, optionalEnum, readRequestMetadata } from './shapes';
export type { XksInput, RequestMetadata } from './shapes';
export {
  XKS_SERVICE, XKS_MAX_SKEW_MS, XKS_MAX_BODY_BYTES, createXksHandler, readXksRequest, parseXksPath, checkStorePath,
} from './transport';
export type { XksOperation, XksRequest, XksHandlerOptions, XksSecretLookup, XksStorePaths } from './transport';
export { createXksServer, loadXksTlsOptions } from './listener';
export type { XksTlsOptions } from './listener';
