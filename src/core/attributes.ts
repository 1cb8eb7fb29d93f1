// What the faces need to know of attribute values (to decode them from their wire forms):
// the value types and the kind of value each attribute type holds. The rules themselves —
// who may set or change what — stay in policy/ and are applied by the core alone.
import { CKK, CKO } from '../pkcs11/constants';
import { AttrKind, AttrValue, rulesFor } from './policy/attributes';

export type { AttrKind, AttrValue };
export type { KeyUse } from './policy/gate';

/** One kind per attribute type, gathered from every class's rule table (the kinds agree across classes). */
const KIND_BY_TYPE: ReadonlyMap<number, AttrKind> = (() => {
  const out = new Map<number, AttrKind>();
  const combos: [number, number | undefined][] = [[CKO.DATA, undefined], [CKO.CERTIFICATE, undefined]];
  for (const cls of [CKO.PUBLIC_KEY, CKO.PRIVATE_KEY, CKO.SECRET_KEY]) for (const kt of Object.values(CKK)) combos.push([cls, kt]);
  for (const [cls, kt] of combos) for (const [t, r] of rulesFor(cls, kt) ?? []) out.set(t, r.kind);
  return out;
})();

/** The kind of value an attribute type holds, or undefined for a type no object class has. */
export function attributeKind(type: number): AttrKind | undefined {
  return KIND_BY_TYPE.get(type);
}
