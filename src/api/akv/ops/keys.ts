// Create, import, get, update and list keys (Key Vault "Keys - Create Key", "Import Key",
// "Get Key", "Update Key", "Get Keys", "Get Key Versions").
import type { KeyKind, KeyUse, NewKeyAttributes } from '../../key-port';
import {
  badParameter, optionalBoolean, optionalDate, optionalEnum, optionalInteger, optionalObject, optionalStringList,
  optionalTags, requireEnum, type AkvInput,
} from '../../../protocol/akv';
import { AES_SIZES, CURVE_BY_CRV, KTYS, RSA_SIZES, usesOf, USES_BY_TYPE } from '../algorithms';
import { keyBundle, keyItem } from '../bundle';
import { ok, pageBody, pageRequest, refOf, type AkvOperation } from '../context';
import { readImportJwk, zeroMaterial } from '../jwk';

const CRVS = Object.keys(CURVE_BY_CRV);

function kindOf(input: AkvInput): KeyKind {
  const kty = requireEnum(input, 'kty', KTYS);
  const size = optionalInteger(input, 'key_size', 0, 16384);
  if (kty === 'RSA' || kty === 'RSA-HSM') {
    if (input.crv !== undefined && input.crv !== null) throw badParameter("'crv' applies to EC keys only.");
    const bits = size ?? 2048;
    if (!(RSA_SIZES as readonly number[]).includes(bits)) throw badParameter('RSA keys must be 2048, 3072 or 4096 bits.');
    const publicExponent = optionalInteger(input, 'public_exponent', 3, 2 ** 31) ?? 65537;
    if (publicExponent !== 65537) throw badParameter('The public exponent must be 65537.');
    return { type: 'rsa', bits: bits as 2048 | 3072 | 4096, publicExponent };
  }
  if (kty === 'EC' || kty === 'EC-HSM') {
    if (size !== undefined) throw badParameter("'key_size' does not apply to EC keys; give 'crv'.");
    const crv = optionalEnum(input, 'crv', CRVS) ?? 'P-256';
    return { type: 'ec', curve: CURVE_BY_CRV[crv] };
  }
  const bits = size ?? 256;
  if (!(AES_SIZES as readonly number[]).includes(bits)) throw badParameter('oct-HSM keys must be 128, 192 or 256 bits.');
  return { type: 'aes', bits: bits as 128 | 192 | 256 };
}

/** `attributes` as far as a caller may set them; Inkan keys are never exportable. */
function readAttributes(input: AkvInput): { enabled?: boolean; notBefore?: Date; expiresAt?: Date } {
  const a = optionalObject(input, 'attributes') ?? {};
  if (optionalBoolean(a, 'exportable') === true) throw badParameter('Exportable keys are not offered: keys never leave the module.');
  const out = { enabled: optionalBoolean(a, 'enabled'), notBefore: optionalDate(a, 'nbf'), expiresAt: optionalDate(a, 'exp') };
  if (out.notBefore && out.expiresAt && out.notBefore >= out.expiresAt) throw badParameter("'nbf' must be earlier than 'exp'.");
  return out;
}

function readUses(input: AkvInput, type: KeyKind['type']): KeyUse[] | undefined {
  const ops = optionalStringList(input, 'key_ops', 8);
  if (ops === undefined) return undefined;
  const uses = usesOf(ops, type);
  if (!Array.isArray(uses)) throw badParameter(`The key operation '${uses.refused.slice(0, 20)}' is not valid for this key type.`);
  return uses;
}

function refuseReleasePolicy(input: AkvInput): void {
  if (input.release_policy !== undefined && input.release_policy !== null) {
    throw badParameter('Key release policies (secure key release) are not supported.');
  }
}

function newAttributes(input: AkvInput, type: KeyKind['type']): NewKeyAttributes {
  refuseReleasePolicy(input);
  return { ...readAttributes(input), uses: readUses(input, type) ?? USES_BY_TYPE[type], tags: optionalTags(input) };
}

export const createKey: AkvOperation = async (ctx) => {
  const kind = kindOf(ctx.req.input);
  const v = await ctx.port.createKey(ctx.call, ctx.req.name!, kind, newAttributes(ctx.req.input, kind.type));
  return ok(keyBundle(ctx.req.vaultUrl, v));
};

export const importKey: AkvOperation = async (ctx) => {
  const input = ctx.req.input;
  const jwk = optionalObject(input, 'key');
  if (jwk === undefined) throw badParameter("Property 'key' is required.");
  optionalBoolean(input, 'Hsm'); // every key is in the module whatever the caller asks
  const { material, uses } = readImportJwk(jwk);
  try {
    const attrs = newAttributes(input, material.type);
    const v = await ctx.port.importKey(ctx.call, ctx.req.name!, material, { ...attrs, uses: uses ?? attrs.uses });
    return ok(keyBundle(ctx.req.vaultUrl, v));
  } finally {
    zeroMaterial(material); // the port zeroes too; this covers refusals before it was reached
  }
};

export const getKey: AkvOperation = async (ctx) => ok(keyBundle(ctx.req.vaultUrl, await ctx.port.getKey(ctx.call, refOf(ctx))));

export const updateKey: AkvOperation = async (ctx) => {
  const input = ctx.req.input;
  refuseReleasePolicy(input);
  const ref = refOf(ctx);
  const ops = optionalStringList(input, 'key_ops', 8);
  const attrs = readAttributes(input);
  const tags = optionalTags(input);
  let uses: KeyUse[] | undefined;
  if (ops !== undefined) {
    const current = await ctx.port.getKey(ctx.call, ref);
    uses = readUses(input, current.kind.type);
  }
  const v = await ctx.port.updateKey(ctx.call, ref, { ...attrs, uses, tags });
  return ok(keyBundle(ctx.req.vaultUrl, v));
};

export const listKeys: AkvOperation = async (ctx) => {
  const page = pageRequest(ctx);
  const result = await ctx.port.listKeys(ctx.call, page);
  return pageBody(ctx, '/keys', result, page.limit, (v) => keyItem(ctx.req.vaultUrl, v, false));
};

export const listKeyVersions: AkvOperation = async (ctx) => {
  const page = pageRequest(ctx);
  const name = ctx.req.name!;
  const result = await ctx.port.listVersions(ctx.call, name, page);
  return pageBody(ctx, `/keys/${name}/versions`, result, page.limit, (v) => keyItem(ctx.req.vaultUrl, v, true));
};
