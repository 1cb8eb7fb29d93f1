// Admin routes for keys and their use: generate, import, list, show, delete, share,
// export, and sign/verify/encrypt/decrypt/wrap/unwrap/derive/digest/random. Binary data is base64.
import { CKA, CKK, CKM, CKO } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import { mechanismByName, mechanism } from '../../mechanisms/registry';
import type { HsmObject } from '../../core/hsm-object';
import { MAX_PAGE } from '../../core/key-reads';
import { bool, bytes, int, obj, str } from './http-util';
import { chooseMechanism, commonTemplate, IV_LENGTH, keyGenPlan, mechParams } from './key-spec';
import { applyLimits, keyCaller, shareScope } from './key-limits-spec';
import type { Route, RouteContext } from './router';

const PRIVATE_FIRST = [CKO.PRIVATE_KEY, CKO.SECRET_KEY, CKO.PUBLIC_KEY];
const PUBLIC_FIRST = [CKO.PUBLIC_KEY, CKO.PRIVATE_KEY, CKO.SECRET_KEY];

const key = (ctx: RouteContext, prefer = PRIVATE_FIRST) => ctx.hsm.lookup.resolve(ctx.caller(), ctx.params.ref, prefer);
const b64 = (b: Buffer) => b.toString('base64');

/** ECDSA signatures travel as DER by default (what openssl and KMS use); raw r‖s on request. */
function encoding(ctx: RouteContext): 'der' | 'raw' {
  const e = str(ctx.body, 'encoding', false) ?? 'der';
  if (e !== 'der' && e !== 'raw') throw new HsmError('BAD_REQUEST', 'encoding must be der or raw');
  return e;
}

/** Usernames by user id for one response (a page of the key list names the same few users). */
type Names = Map<string, Promise<string | undefined>>;

async function describeKey(ctx: RouteContext, o: HsmObject, names: Names = new Map()) {
  const s = o.summary();
  const name = (id: string) => {
    let n = names.get(id);
    if (!n) { n = ctx.hsm.users.byId(id).then((u) => u?.username); names.set(id, n); }
    return n;
  };
  const owner = o.owner ? await name(o.owner) : undefined;
  const shared = await Promise.all(o.sharedWith.map(async (id) => (await name(id)) ?? id));
  // A key changed through `inkan key disable` or another face is a managed key: its state shows.
  const state = o.isKey ? (await ctx.hsm.managed.lifecycleOf(o))?.state ?? 'enabled' : undefined;
  const limits = o.isKey ? await ctx.hsm.limits.view(o) : undefined;
  return { ...s, owner: owner ?? (o.owner || '-'), sharedWith: shared, state, limits };
}

async function userId(ctx: RouteContext): Promise<string> {
  const name = str(ctx.body, 'user')!;
  const user = await ctx.hsm.users.find(ctx.principal!.partition, name);
  if (!user || user.role !== 'user') throw new HsmError('USER_NOT_FOUND', 'keys are shared with crypto users only');
  return user.id;
}

