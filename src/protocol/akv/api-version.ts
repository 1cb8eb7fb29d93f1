// The api-version values the Key Vault face accepts: those @azure/keyvault-keys 4.10 knows
// (models.js KnownVersions; its default is the newest). Others are refused as Key Vault does.
import { badParameter, type AkvError } from './akv-error';

export const API_VERSIONS = ['7.5', '7.6-preview.2', '7.6', '2025-07-01'] as const;
export type ApiVersion = (typeof API_VERSIONS)[number];
export const LATEST_API_VERSION: ApiVersion = '2025-07-01';

export function checkApiVersion(value: string | null): ApiVersion {
  if (value === null || value === '') {
    throw badParameter(`The 'api-version' query parameter is required; the latest supported version is ${LATEST_API_VERSION}.`);
  }
  if (!(API_VERSIONS as readonly string[]).includes(value)) throw unknownVersion(value);
  return value as ApiVersion;
}

function unknownVersion(value: string): AkvError {
  const shown = /^[0-9A-Za-z.-]{1,32}$/.test(value) ? value : '…';
  return badParameter(`The specified version (${shown}) is not recognized. Consider using the latest supported version (${LATEST_API_VERSION}).`);
}
