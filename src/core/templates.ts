// Creation templates and attribute changes, applying the rules in policy/attributes.ts
// (PKCS#11 2.40 §4.1.1-4.1.3: template checks; §4.4 table 10 footnotes: change rules).
import { attributeName, CKA, CKO } from '../pkcs11/constants';
import { HsmError } from '../errors/hsm-error';
import { AttrValue, defaultsFor, rulesFor, valueFits } from './policy/attributes';

export type Template = Map<number, AttrValue>;

/** Checks a caller's template for a new object of `cls`/`keyType` and returns defaults ∪ template.
 *  Secret attributes stay in the result; the caller moves them into the sealed value. */
export function buildAttributes(cls: number, keyType: number | undefined, template: Template): Map<number, AttrValue> {
  const rules = rulesFor(cls, keyType);
  if (!rules) throw new HsmError('TEMPLATE_INCONSISTENT', 'unsupported object class or key type');
  for (const [type, value] of template) {
    const rule = rules.get(type);
    if (!rule) throw new HsmError('ATTRIBUTE_TYPE_INVALID', `${attributeName(type)} is not valid for this object`);
    if (!rule.settable) throw new HsmError('ATTRIBUTE_READ_ONLY', `${attributeName(type)} is set by the module`);
    if (!valueFits(rule.kind, value)) throw new HsmError('ATTRIBUTE_VALUE_INVALID', `${attributeName(type)} has the wrong type or size`);
  }
  if (template.has(CKA.CLASS) && template.get(CKA.CLASS) !== cls) throw new HsmError('TEMPLATE_INCONSISTENT', 'CKA_CLASS contradicts the operation');
  if (keyType !== undefined && template.has(CKA.KEY_TYPE) && template.get(CKA.KEY_TYPE) !== keyType) {
    throw new HsmError('TEMPLATE_INCONSISTENT', 'CKA_KEY_TYPE contradicts the mechanism');
  }
  const attrs = defaultsFor(cls);
  for (const [t, v] of template) attrs.set(t, v);
  attrs.set(CKA.CLASS, cls);
  if (keyType !== undefined) attrs.set(CKA.KEY_TYPE, keyType);
  return attrs;
}

/** Sets the attributes only the module sets, for a key created inside it (local) or brought in. */
export function markOrigin(attrs: Map<number, AttrValue>, local: boolean, genMechanism?: number): void {
  const cls = attrs.get(CKA.CLASS);
  if (cls === CKO.PRIVATE_KEY || cls === CKO.SECRET_KEY || cls === CKO.PUBLIC_KEY) {
    attrs.set(CKA.LOCAL, local);
    if (genMechanism !== undefined) attrs.set(CKA.KEY_GEN_MECHANISM, genMechanism);
  }
  if (cls === CKO.PRIVATE_KEY || cls === CKO.SECRET_KEY) {
    // §4.9: ALWAYS_SENSITIVE / NEVER_EXTRACTABLE hold only for keys born inside with those settings.
    attrs.set(CKA.ALWAYS_SENSITIVE, local && attrs.get(CKA.SENSITIVE) === true);
    attrs.set(CKA.NEVER_EXTRACTABLE, local && attrs.get(CKA.EXTRACTABLE) === false);
  }
}

/** Attributes C_CopyObject may change even though C_SetAttributeValue may not (PKCS#11 2.40 §4.4 table 10, footnote 8). */
const COPY_MAY_SET = new Set<number>([CKA.TOKEN, CKA.PRIVATE, CKA.MODIFIABLE]);

/** Applies C_SetAttributeValue changes (or C_CopyObject's, with `copy`) after checking every one first (all or nothing). */
export function applyChanges(cls: number, keyType: number | undefined, attrs: Map<number, AttrValue>, changes: Template, opts: { copy?: boolean } = {}): void {
  const rules = rulesFor(cls, keyType)!;
  if (!opts.copy && attrs.get(CKA.MODIFIABLE) === false) throw new HsmError('OBJECT_NOT_MODIFIABLE');
  for (const [type, value] of changes) {
    const rule = rules.get(type);
    if (!rule) throw new HsmError('ATTRIBUTE_TYPE_INVALID', `${attributeName(type)} is not valid for this object`);
    if (!valueFits(rule.kind, value)) throw new HsmError('ATTRIBUTE_VALUE_INVALID', `${attributeName(type)} has the wrong type or size`);
    const current = attrs.get(type);
    const same = current === value || (Buffer.isBuffer(current) && Buffer.isBuffer(value) && current.equals(value));
    if (same) continue;
    const ok = rule.change === 'any' || (rule.change === 'toFalse' && value === false) || (rule.change === 'toTrue' && value === true)
      || (opts.copy === true && COPY_MAY_SET.has(type));
    if (!ok) throw new HsmError('ATTRIBUTE_READ_ONLY', `${attributeName(type)} cannot be changed that way`);
  }
  for (const [type, value] of changes) attrs.set(type, value);
}
