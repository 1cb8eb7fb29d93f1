// The role/access matrix (CloudHSM's model, DESIGN.md "Identity and roles") as data.
import type { Role } from '../principal';

export type Action =
  | 'user.manage' | 'user.list' | 'module.seal' | 'module.backup' | 'module.zeroize'
  | 'key.create' | 'key.use' | 'key.manage' | 'key.list'
  | 'audit.read';

/** Which role may attempt which action; ownership and sharing are checked after this. */
export const ACCESS: Readonly<Record<Action, readonly Role[]>> = {
  'user.manage': ['officer'],
  'user.list': ['officer', 'auditor'],
  'module.seal': ['officer'],
  'module.backup': ['officer'],
  'module.zeroize': ['officer'],
  'key.create': ['user'],
  'key.use': ['user'],
  // Officers manage users, never keys: they cannot use or change a crypto user's key.
  'key.manage': ['user'],
  'key.list': ['user'],
  'audit.read': ['auditor'],
};

/** Session × object rules for a crypto user (like SoftHSM's access table):
 *  owner → see, use, manage · shared with → see, use · anyone else → nothing, even for objects with
 *  CKA_PRIVATE false: a crypto user sees only keys it owns or that are shared with it (issue #2). */
export const OBJECT_ACCESS = {
  owner: { see: true, use: true, manage: true },
  shared: { see: true, use: true, manage: false },
  public: { see: false, use: false, manage: false },
  none: { see: false, use: false, manage: false },
} as const;
