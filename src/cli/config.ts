// The CLI's settings and saved sessions. Settings come, strongest first, from the command line
// (--server, --user, --partition, --output), the environment (INKAN_SERVER, INKAN_USER,
// INKAN_PARTITION, INKAN_OUTPUT, INKAN_PROFILE), the chosen profile of the config file, and the
// defaults. The config file is <config dir>/config.yaml (YAML; JSON is YAML too):
//
//   default-profile: dev
//   profiles:
//     dev:  { server: http://127.0.0.1:7280, user: user, output: table }
//     prod: { server: https://hsm.example.net:7280, user: alice, partition: default }
//
// <config dir> is INKAN_CONFIG_DIR, else $XDG_CONFIG_HOME/inkan, else ~/.config/inkan.
// `inkan login` keeps the session token in <config dir>/sessions/<profile>.json, mode 0600 in a
// 0700 directory, with the server's absolute expiry; `inkan logout` ends it on the server and
// deletes the file. A token is only ever sent to the server it was issued by.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import YAML from 'yaml';
import { CliError } from './client';

export const DEFAULT_SERVER = 'http://127.0.0.1:7280';
export const OUTPUTS = ['table', 'json', 'yaml'] as const;
export type Output = typeof OUTPUTS[number];

export interface Profile { server?: string; user?: string; partition?: string; output?: Output }

export interface Settings {
  profile: string;
  server: string;
  user?: string;
  partition: string;
  output: Output;
}

export interface SavedSession {
  server: string;
  username: string;
  role: string;
  partition: string;
  token: string;
  /** ms since the epoch: the server's absolute session lifetime (it also ends idle sessions). */
  expiresAt: number;
}

/** Sessions are kept at most this long (the admin API's absolute lifetime is 12 h). */
export const SESSION_MAX_MS = 12 * 60 * 60 * 1000;
const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.INKAN_CONFIG_DIR) return path.resolve(env.INKAN_CONFIG_DIR);
  const base = env.XDG_CONFIG_HOME && path.isAbsolute(env.XDG_CONFIG_HOME) ? env.XDG_CONFIG_HOME : path.join(os.homedir(), '.config');
  return path.join(base, 'inkan');
}

export const configFile = (env: NodeJS.ProcessEnv = process.env) => path.join(configDir(env), 'config.yaml');

interface ConfigFile { 'default-profile'?: string; profiles?: Record<string, Profile> }

function readConfig(env: NodeJS.ProcessEnv): ConfigFile {
  const file = configFile(env);
  let text: string;
  try { text = fs.readFileSync(file, 'utf8'); } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new CliError('CONFIG_INVALID', `cannot read ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try { parsed = YAML.parse(text); } catch (err) {
    throw new CliError('CONFIG_INVALID', `${file} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== 'object' || Array.isArray(parsed)) throw new CliError('CONFIG_INVALID', `${file}: expected a mapping with "profiles"`);
  const cfg = parsed as ConfigFile;
  if (cfg.profiles !== undefined && (typeof cfg.profiles !== 'object' || cfg.profiles === null || Array.isArray(cfg.profiles))) {
    throw new CliError('CONFIG_INVALID', `${file}: "profiles" must be a mapping of profile names`);
  }
  for (const [name, p] of Object.entries(cfg.profiles ?? {})) {
    if (typeof p !== 'object' || p === null) throw new CliError('CONFIG_INVALID', `${file}: profile ${name} must be a mapping`);
    for (const [k, v] of Object.entries(p)) {
      if (!['server', 'user', 'partition', 'output'].includes(k)) throw new CliError('CONFIG_INVALID', `${file}: profile ${name}: unknown setting ${k} (server, user, partition, output)`);
      if (typeof v !== 'string') throw new CliError('CONFIG_INVALID', `${file}: profile ${name}: ${k} must be a string`);
    }
  }
  return cfg;
}

