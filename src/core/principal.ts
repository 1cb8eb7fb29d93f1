// Who is calling: the authenticated user and the face the request came through.

export type Role = 'officer' | 'user' | 'auditor';
export const ROLES: readonly Role[] = ['officer', 'user', 'auditor'];

export interface Principal {
  id: string;
  username: string;
  role: Role;
}

export type Face = 'admin' | 'p11' | 'kms' | 'internal';

export interface Caller {
  principal: Principal;
  face: Face;
  /** Owner tag of session objects (CKA_TOKEN false), set by the PKCS#11 face as "<application>/<session>":
   *  all sessions of one application see its session objects; closing the session drops them. */
  session?: string;
}
