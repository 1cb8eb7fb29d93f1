// Admin routes for what the CLI does to a key beyond using it (`inkan key enable|disable|rotate|
// schedule-deletion|cancel-deletion|versions|usage|set|tag|alias`) and for certificate objects (`inkan cert import|list|export|delete`). Each
// calls one core entry point with the caller; the core authorises (owners manage their keys)
// and audits. A key made by the CLI or PKCS#11 becomes a managed key (a record with state,
// tags and versions) the first time one of these changes it, as with the KMS face.
import forge from 'node-forge';
import { CKA, CKO } from '../../pkcs11/constants';
import { HsmError } from '../../errors/hsm-error';
import type { HsmObject } from '../../core/hsm-object';
import type { AttrValue } from '../../core/attributes';
import type { ManagedKey } from '../../core/managed-key-data';
import { bytes, int, obj, str, strList } from './http-util';
import { USAGE } from './key-spec';
import type { Route, RouteContext } from './router';

/** The name kind of KMS aliases (api/kms/context.ts): an alias made here is one KMS lists and resolves. */
const ALIAS_KIND = 'kms-alias';
const ALIAS_NAME = /^alias\/[a-zA-Z0-9/_-]{1,250}$/;
const TAG = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const CKC_X_509 = 0;
const MAX_CERT = 64 * 1024;
/** The waiting period of a scheduled deletion, in days (KMS ScheduleKeyDeletion's bounds and default). */
const DELETION_DAYS = { min: 7, max: 30, default: 30 };

const keyObject = (ctx: RouteContext) => ctx.hsm.lookup.resolve(ctx.caller(), ctx.params.ref, [CKO.PRIVATE_KEY, CKO.SECRET_KEY, CKO.PUBLIC_KEY]);

async function managedOf(ctx: RouteContext, o: HsmObject): Promise<ManagedKey> {
  if (o.cls === CKO.PUBLIC_KEY) throw new HsmError('BAD_REQUEST', 'name the private half of the pair (or its label)');
  return ctx.hsm.managed.get(ctx.caller(), o.managed || o.id);
}

/** For describe-class reads (versions, use counts, the managed key's fields): the core resolves the
 *  key as the access matrix says, so officers and auditors describe keys they cannot see or use. */
const described = (ctx: RouteContext) => ctx.hsm.managed.describeRef(ctx.caller(), ctx.params.ref);

async function view(ctx: RouteContext, k: ManagedKey) {
  const aliases = (await ctx.hsm.names.list(ctx.caller(), ALIAS_KIND, k.id)).map((n) => n.name);
  return { id: k.id, state: k.state, versions: k.data.versions.length, tags: Object.fromEntries(k.data.tags), aliases,
    validity: k.data.validity ? { notBefore: iso(k.data.validity.notBefore), notAfter: iso(k.data.validity.notAfter) } : undefined,
    deletion: k.data.deletion ? { requested: iso(k.data.deletion.requested), due: iso(k.data.deletion.due), windowDays: k.data.deletion.windowDays } : undefined };
}
const iso = (t?: number) => (t === undefined ? undefined : new Date(t).toISOString());

function time(body: Record<string, unknown>, name: string): number | null | undefined {
  if (body[name] === null) return null;
  const v = str(body, name, false);
  if (v === undefined) return undefined;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new HsmError('BAD_REQUEST', `${name} must be an ISO 8601 time`);
  return t;
}

