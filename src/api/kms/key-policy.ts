// KMS key policies onto the core's per-key access list (core/policy/key-access.ts). The JSON is
// kept as given (GetKeyPolicy returns it); what it says is enforced by the core on every face, for
// the subset that maps onto Inkan's model: Allow and Deny statements, principals of this account
// (the partition: its root or account id = every user of it, or `user/<name>` of an existing user),
// kms: actions that act on one key (each maps to a use, the key's management or reading its
// description), Resource "*" or this key. A policy can only narrow what ownership and sharing allow.
// Anything else — Condition, NotAction/NotPrincipal/NotResource, other accounts, roles, services,
// actions not tied to one key — is refused (MalformedPolicyDocumentException), never ignored.
import { HsmError } from '../../errors/hsm-error';
import type { KeyAccessAction, KeyAccessList, KeyAccessRule } from '../../core/managed-keys';
import type { OpContext } from './context';

/** Every per-key KMS action and what the core enforces for it. */
const ACTIONS: Readonly<Record<string, readonly KeyAccessAction[]>> = {
  Encrypt: ['encrypt'], Decrypt: ['decrypt'], ReEncryptFrom: ['decrypt'], ReEncryptTo: ['encrypt'],
  GenerateDataKey: ['encrypt'], GenerateDataKeyWithoutPlaintext: ['encrypt'], GenerateDataKeyPair: ['encrypt'],
  GenerateDataKeyPairWithoutPlaintext: ['encrypt'], Sign: ['sign'], Verify: ['verify'], GenerateMac: ['sign'], VerifyMac: ['verify'],
  DeriveSharedSecret: ['derive'],
  EnableKey: ['manage'], DisableKey: ['manage'], ScheduleKeyDeletion: ['manage'], CancelKeyDeletion: ['manage'],
  UpdateKeyDescription: ['manage'], TagResource: ['manage'], UntagResource: ['manage'], EnableKeyRotation: ['manage'],
  DisableKeyRotation: ['manage'], RotateKeyOnDemand: ['manage'], PutKeyPolicy: ['manage'], GetParametersForImport: ['manage'],
  ImportKeyMaterial: ['manage'], DeleteImportedKeyMaterial: ['manage'],
  DescribeKey: ['describe'], GetPublicKey: ['describe'], GetKeyPolicy: ['describe'], ListKeyPolicies: ['describe'],
  GetKeyRotationStatus: ['describe'], ListKeyRotations: ['describe'], ListResourceTags: ['describe'], GetKeyLastUsage: ['describe'],
};
const STATEMENT_KEYS = new Set(['Sid', 'Effect', 'Principal', 'Action', 'Resource']);
const MAX_STATEMENTS = 64;

const refuse = (why: string) => new HsmError('POLICY_INVALID', why);
const list = (v: unknown, what: string): string[] => {
  const items = Array.isArray(v) ? v : [v];
  if (!items.length || items.some((x) => typeof x !== 'string' || x.length === 0 || x.length > 2048)) throw refuse(`${what} must be a string or a list of strings.`);
  return items as string[];
};

/** The default key policy AWS gives a key created without one: the account's principals, every action. */
export function defaultPolicy(account: string): string {
  return JSON.stringify({
    Version: '2012-10-17', Id: 'key-default-1',
    Statement: [{ Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${account}:root` }, Action: 'kms:*', Resource: '*' }],
  }, null, 2);
}

function actionsOf(v: unknown): KeyAccessRule['actions'] {
  const out = new Set<KeyAccessAction>();
  for (const a of list(v, 'Action')) {
    const m = /^kms:([A-Za-z*?]+)$/i.exec(a);
    if (!m) throw refuse(`${a.slice(0, 64)}: only kms: actions apply to a KMS key.`);
    if (m[1] === '*') return '*';
    const pattern = new RegExp(`^${m[1].replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
    const hits = Object.keys(ACTIONS).filter((name) => pattern.test(name));
    if (!hits.length) throw refuse(`${a.slice(0, 64)} is not enforced on one key by Inkan (aliases, grants and account-wide actions are not key policy actions here).`);
    for (const h of hits) for (const x of ACTIONS[h]) out.add(x);
  }
  return [...out];
}

async function principalsOf(ctx: OpContext, v: unknown): Promise<KeyAccessRule['principals']> {
  if (v === '*') return '*';
  if (!v || typeof v !== 'object' || Array.isArray(v) || Object.keys(v).some((k) => k !== 'AWS')) {
    throw refuse('Principal must be "*" or {"AWS": …}: service, federated and canonical-user principals are not supported.');
  }
  const ids: string[] = [];
  for (const p of list((v as { AWS: unknown }).AWS, 'Principal.AWS')) {
    if (p === '*') return '*';
    const account = /^\d{12}$/.test(p) ? p : /^arn:aws:iam::(\d{12}):/.exec(p)?.[1];
    if (account !== undefined && account !== ctx.account) throw refuse(`${p.slice(0, 128)} is not a principal of this account (${ctx.account}).`);
    if (p === ctx.account || p === `arn:aws:iam::${ctx.account}:root`) return '*';
    const m = /^arn:aws:iam::\d{12}:user\/([A-Za-z0-9._-]{1,64})$/.exec(p);
    if (!m) throw refuse(`${p.slice(0, 128)}: principals are this account, its root, or its users (arn:aws:iam::${ctx.account}:user/<name>).`);
    const user = await ctx.hsm.users.find(ctx.caller.partition, m[1]);
    if (!user) throw refuse(`${p.slice(0, 128)}: there is no such user in this account.`);
    ids.push(user.id);
  }
  return ids;
}

/** The access list a policy document means, or POLICY_INVALID saying what cannot be enforced. */
export async function parseKeyPolicy(ctx: OpContext, text: string, keyArn?: string): Promise<KeyAccessList> {
  let doc: unknown;
  try { doc = JSON.parse(text); } catch { throw refuse('The key policy is not valid JSON.'); }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw refuse('The key policy must be a JSON object.');
  const d = doc as Record<string, unknown>;
  const extra = Object.keys(d).find((k) => !['Version', 'Id', 'Statement'].includes(k));
  if (extra) throw refuse(`The policy member ${extra.slice(0, 32)} is not supported.`);
  if (d.Version !== undefined && d.Version !== '2012-10-17' && d.Version !== '2008-10-17') throw refuse('Version must be 2012-10-17.');
  const statements = Array.isArray(d.Statement) ? d.Statement : d.Statement === undefined ? [] : [d.Statement];
  if (!statements.length || statements.length > MAX_STATEMENTS) throw refuse(`A key policy has 1-${MAX_STATEMENTS} statements.`);
  const rules: KeyAccessRule[] = [];
  for (const st of statements) {
    if (!st || typeof st !== 'object' || Array.isArray(st)) throw refuse('Each statement must be an object.');
    const s = st as Record<string, unknown>;
    const unknown = Object.keys(s).find((k) => !STATEMENT_KEYS.has(k));
    if (unknown) throw refuse(`${unknown.slice(0, 32)} is not supported: Inkan enforces Effect, Principal, Action and Resource only, and refuses what it cannot enforce.`);
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') throw refuse('Effect must be Allow or Deny.');
    for (const r of list(s.Resource ?? '*', 'Resource')) {
      if (r !== '*' && r !== keyArn) throw refuse(`Resource ${r.slice(0, 128)} is not this key: use "*".`);
    }
    rules.push({ effect: s.Effect === 'Allow' ? 'allow' : 'deny', principals: await principalsOf(ctx, s.Principal), actions: actionsOf(s.Action) });
  }
  return { rules };
}
