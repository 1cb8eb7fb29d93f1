// How Inkan binds a key version to an XKS ciphertext. The version travels in ciphertextMetadata
// (spec "Encrypt": up to 20 bytes of vendor data) and is authenticated by folding it into the
// GCM AAD with explicit lengths, exactly as the spec directs:
//   AAD' = uint16be(len(aad)) ‖ aad ‖ uint8(len(metadata)) ‖ metadata
// The CDIV is SHA-256(aad ‖ metadata ‖ iv ‖ ciphertext ‖ tag) (spec Appendix C).
import { digest } from '../../crypto/node-crypto';

/** Format 1: one byte 0x01, then the 16 bytes of the 32-hex-digit version id. 17 bytes ≤ 20. */
const FORMAT_V1 = 0x01;
export const METADATA_BYTES = 17;

export function encodeMetadata(version: string): Buffer {
  return Buffer.concat([Buffer.from([FORMAT_V1]), Buffer.from(version, 'hex')]);
}

/** The version a metadata blob names, or undefined when it is not Inkan's format 1. */
export function decodeMetadata(md: Buffer | undefined): string | undefined {
  if (md === undefined || md.length !== METADATA_BYTES || md[0] !== FORMAT_V1) return undefined;
  return md.subarray(1).toString('hex');
}

export function gcmAad(aad: Buffer | undefined, md: Buffer): Buffer {
  const a = aad ?? Buffer.alloc(0);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(a.length);
  return Buffer.concat([len, a, Buffer.from([md.length]), md]);
}

export function cdiv(aad: Buffer | undefined, md: Buffer, iv: Buffer, ciphertext: Buffer, tag: Buffer): Buffer {
  return digest('sha256', Buffer.concat([aad ?? Buffer.alloc(0), md, iv, ciphertext, tag]));
}