/** Subject, issuer and serial number of an X.509 certificate, as DER (what PKCS#11 stores beside CKA_VALUE). */
function certFields(der: Buffer): { subject: Buffer; issuer: Buffer; serial: Buffer } {
  try {
    const cert = forge.asn1.fromDer(forge.util.createBuffer(der.toString('binary')), true);
    const tbs = (cert.value as forge.asn1.Asn1[])[0].value as forge.asn1.Asn1[];
    const i = tbs[0].tagClass === forge.asn1.Class.CONTEXT_SPECIFIC ? 1 : 0; // [0] version is optional
    const enc = (n: forge.asn1.Asn1) => Buffer.from(forge.asn1.toDer(n).getBytes(), 'binary');
    return { serial: enc(tbs[i]), issuer: enc(tbs[i + 2]), subject: enc(tbs[i + 4]) };
  } catch {
    throw new HsmError('BAD_REQUEST', 'not an X.509 certificate (PEM or DER)');
  }
}

function certDer(body: Record<string, unknown>): Buffer {
  const raw = bytes(body, 'certificate')!;
  if (raw.length > MAX_CERT) throw new HsmError('BAD_REQUEST', 'certificates are at most 64 KiB');
  const text = raw.toString('latin1');
  const pem = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(text);
  return pem ? Buffer.from(pem[1].replace(/\s+/g, ''), 'base64') : raw;
}

function describeCert(o: HsmObject) {
  const id = o.attrs.get(CKA.ID);
  return { id: o.id, label: o.label, class: 'certificate', ckaId: Buffer.isBuffer(id) && id.length ? id.toString('hex') : undefined,
    bytes: (o.attrs.get(CKA.VALUE) as Buffer | undefined)?.length ?? 0, created: new Date(o.created).toISOString() };
}

async function certificate(ctx: RouteContext): Promise<HsmObject> {
  const o = await ctx.hsm.lookup.resolve(ctx.caller(), ctx.params.ref, [CKO.CERTIFICATE]);
  if (o.cls !== CKO.CERTIFICATE) throw new HsmError('KEY_NOT_FOUND', 'no certificate by that name');
  return o;
}

