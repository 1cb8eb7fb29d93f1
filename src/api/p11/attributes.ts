// Attribute values between the wire (protocol/p11rpc Attribute, classed by type, §5.5 of
// docs/p11kit-rpc.md) and the core's typed AttrValue (kinds from core/policy/attributes.ts):
// CK_BBOOL ⇄ boolean, CK_ULONG ⇄ number, byte arrays ⇄ Buffer, UTF-8 text ⇄ string,
// CK_DATE "YYYYMMDD" or empty ⇄ string, CK_MECHANISM_TYPE[] ⇄ number[].
import { HsmError } from '../../errors/hsm-error';
import { attributeKind, type AttrKind, type AttrValue } from '../../core/attributes';
import type { Template } from '../../core/templates';
import {
  attrBool, attrUlong, makeAttribute, nativeSize, UNTRANSPORTABLE_ATTRIBUTE_TYPES,
  type Attribute, type AttributeOut,
} from '../../protocol/p11rpc';

export function kindOf(type: number): AttrKind | undefined {
  return attributeKind(type);
}

const invalid = (type: number, why: string): never => {
  throw new HsmError('ATTRIBUTE_VALUE_INVALID', `attribute 0x${type.toString(16)}: ${why}`);
};

/** One wire attribute as the core's value. Unknown types keep their raw bytes (they then match or fail in the core). */
export function valueFromWire(a: Attribute): AttrValue {
  if (UNTRANSPORTABLE_ATTRIBUTE_TYPES.has(a.type)) throw new HsmError('ATTRIBUTE_TYPE_INVALID', 'templates inside templates cannot travel over p11-kit 0.24.1');
  if (a.kind === 'unavailable') return invalid(a.type, 'no value');
  const kind = kindOf(a.type);
  const bytes = (): Buffer => (a.kind === 'bytes' || a.kind === 'date') && a.value ? Buffer.from(a.value) : Buffer.alloc(0);
  switch (kind) {
    case 'bool': return attrBool(a) ?? invalid(a.type, 'not a CK_BBOOL');
    case 'ulong': return attrUlong(a) ?? invalid(a.type, 'not a CK_ULONG');
    case 'string': return bytes().toString('utf8');
    case 'date': {
      const text = bytes().toString('latin1');
      return text === '' || /^\d{8}$/.test(text) ? text : invalid(a.type, 'not a CK_DATE');
    }
    case 'mechs': return a.kind === 'mechanisms' ? [...a.value] : invalid(a.type, 'not a mechanism list');
    default: return bytes();
  }
}

export function templateFromWire(attrs: readonly Attribute[]): Template {
  const t: Template = new Map();
  for (const a of attrs) t.set(a.type, valueFromWire(a));
  return t;
}

/** The wire form of a core value for a response (§8.2: the value's class follows the type). */
export function valueToWire(type: number, value: AttrValue): AttributeOut {
  if (typeof value === 'string') {
    // Dates travel as 0 or 8 ASCII bytes, labels and application names as UTF-8.
    return makeAttribute(type, Buffer.from(value, kindOf(type) === 'date' ? 'latin1' : 'utf8'));
  }
  return makeAttribute(type, value);
}

/** N of §8.2: the size the value occupies in the application's memory. */
export function wireSize(a: AttributeOut): number {
  return nativeSize(a);
}