export const KEY_ROUTES: Route[] = [
  {
    method: 'POST', path: '/v1/keys', auth: true,
    async handler(ctx) {
      const plan = keyGenPlan(ctx.body);
      applyLimits(ctx.body, plan.template);
      const opts = { uniqueLabel: bool(ctx.body, 'allowDuplicateLabel') !== true };
      if (!plan.pair) return { status: 201, body: { key: await describeKey(ctx, await ctx.hsm.keys.generateKey(ctx.caller(), plan.mechanism, plan.template, opts)) } };
      const pair = await ctx.hsm.keys.generateKeyPair(ctx.caller(), plan.mechanism, plan.publicTemplate, plan.template, opts);
      return { status: 201, body: { key: await describeKey(ctx, pair.privateKey), publicKey: await describeKey(ctx, pair.publicKey) } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/import', auth: true,
    async handler(ctx) {
      const format = (str(ctx.body, 'format', false) ?? 'key') as 'key' | 'aes' | 'secret';
      if (!['key', 'aes', 'secret'].includes(format)) throw new HsmError('BAD_REQUEST', 'format must be key, aes or secret');
      const t = commonTemplate(ctx.body, format === 'key' ? CKO.PRIVATE_KEY : CKO.SECRET_KEY);
      applyLimits(ctx.body, t);
      const o = await ctx.hsm.keys.importKey(ctx.caller(), bytes(ctx.body, 'material')!, format, t, { uniqueLabel: bool(ctx.body, 'allowDuplicateLabel') !== true });
      return { status: 201, body: { key: await describeKey(ctx, o) } };
    },
  },
  {
    method: 'GET', path: '/v1/keys', auth: true,
    async handler(ctx) {
      // Paged: `limit` keys at most (default and maximum MAX_PAGE), and `next` while more follow.
      const q = new URL(ctx.req.url ?? '/', 'http://admin.invalid').searchParams;
      const limit = q.has('limit') ? Number(q.get('limit')) : MAX_PAGE;
      if (!/^\d{1,7}$/.test(q.get('limit') ?? String(MAX_PAGE))) throw new HsmError('BAD_REQUEST', `limit is a whole number from 1 to ${MAX_PAGE}`);
      const page = await ctx.hsm.lookup.listPage(ctx.caller(), q.get('next') ?? undefined, limit);
      const keys = [];
      const names: Names = new Map();
      for (const o of page.objects) keys.push(await describeKey(ctx, o, names));
      return { body: { keys, ...(page.next ? { next: page.next } : {}) } };
    },
  },
  { method: 'GET', path: '/v1/keys/:ref', auth: true, handler: async (ctx) => ({ body: { key: await describeKey(ctx, await key(ctx)) } }) },
  {
    method: 'DELETE', path: '/v1/keys/:ref', auth: true,
    async handler(ctx) {
      const o = await key(ctx);
      // Deleting a key pair by its private half deletes both halves (in one transaction).
      await ctx.hsm.keys.destroy(ctx.caller(), o, { withPair: !bool(ctx.body, 'keepPublic') });
      return { body: { deleted: o.id } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/share', auth: true,
    async handler(ctx) { const o = await key(ctx); return { body: { key: await describeKey(ctx, await ctx.hsm.keys.share(ctx.caller(), o, await userId(ctx), true, shareScope(ctx.body))) } }; },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/unshare', auth: true,
    async handler(ctx) {
      const o = await key(ctx);
      // A key's use quorum may never exceed its owner and sharees (docs/operators.md §5).
      const q = await ctx.hsm.keyQuorum.stateOf(o);
      if (q && q.value > o.sharedWith.length) throw new HsmError('QUORUM_VALUE_TOO_HIGH', `the key needs ${q.value} of its users: lower its use quorum before unsharing`);
      return { body: { key: await describeKey(ctx, await ctx.hsm.keys.share(ctx.caller(), o, await userId(ctx), false)) } };
    },
  },
  {
    // The owner sets or changes the key's own PIN (the current one in `currentPin` if it has one).
    method: 'POST', path: '/v1/keys/:ref/pin', auth: true,
    async handler(ctx) {
      const o = await ctx.hsm.limits.setPin(ctx.caller(), await key(ctx), str(ctx.body, 'currentPin', false), str(ctx.body, 'newPin')!);
      return { body: { key: await describeKey(ctx, o) } };
    },
  },
  {
    method: 'GET', path: '/v1/keys/:ref/public', auth: true,
    async handler(ctx) {
      const spki = await ctx.hsm.lookup.exportPublic(ctx.caller(), await key(ctx, PUBLIC_FIRST));
      const pem = `-----BEGIN PUBLIC KEY-----\n${b64(spki).replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
      return { body: { pem, der: b64(spki) } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/export', auth: true,
    async handler(ctx) {
      const { format, data } = await ctx.hsm.lookup.exportKey(ctx.caller(), await key(ctx));
      try { return { body: { format, material: b64(data) } }; } finally { data.fill(0); }
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/sign', auth: true,
    async handler(ctx) {
      const o = await key(ctx);
      const mech = chooseMechanism(ctx.body, o, 'sign');
      const sig = await ctx.hsm.crypto.sign(await keyCaller(ctx, o), o, mech, mechParams(obj(ctx.body, 'params')), bytes(ctx.body, 'data')!, { signatureFormat: encoding(ctx) });
      return { body: { signature: b64(sig), mechanism: mechanism(mech).name } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/verify', auth: true,
    async handler(ctx) {
      const o = await key(ctx, PUBLIC_FIRST);
      const mech = chooseMechanism(ctx.body, o, 'sign');
      const sig = bytes(ctx.body, 'signature')!;
      const valid = await ctx.hsm.crypto.verify(await keyCaller(ctx, o), o, mech, mechParams(obj(ctx.body, 'params')), bytes(ctx.body, 'data')!, sig, { signatureFormat: encoding(ctx) });
      return { body: { valid, mechanism: mechanism(mech).name } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/encrypt', auth: true,
    async handler(ctx) {
      const o = await key(ctx, PUBLIC_FIRST);
      const mech = chooseMechanism(ctx.body, o, 'encrypt');
      const params = mechParams(obj(ctx.body, 'params'));
      if (!params.iv && IV_LENGTH[mech]) params.iv = await ctx.hsm.crypto.random(ctx.caller(), IV_LENGTH[mech]);
      const ct = await ctx.hsm.crypto.encrypt(await keyCaller(ctx, o), o, mech, params, bytes(ctx.body, 'data')!);
      return { body: { ciphertext: b64(ct), iv: params.iv ? b64(params.iv) : undefined, mechanism: mechanism(mech).name } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/decrypt', auth: true,
    async handler(ctx) {
      const o = await key(ctx);
      const mech = chooseMechanism(ctx.body, o, 'encrypt');
      const pt = await ctx.hsm.crypto.decrypt(await keyCaller(ctx, o), o, mech, mechParams(obj(ctx.body, 'params')), bytes(ctx.body, 'data')!);
      return { body: { plaintext: b64(pt), mechanism: mechanism(mech).name } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/wrap', auth: true,
    async handler(ctx) {
      const wrapping = await key(ctx, PUBLIC_FIRST);
      const target = await ctx.hsm.lookup.resolve(ctx.caller(), str(ctx.body, 'key')!);
      const mech = chooseMechanism(ctx.body, wrapping, 'wrap');
      const params = mechParams(obj(ctx.body, 'params'));
      if (!params.iv && mech === CKM.AES_GCM) params.iv = await ctx.hsm.crypto.random(ctx.caller(), 12);
      const wrapped = await ctx.hsm.crypto.wrap(await keyCaller(ctx, wrapping), wrapping, mech, params, target);
      return { body: { wrapped: b64(wrapped), iv: params.iv ? b64(params.iv) : undefined, mechanism: mechanism(mech).name } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/unwrap', auth: true,
    async handler(ctx) {
      const unwrapping = await key(ctx);
      const mech = chooseMechanism(ctx.body, unwrapping, 'wrap');
      const kind = (str(ctx.body, 'type', false) ?? 'aes').toLowerCase();
      const cls = ['rsa', 'ec', 'ed25519', 'private'].includes(kind) ? CKO.PRIVATE_KEY : CKO.SECRET_KEY;
      const t = commonTemplate(ctx.body, cls);
      t.set(CKA.CLASS, cls);
      if (cls === CKO.SECRET_KEY) t.set(CKA.KEY_TYPE, kind === 'aes' ? CKK.AES : CKK.GENERIC_SECRET);
      const o = await ctx.hsm.crypto.unwrap(await keyCaller(ctx, unwrapping), unwrapping, mech, mechParams(obj(ctx.body, 'params')), bytes(ctx.body, 'wrapped')!, t);
      return { status: 201, body: { key: await describeKey(ctx, o) } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/derive', auth: true,
    async handler(ctx) {
      const base = await key(ctx);
      const mech = chooseMechanism(ctx.body, base, 'derive');
      const kind = (str(ctx.body, 'type', false) ?? 'aes').toLowerCase();
      const t = commonTemplate(ctx.body, CKO.SECRET_KEY);
      t.set(CKA.KEY_TYPE, kind === 'aes' ? CKK.AES : CKK.GENERIC_SECRET);
      t.set(CKA.VALUE_LEN, int(ctx.body, 'length') ?? 32);
      const o = await ctx.hsm.crypto.derive(await keyCaller(ctx, base), base, mech, mechParams(obj(ctx.body, 'params')), t);
      return { status: 201, body: { key: await describeKey(ctx, o) } };
    },
  },
  {
    method: 'POST', path: '/v1/digest', auth: true,
    async handler(ctx) {
      const mech = mechanismByName(str(ctx.body, 'mechanism', false) ?? 'SHA256');
      return { body: { digest: b64(await ctx.hsm.crypto.digest(ctx.caller(), mech.type, bytes(ctx.body, 'data')!)), mechanism: mech.name } };
    },
  },
  {
    method: 'POST', path: '/v1/random', auth: true,
    async handler(ctx) { return { body: { random: b64(await ctx.hsm.crypto.random(ctx.caller(), int(ctx.body, 'bytes') ?? 32)) } }; },
  },
];
