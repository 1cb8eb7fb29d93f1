// CreateGrant, ListGrants, ListRetirableGrants, RetireGrant, RevokeGrant over the core's scoped
// sharing (core/managed-key-grants.ts, this branch's own rule until the core's general scoped
// sharing lands): a grant shares the key with a crypto user of this account and holds that user
// to the granted operations on every face. Constraints (encryption-context conditions) have no
// face-neutral form yet and are refused, as are grants that delegate CreateGrant. Grant tokens
// name the grant; grants take effect at once, so GrantTokens members are accepted and not needed.
import { HsmError } from '../../../errors/hsm-error';
import type { KeyAccessAction, KeyGrant, ManagedKey } from '../../../core/managed-keys';
import {
  KmsError, optionalInteger, optionalString, optionalStringList, requireString, writeTimestamp, type KmsInput,
} from '../../../protocol/kms';
import { inputKey, type KmsOperation, type OpContext } from '../context';
import { keyArn } from '../arns';
import { decodeMarker, encodeMarker } from './list-keys';

const OPERATIONS: Readonly<Record<string, KeyAccessAction>> = {
  Decrypt: 'decrypt', Encrypt: 'encrypt', GenerateDataKey: 'encrypt', GenerateDataKeyWithoutPlaintext: 'encrypt',
  GenerateDataKeyPair: 'encrypt', GenerateDataKeyPairWithoutPlaintext: 'encrypt', ReEncryptFrom: 'decrypt', ReEncryptTo: 'encrypt',
  Sign: 'sign', Verify: 'verify', GenerateMac: 'sign', VerifyMac: 'verify', DeriveSharedSecret: 'derive',
  DescribeKey: 'describe', GetPublicKey: 'describe', RetireGrant: 'describe',
};
const NAME = /^[a-zA-Z0-9:/_-]{1,256}$/;

async function userOf(ctx: OpContext, arn: string, member: string): Promise<string> {
  const m = /^arn:aws:iam::(\d{12}):user\/([A-Za-z0-9._-]{1,64})$/.exec(arn);
  if (!m || m[1] !== ctx.account) throw new HsmError('BAD_REQUEST', `${member} must be a user of this account: arn:aws:iam::${ctx.account}:user/<name>`);
  const user = await ctx.hsm.users.find(ctx.caller.partition, m[2]);
  if (!user) throw new HsmError('BAD_REQUEST', `${member}: there is no such user in this account`);
  return user.id;
}

async function arnOfUser(ctx: OpContext, id: string | undefined): Promise<string | undefined> {
  if (id === undefined) return undefined;
  return `arn:aws:iam::${ctx.account}:user/${(await ctx.hsm.users.byId(id))?.username ?? id}`;
}

const tokenOf = (keyId: string, grantId: string) => Buffer.from(JSON.stringify(['inkan-grant', keyId, grantId])).toString('base64url');
function readToken(token: string): { keyId: string; grantId: string } {
  try {
    const [tag, keyId, grantId] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as string[];
    if (tag === 'inkan-grant' && typeof keyId === 'string' && /^[0-9a-f]{64}$/.test(grantId)) return { keyId, grantId };
  } catch { /* falls through */ }
  throw new KmsError('InvalidGrantTokenException', 'The grant token is not valid.');
}

async function listEntry(ctx: OpContext, key: ManagedKey, g: KeyGrant): Promise<Record<string, unknown>> {
  return {
    KeyId: keyArn(ctx.region, ctx.account, key.id), GrantId: g.id, Name: g.name, CreationDate: writeTimestamp(g.created),
    GranteePrincipal: await arnOfUser(ctx, g.grantee), RetiringPrincipal: await arnOfUser(ctx, g.retiring),
    IssuingAccount: `arn:aws:iam::${ctx.account}:root`, Operations: g.labels ?? [],
  };
}

function page<T>(input: KmsInput, items: T[], idOf: (t: T) => string): { items: T[]; Truncated: boolean; NextMarker?: string } {
  const limit = optionalInteger(input, 'Limit', { min: 1, max: 100 }) ?? 50;
  const marker = decodeMarker(optionalString(input, 'Marker', { min: 1, max: 1024 }));
  const rest = marker === undefined ? items : items.filter((t) => idOf(t) > marker);
  const out = rest.slice(0, limit);
  const truncated = rest.length > limit;
  return { items: out, Truncated: truncated, NextMarker: truncated ? encodeMarker(idOf(out[out.length - 1])) : undefined };
}

