// Path matching for the Key Vault face: the API layer declares its routes as data
// ({method, path, operation, body cap}); this file turns a request path into one route and its
// parameters. Empty segments are kept: the SDK asks for the latest version as `/keys/k/` and
// runs crypto on it as `/keys/k//sign` (docs/azure-keyvault-wire.md §3.1).
import { AkvError, badParameter } from './akv-error';

export type AkvMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface AkvRoute {
  method: AkvMethod;
  /** Literal segments and the parameters `{name}` (a key name) and `{version}` (32 hex or empty). */
  path: string;
  operation: string;
  /** Largest body accepted; 0 = the operation takes none (a body is then refused unread). */
  maxBodyBytes: number;
}

export interface RouteMatch { route: AkvRoute; name?: string; version?: string }

/** Key Vault object names: 1-127 letters, digits and dashes. */
export const KEY_NAME = /^[0-9A-Za-z-]{1,127}$/;
const VERSION = /^([0-9A-Fa-f]{32})?$/;
const MAX_PATH_LENGTH = 1024;

function splitPath(path: string): string[] | undefined {
  if (path.length > MAX_PATH_LENGTH || !path.startsWith('/')) return undefined;
  try {
    return path.slice(1).split('/').map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

function matchSegments(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < pattern.length; i++) {
    const p = pattern[i];
    if (p.startsWith('{')) params[p.slice(1, -1)] = segments[i];
    else if (p !== segments[i].toLowerCase()) return undefined;
  }
  return params;
}

export class RouteTable {
  private readonly compiled: { route: AkvRoute; pattern: string[]; literals: number }[];

  constructor(routes: readonly AkvRoute[]) {
    // Routes with more literal segments win (`/keys/{name}/versions` before `/keys/{name}/{version}`).
    this.compiled = routes.map((route) => {
      const pattern = route.path.slice(1).split('/');
      return { route, pattern, literals: pattern.filter((s) => !s.startsWith('{')).length };
    }).sort((a, b) => b.literals - a.literals);
  }

  /** The route for method + path; 404 when no path matches, 405 when only the method is wrong. */
  match(method: string, path: string): RouteMatch {
    const segments = splitPath(path);
    if (segments === undefined) throw new AkvError('NotFound', 'The requested path is not valid.');
    let pathMatched = false;
    for (const c of this.compiled) {
      const params = matchSegments(c.pattern, segments);
      if (params === undefined) continue;
      pathMatched = true;
      if (c.route.method !== method) continue;
      return this.checked(c.route, params);
    }
    if (pathMatched) throw new AkvError('MethodNotAllowed', `The method ${method.slice(0, 10)} is not allowed on this path.`);
    throw new AkvError('NotFound', 'The requested path is not valid.');
  }

  private checked(route: AkvRoute, params: Record<string, string>): RouteMatch {
    const { name, version } = params;
    if (name !== undefined && !KEY_NAME.test(name)) {
      throw badParameter('Key names must have 1 to 127 characters: letters, digits and dashes.');
    }
    if (version !== undefined && !VERSION.test(version)) {
      throw new AkvError('KeyNotFound', `A key with (name/id) ${name ?? ''}/${version.slice(0, 40).replace(/[^0-9A-Za-z-]/g, '')} was not found in this key vault.`);
    }
    return { route, name, version: version === undefined ? undefined : version.toLowerCase() };
  }
}