export const OBJECT_ROUTES: Route[] = [
  ...(['enable', 'disable'] as const).map((verb): Route => ({
    method: 'POST', path: `/v1/keys/:ref/${verb}`, auth: true,
    async handler(ctx) {
      const k = await managedOf(ctx, await keyObject(ctx));
      return { body: { key: await view(ctx, await ctx.hsm.managed.setEnabled(ctx.caller(), k, verb === 'enable')) } };
    },
  })),
  {
    method: 'POST', path: '/v1/keys/:ref/rotate', auth: true,
    async handler(ctx) {
      const k = await managedOf(ctx, await keyObject(ctx));
      return { body: { key: await view(ctx, await ctx.hsm.managed.rotate(ctx.caller(), k, 'on-demand')) } };
    },
  },
  {
    // Refuses every use at once, on every face; the scheduler destroys the key when the window ends.
    method: 'POST', path: '/v1/keys/:ref/schedule-deletion', auth: true,
    async handler(ctx) {
      const days = int(ctx.body, 'days') ?? DELETION_DAYS.default;
      if (days < DELETION_DAYS.min || days > DELETION_DAYS.max) throw new HsmError('BAD_REQUEST', `days must be ${DELETION_DAYS.min} to ${DELETION_DAYS.max}`);
      const k = await managedOf(ctx, await keyObject(ctx));
      return { body: { key: await view(ctx, await ctx.hsm.managed.scheduleDeletion(ctx.caller(), k, days)) } };
    },
  },
  {
    // Back to disabled (as KMS's CancelKeyDeletion): the owner enables it again on purpose.
    method: 'POST', path: '/v1/keys/:ref/cancel-deletion', auth: true,
    async handler(ctx) {
      const k = await managedOf(ctx, await keyObject(ctx));
      return { body: { key: await view(ctx, await ctx.hsm.managed.cancelDeletion(ctx.caller(), k)) } };
    },
  },
  {
    method: 'GET', path: '/v1/keys/:ref/versions', auth: true,
    async handler(ctx) {
      const k = await described(ctx);
      const versions = await ctx.hsm.managed.versions.info(ctx.caller(), k);
      const current = versions.length - 1;
      return { body: { key: k.id, minDecryptVersion: k.data.minDecryptVersion, versions: versions.map((v) => ({
        index: v.index, id: v.id, objectId: v.objectId, publicObjectId: v.publicObjectId, created: iso(v.created), origin: v.origin,
        rotation: k.data.versions[v.index]?.rotation, enabled: v.enabled, uses: v.uses, current: v.index === current,
        decrypts: v.index >= k.data.minDecryptVersion,
      })) } };
    },
  },
  {
    // Counted from the audit trail (core/key-usage.ts), bounded: complete from trackedSince.
    method: 'GET', path: '/v1/keys/:ref/usage', auth: true,
    async handler(ctx) {
      const u = await ctx.hsm.keyUsage.useCounts(ctx.caller(), await described(ctx));
      return { body: { total: u.total, counts: u.counts, last: u.last, trackedSince: iso(u.trackedSince) } };
    },
  },
  {
    // Label and usage are attributes of the object (and its pair's other half keeps its own);
    // notBefore / notAfter are the key's validity (null clears one).
    method: 'POST', path: '/v1/keys/:ref/attributes', auth: true,
    async handler(ctx) {
      let o = await keyObject(ctx);
      const changes = new Map<number, AttrValue>();
      const label = str(ctx.body, 'label', false);
      if (label !== undefined) changes.set(CKA.LABEL, label);
      const usage = strList(ctx.body, 'usage');
      if (usage) {
        const wanted = new Set(usage.map((u) => { const a = USAGE[u.toLowerCase()]; if (a === undefined) throw new HsmError('BAD_REQUEST', `unknown usage ${u}`); return a; }));
        const applies = o.cls === CKO.SECRET_KEY ? Object.values(USAGE)
          : o.cls === CKO.PUBLIC_KEY ? [CKA.ENCRYPT, CKA.VERIFY, CKA.WRAP] : [CKA.DECRYPT, CKA.SIGN, CKA.UNWRAP, CKA.DERIVE];
        for (const a of applies) changes.set(a, wanted.has(a));
      }
      const notBefore = time(ctx.body, 'notBefore');
      const notAfter = time(ctx.body, 'notAfter');
      if (!changes.size && notBefore === undefined && notAfter === undefined) throw new HsmError('BAD_REQUEST', 'nothing to change: give label, usage, notBefore or notAfter');
      if (changes.size) o = await ctx.hsm.keys.setAttributes(ctx.caller(), o, changes);
      let managed: ManagedKey | undefined;
      if (notBefore !== undefined || notAfter !== undefined) {
        managed = await ctx.hsm.managed.update(ctx.caller(), await managedOf(ctx, o), 'key.set-validity', (d) => {
          const v = { ...d.validity };
          if (notBefore !== undefined) { if (notBefore === null) delete v.notBefore; else v.notBefore = notBefore; }
          if (notAfter !== undefined) { if (notAfter === null) delete v.notAfter; else v.notAfter = notAfter; }
          if (v.notBefore !== undefined && v.notAfter !== undefined && v.notAfter <= v.notBefore) throw new HsmError('BAD_REQUEST', 'notAfter must be after notBefore');
          d.validity = v.notBefore === undefined && v.notAfter === undefined ? undefined : v;
        });
      }
      return { body: { key: { ...o.summary(), ...(managed ? { validity: (await view(ctx, managed)).validity } : {}) } } };
    },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/tags', auth: true,
    async handler(ctx) {
      const set = obj(ctx.body, 'set');
      const remove = strList(ctx.body, 'remove') ?? [];
      for (const [k, v] of Object.entries(set)) {
        if (!TAG.test(k) || typeof v !== 'string' || v.length > 256) throw new HsmError('BAD_REQUEST', 'tag keys are 1-128 letters, digits and _.:/=+-@; values strings of at most 256');
      }
      const k = await managedOf(ctx, await keyObject(ctx));
      const after = await ctx.hsm.managed.update(ctx.caller(), k, 'key.tag', (d) => {
        const tags = new Map(d.tags);
        for (const r of remove) tags.delete(r);
        for (const [key, v] of Object.entries(set)) tags.set(key, v as string);
        if (tags.size > 50) throw new HsmError('BAD_REQUEST', 'a key has at most 50 tags');
        d.tags = [...tags];
      });
      return { body: { key: await view(ctx, after) } };
    },
  },
  {
    method: 'GET', path: '/v1/keys/:ref/managed', auth: true,
    async handler(ctx) { return { body: { key: await view(ctx, await described(ctx)) } }; },
  },
  {
    method: 'POST', path: '/v1/keys/:ref/aliases', auth: true,
    async handler(ctx) {
      const name = str(ctx.body, 'alias')!;
      if (!ALIAS_NAME.test(name) || name.startsWith('alias/aws/')) throw new HsmError('BAD_REQUEST', 'aliases are alias/NAME (letters, digits, /, _ and -), not under alias/aws/');
      const k = await managedOf(ctx, await keyObject(ctx));
      await ctx.hsm.names.create(ctx.caller(), ALIAS_KIND, name, k);
      return { status: 201, body: { key: await view(ctx, await managedOf(ctx, await keyObject(ctx))) } };
    },
  },
  {
    method: 'DELETE', path: '/v1/aliases/:name', auth: true,
    async handler(ctx) {
      await ctx.hsm.names.delete(ctx.caller(), ALIAS_KIND, ctx.params.name);
      return { body: { deleted: ctx.params.name } };
    },
  },
  {
    method: 'POST', path: '/v1/certificates', auth: true,
    async handler(ctx) {
      const der = certDer(ctx.body);
      const f = certFields(der);
      const t = new Map<number, AttrValue>([[CKA.CLASS, CKO.CERTIFICATE], [CKA.CERTIFICATE_TYPE, CKC_X_509], [CKA.TOKEN, true],
        [CKA.VALUE, der], [CKA.SUBJECT, f.subject], [CKA.ISSUER, f.issuer], [CKA.SERIAL_NUMBER, f.serial]]);
      const keyRef = str(ctx.body, 'key', false);
      let label = str(ctx.body, 'label', false);
      if (keyRef !== undefined) {
        // Stored beside its key: the same CKA_ID (what Java's KeyStore and NSS pair them by) and, by default, label.
        const k = await ctx.hsm.lookup.resolve(ctx.caller(), keyRef, [CKO.PRIVATE_KEY, CKO.PUBLIC_KEY]);
        const id = k.attrs.get(CKA.ID);
        if (Buffer.isBuffer(id)) t.set(CKA.ID, id);
        label ??= k.label;
      }
      if (label !== undefined) t.set(CKA.LABEL, label);
      const o = await ctx.hsm.keys.createObject(ctx.caller(), t);
      return { status: 201, body: { certificate: describeCert(o) } };
    },
  },
  {
    method: 'GET', path: '/v1/certificates', auth: true,
    async handler(ctx) {
      const all = await ctx.hsm.lookup.find(ctx.caller(), new Map([[CKA.CLASS, CKO.CERTIFICATE]]));
      return { body: { certificates: all.filter((o) => o.cls === CKO.CERTIFICATE).map(describeCert) } };
    },
  },
  {
    method: 'GET', path: '/v1/certificates/:ref', auth: true,
    async handler(ctx) {
      const o = await certificate(ctx);
      return { body: { certificate: describeCert(o), der: (o.attrs.get(CKA.VALUE) as Buffer).toString('base64') } };
    },
  },
  {
    method: 'DELETE', path: '/v1/certificates/:ref', auth: true,
    async handler(ctx) {
      const o = await certificate(ctx);
      await ctx.hsm.keys.destroy(ctx.caller(), o);
      return { body: { deleted: o.id } };
    },
  },
];