export const createGrant: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  optionalStringList(input, 'GrantTokens', { max: 10 });
  if (input.Constraints !== undefined && input.Constraints !== null) {
    throw new HsmError('NOT_SUPPORTED', 'grant Constraints (encryption context conditions) are not supported: Inkan could not enforce them on every face');
  }
  if (input.DryRun === true) throw new HsmError('NOT_SUPPORTED', 'DryRun is not supported');
  const operations = optionalStringList(input, 'Operations', { max: 20 }) ?? [];
  if (!operations.length) throw new HsmError('BAD_REQUEST', 'Operations must name at least one operation');
  const bad = operations.find((o) => !Object.prototype.hasOwnProperty.call(OPERATIONS, o));
  if (bad !== undefined) throw new HsmError('BAD_REQUEST', `${bad.slice(0, 64)} cannot be granted (CreateGrant is not delegated; the operations are ${Object.keys(OPERATIONS).join(', ')})`);
  const name = optionalString(input, 'Name', { min: 1, max: 256 });
  if (name !== undefined && !NAME.test(name)) throw new HsmError('BAD_REQUEST', 'Name is 1-256 characters of a-z, A-Z, 0-9, :, /, _ and -');
  const grantee = await userOf(ctx, requireString(input, 'GranteePrincipal', { min: 1, max: 256 }), 'GranteePrincipal');
  const retiringArn = optionalString(input, 'RetiringPrincipal', { min: 1, max: 256 });
  const retiring = retiringArn === undefined ? undefined : await userOf(ctx, retiringArn, 'RetiringPrincipal');
  const grant = await ctx.hsm.managed.grants.create(ctx.caller, key.managed, {
    grantee, retiring, name, labels: operations, actions: [...new Set(operations.map((o) => OPERATIONS[o]))],
  });
  return { GrantToken: tokenOf(key.id, grant.id), GrantId: grant.id };
};

export const listGrants: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  const grantId = optionalString(input, 'GrantId', { min: 1, max: 128 });
  const granteeArn = optionalString(input, 'GranteePrincipal', { min: 1, max: 256 });
  const grantee = granteeArn === undefined ? undefined : await userOf(ctx, granteeArn, 'GranteePrincipal');
  const all = (await ctx.hsm.managed.grants.list(ctx.caller, key.managed))
    .filter((g) => (grantId === undefined || g.id === grantId) && (grantee === undefined || g.grantee === grantee))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const p = page(input, all, (g) => g.id);
  return { Grants: await Promise.all(p.items.map((g) => listEntry(ctx, key.managed, g))), Truncated: p.Truncated, NextMarker: p.NextMarker };
};

export const listRetirableGrants: KmsOperation = async (ctx, input) => {
  const retiring = await userOf(ctx, requireString(input, 'RetiringPrincipal', { min: 1, max: 256 }), 'RetiringPrincipal');
  const all = (await ctx.hsm.managed.grants.retirable(ctx.caller, retiring)).sort((a, b) => (a.grant.id < b.grant.id ? -1 : 1));
  const p = page(input, all, (x) => x.grant.id);
  return { Grants: await Promise.all(p.items.map((x) => listEntry(ctx, x.key, x.grant))), Truncated: p.Truncated, NextMarker: p.NextMarker };
};

export const retireGrant: KmsOperation = async (ctx, input) => {
  const token = optionalString(input, 'GrantToken', { min: 1, max: 8192 });
  const grantId = optionalString(input, 'GrantId', { min: 1, max: 128 });
  const keyRef = optionalString(input, 'KeyId', { min: 1, max: 2048 });
  let target: { keyId: string; grantId: string };
  if (token !== undefined) target = readToken(token);
  else if (grantId !== undefined && keyRef !== undefined) target = { keyId: keyRef.replace(/^arn:.*:key\//, ''), grantId };
  else throw new HsmError('BAD_REQUEST', 'give GrantToken, or KeyId and GrantId');
  await ctx.hsm.managed.grants.remove(ctx.caller, target.keyId, target.grantId, 'retire');
  return undefined;
};

export const revokeGrant: KmsOperation = async (ctx, input) => {
  const key = await inputKey(ctx, input, 'KeyId', false);
  await ctx.hsm.managed.grants.remove(ctx.caller, key.id, requireString(input, 'GrantId', { min: 1, max: 128 }), 'revoke');
  return undefined;
};
