import type { ApiKeyScope } from '../api-keys/api-key-scopes.js';
import type { Plan, Role } from '../users/user.entity.js';

/** Who is calling: set on `request.user` by the guards and on a socket by the gateways. */
export interface AuthUser {
  id: string;
  role: Role;
  plan: Plan;
  /**
   * Set when the caller authenticated with an API key: what the key may do. Undefined for an
   * access token, which carries the user's full rights.
   */
  scopes?: ApiKeyScope[];
}

/** The claims of a DevPocket access token (RFC 7519): `sub` user id, `ver` token version. */
export interface AccessTokenClaims {
  sub: string;
  ver: number;
  typ: 'access';
}