function checkOutput(v: string, where: string): Output {
  if (!(OUTPUTS as readonly string[]).includes(v)) throw new CliError('BAD_ARGUMENT', `${where}: output is ${OUTPUTS.join(', ')}; got ${v}`);
  return v as Output;
}

/** Flags first, then INKAN_* variables, then the profile, then defaults. */
export function resolveSettings(flags: { server?: string; user?: string; partition?: string; output?: string; profile?: string; json?: boolean },
  env: NodeJS.ProcessEnv = process.env): Settings {
  const cfg = readConfig(env);
  const explicit = flags.profile ?? env.INKAN_PROFILE;
  const name = explicit ?? cfg['default-profile'] ?? 'default';
  if (!PROFILE_NAME.test(name)) throw new CliError('BAD_ARGUMENT', `profile names are letters, digits, ".", "_" and "-": ${JSON.stringify(name)}`);
  const p = cfg.profiles?.[name];
  if (explicit !== undefined && !p) {
    const known = Object.keys(cfg.profiles ?? {});
    throw new CliError('PROFILE_NOT_FOUND', `no profile ${name} in ${configFile(env)}${known.length ? ` (profiles: ${known.join(', ')})` : ''}`);
  }
  const output = flags.json ? 'json'
    : flags.output ? checkOutput(flags.output, '--output')
    : env.INKAN_OUTPUT ? checkOutput(env.INKAN_OUTPUT, 'INKAN_OUTPUT')
    : p?.output ? checkOutput(p.output, `profile ${name}`) : 'table';
  return {
    profile: name,
    server: flags.server ?? env.INKAN_SERVER ?? p?.server ?? DEFAULT_SERVER,
    user: flags.user ?? env.INKAN_USER ?? p?.user,
    partition: flags.partition ?? env.INKAN_PARTITION ?? p?.partition ?? 'default',
    output,
  };
}

const sessionFile = (profile: string, env: NodeJS.ProcessEnv) => path.join(configDir(env), 'sessions', `${profile}.json`);

/** The saved session of this profile, if it is whole, unexpired and for this server. */
export function loadSession(s: Settings, env: NodeJS.ProcessEnv = process.env, now = Date.now()): SavedSession | undefined {
  const file = sessionFile(s.profile, env);
  let saved: SavedSession;
  try {
    const st = fs.lstatSync(file);
    // A token file anyone else can read (or a link) is not trusted: it is deleted.
    if (!st.isFile() || (st.mode & 0o077) !== 0 || (typeof process.getuid === 'function' && st.uid !== process.getuid())) {
      fs.rmSync(file, { force: true });
      return undefined;
    }
    saved = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedSession;
  } catch { return undefined; }
  if (typeof saved?.token !== 'string' || typeof saved.expiresAt !== 'number' || typeof saved.username !== 'string') return undefined;
  if (saved.expiresAt <= now) { fs.rmSync(file, { force: true }); return undefined; }
  if (saved.server !== s.server) return undefined;
  return saved;
}

export function saveSession(profile: string, session: SavedSession, env: NodeJS.ProcessEnv = process.env): string {
  const file = sessionFile(profile, env);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  fs.chmodSync(path.dirname(file), 0o700);
  // Written beside and renamed: the file is 0600 from its first byte and never half-written.
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(session) + '\n', { mode: 0o600, flag: 'wx' });
  fs.renameSync(tmp, file);
  return file;
}

export function deleteSession(profile: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const file = sessionFile(profile, env);
  const existed = fs.existsSync(file);
  fs.rmSync(file, { force: true });
  return existed;
}

/** The session file's content without reading checks (for logout, which ends it whatever its state). */
export function readSessionLoose(profile: string, env: NodeJS.ProcessEnv = process.env): SavedSession | undefined {
  try { return JSON.parse(fs.readFileSync(sessionFile(profile, env), 'utf8')) as SavedSession; } catch { return undefined; }
}
