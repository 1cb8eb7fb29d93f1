// Which operations a quorum token can authorise, the service each belongs to (the unit a quorum
// value is set for, CloudHSM's "services") and the arguments a token binds, as data. Arguments
// are normalised here (strings stay strings, integers and booleans are parsed), so the token an
// officer requests from the CLI (`username=alice`) and the request that uses it compare equal.
// Secrets (passwords, shares) are never arguments: a token is shown to every approver.
import { HsmError } from '../errors/hsm-error';
import type { JsonValue } from '../quorum-token/token';

/** Services whose quorum value an officer sets (`inkan quorum set SERVICE N`). */
export const SERVICES = ['user-management', 'partition-management', 'quorum', 'backup-restore', 'zeroise', 'audit-policy'] as const;
export type Service = typeof SERVICES[number];
/** Key use is governed per key (key-quorum.ts), not per partition. */
export type TokenService = Service | 'key-use';

type ArgType = 'string' | 'integer' | 'boolean';
/** A trailing '?' marks an argument that may be left out. */
type ArgSpec = ArgType | `${ArgType}?`;

export interface QuorumOperation {
  service: TokenService;
  /** The arguments the token binds, with their types; `free` takes any field (a policy patch). */
  args: Readonly<Record<string, ArgSpec>> | 'free';
  why: string;
}

const op = (service: TokenService, args: Record<string, ArgSpec> | 'free', why: string): QuorumOperation => ({ service, args, why });

export const QUORUM_OPERATIONS: Readonly<Record<string, QuorumOperation>> = Object.freeze({
  'user.create': op('user-management', { username: 'string', role: 'string', fingerprint: 'string?' }, 'a new user of the partition, with the fingerprint of its signing key if one is registered at creation (the password is not bound: it is secret)'),
  'user.delete': op('user-management', { username: 'string' }, 'removing a user'),
  'user.passwd': op('user-management', { username: 'string' }, 'an officer resetting another user\'s password'),
  'user.unlock': op('user-management', { username: 'string' }, 'unlocking a user'),
  'user.lock': op('user-management', { username: 'string' }, 'locking a user'),
  'user.role': op('user-management', { username: 'string', role: 'string' }, 'changing a user\'s role'),
  'user.register-key': op('user-management', { username: 'string', fingerprint: 'string' }, 'registering or replacing another user\'s signing key, or replacing one\'s own'),
  'partition.create': op('partition-management', { name: 'string', officer: 'string', 'max-objects': 'integer?' }, 'creating a partition with its first officer (the officer\'s password is not bound: it is secret)'),
  'partition.delete': op('partition-management', { name: 'string' }, 'deleting a partition and destroying its key'),
  'partition.update': op('partition-management', { name: 'string', 'max-objects': 'integer' }, 'resizing a partition'),
  'quorum.set': op('quorum', { service: 'string', value: 'integer' }, 'changing a quorum value'),
  'module.restore': op('backup-restore', { backup: 'string' }, 'restoring a backup (bound by the SHA-256 of its bytes)'),
  'module.zeroize': op('zeroise', {}, 'zeroising the module'),
  'policy.set': op('audit-policy', 'free', 'changing the partition policy (the fields as POST /v1/policy takes them)'),
  'key.activate': op('key-use', { key: 'string', window: 'integer?' }, 'opening a key\'s use window (a key with a use quorum)'),
  'key.set-quorum': op('key-use', { key: 'string', value: 'integer', window: 'integer?' }, 'changing the use quorum of a key that has one'),
});

const MAX_ARGS = 16;
const MAX_ARG_LEN = 256;

/** The operation's definition; BAD_REQUEST for one that takes no token. */
export function quorumOperation(name: unknown): QuorumOperation {
  const def = typeof name === 'string' && Object.prototype.hasOwnProperty.call(QUORUM_OPERATIONS, name) ? QUORUM_OPERATIONS[name] : undefined;
  if (!def) throw new HsmError('BAD_REQUEST', `quorum tokens are for: ${Object.keys(QUORUM_OPERATIONS).join(', ')}`);
  return def;
}

/** The operation's arguments in canonical form (what the token binds, and what a use is compared with). */
export function normaliseArgs(name: string, raw: unknown): { [k: string]: JsonValue } {
  const def = quorumOperation(name);
  if (raw === undefined || raw === null) raw = {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new HsmError('BAD_REQUEST', 'token arguments are an object of name → value');
  const entries = Object.entries(raw as Record<string, unknown>);
  if (entries.length > MAX_ARGS) throw new HsmError('BAD_REQUEST', `at most ${MAX_ARGS} token arguments`);
  const out: { [k: string]: JsonValue } = {};
  for (const [k, v] of entries) {
    if (!/^[A-Za-z][A-Za-z0-9-]{0,63}$/.test(k)) throw new HsmError('BAD_REQUEST', `argument names are letters, digits and "-": ${k.slice(0, 64)}`);
    const spec = def.args === 'free' ? guess(v) : def.args[k];
    const type = spec?.replace('?', '') as ArgType | undefined;
    if (!type) throw new HsmError('BAD_REQUEST', `${name} takes the arguments ${Object.keys(def.args).join(', ') || '(none)'}; not ${k}`);
    out[k] = coerce(k, v, type);
  }
  if (def.args !== 'free') {
    const required = def.args;
    const missing = Object.keys(required).filter((k) => !required[k].endsWith('?') && !(k in out));
    if (missing.length) throw new HsmError('BAD_REQUEST', `${name} needs the arguments ${missing.join(', ')}`);
  }
  return out;
}

function guess(v: unknown): ArgType {
  if (typeof v === 'boolean' || v === 'true' || v === 'false') return 'boolean';
  if (typeof v === 'number' || (typeof v === 'string' && /^-?[0-9]{1,15}$/.test(v))) return 'integer';
  return 'string';
}

function coerce(k: string, v: unknown, type: ArgType): JsonValue {
  if (type === 'boolean') {
    if (typeof v === 'boolean') return v;
    if (v === 'true' || v === 'false') return v === 'true';
  } else if (type === 'integer') {
    const n = typeof v === 'string' && /^-?[0-9]{1,15}$/.test(v) ? Number(v) : v;
    if (typeof n === 'number' && Number.isSafeInteger(n)) return n;
  } else if (typeof v === 'string' && v.length <= MAX_ARG_LEN) {
    return v;
  } else if (typeof v === 'number' && Number.isSafeInteger(v)) {
    return String(v);
  }
  throw new HsmError('BAD_REQUEST', `argument ${k} must be ${type === 'string' ? `a string of at most ${MAX_ARG_LEN} characters` : `a ${type}`}`);
}
