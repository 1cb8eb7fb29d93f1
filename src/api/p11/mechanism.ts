// CK_MECHANISM from the wire (protocol/p11rpc Mechanism) to the core's mechanism type and
// MechParams (PKCS#11 2.40 CK_*_PARAMS). Whether the values make sense is the mechanism's call.
import { HsmError } from '../../errors/hsm-error';
import type { MechParams } from '../../mechanisms/types';
import type { Mechanism } from '../../protocol/p11rpc';

export interface Mech { type: number; params: MechParams }

export function mechFromWire(m: Mechanism | null): Mech {
  if (m === null) throw new HsmError('MECHANISM_INVALID', 'no mechanism');
  const p = m.params;
  if (p === null) return { type: m.type, params: {} };
  const copy = (b: Buffer | null) => (b ? Buffer.from(b) : undefined);
  switch (p.kind) {
    case 'bytes': return { type: m.type, params: { iv: copy(p.bytes) } };
    case 'rsa-pkcs-pss': return { type: m.type, params: { hashAlg: p.hashAlg, mgf: p.mgf, saltLength: p.sLen } };
    case 'rsa-pkcs-oaep': return { type: m.type, params: { hashAlg: p.hashAlg, mgf: p.mgf, label: copy(p.sourceData) } };
    case 'gcm': return { type: m.type, params: { iv: copy(p.iv), aad: copy(p.aad), tagBits: p.tagBits } };
    case 'aes-ctr': return { type: m.type, params: { iv: copy(p.cb), counterBits: p.counterBits } };
    case 'ecdh1-derive': return { type: m.type, params: { publicData: copy(p.publicData) } };
    case 'mac-general': throw new HsmError('MECHANISM_INVALID', 'general-length MACs are not supported');
  }
}
