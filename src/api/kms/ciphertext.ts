// Inkan's symmetric ciphertext blob. Opaque to clients (AWS does not document its own), it
// carries what Decrypt needs and binds it, with the encryption context, as GCM AAD:
//   "IK" ‖ format 0x01 ‖ key id (16-byte UUID) ‖ version index (u16) ‖ IV (12) ‖ ciphertext ‖ tag (16)
import { HsmError } from '../../errors/hsm-error';

const MAGIC = Buffer.from([0x49, 0x4b, 0x01]);
export const HEADER_LEN = MAGIC.length + 16 + 2;
export const IV_LEN = 12;
export const TAG_LEN = 16;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export interface BlobHeader { keyId: string; version: number; header: Buffer }

export function isUuid(id: string): boolean { return UUID.test(id); }

export function blobHeader(keyId: string, version: number): Buffer {
  if (!isUuid(keyId) || version > 0xffff) throw new HsmError('INTERNAL');
  const v = Buffer.alloc(2);
  v.writeUInt16BE(version);
  return Buffer.concat([MAGIC, Buffer.from(keyId.replace(/-/g, ''), 'hex'), v]);
}

/** Undefined if the bytes are not an Inkan symmetric blob (they may be an RSA ciphertext). */
export function parseBlob(blob: Buffer): (BlobHeader & { iv: Buffer; body: Buffer }) | undefined {
  if (blob.length < HEADER_LEN + IV_LEN + TAG_LEN || !blob.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
  const hex = blob.subarray(MAGIC.length, MAGIC.length + 16).toString('hex');
  const keyId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return {
    keyId, version: blob.readUInt16BE(MAGIC.length + 16), header: blob.subarray(0, HEADER_LEN),
    iv: blob.subarray(HEADER_LEN, HEADER_LEN + IV_LEN), body: blob.subarray(HEADER_LEN + IV_LEN),
  };
}

/** AAD = header ‖ canonical encryption context (pairs sorted by key, JSON), so any change fails the tag. */
export function aadFor(header: Buffer, context: Record<string, string> | undefined): Buffer {
  const pairs = Object.entries(context ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Buffer.concat([header, Buffer.from(JSON.stringify(pairs), 'utf8')]);
}
