import type { Plan, Role } from '../users/user.entity.js';

/** Who is calling: set on `request.user` by the guards and on a socket by the gateways. */
export interface AuthUser {
  id: string;
  role: Role;
  plan: Plan;
}

/** The claims of a DevPocket access token (RFC 7519): `sub` user id, `ver` token version. */
export interface AccessTokenClaims {
  sub: string;
  ver: number;
  typ: 'access';
}
