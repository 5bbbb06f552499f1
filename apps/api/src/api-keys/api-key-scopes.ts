import type { AuthUser } from '../auth/auth-user.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import type { Role } from '../users/user.entity.js';

/** What an API key may be granted (API.md "Users and keys"). */
export const API_KEY_SCOPES = ['environments:read', 'environments:write', 'terminal', 'admin'] as const;
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

/** What a route asks of the caller: an admin, and the scopes an API key must carry to use it. */
export interface ScopeRequirement {
  admin?: boolean;
  scopes?: readonly ApiKeyScope[];
}

/**
 * The scopes an API key needs for a route, or null when no key may use it. A route that names
 * no scope is for signed-in sessions only (deny by default: account, password and key
 * management stay out of a leaked key's reach); an admin route also needs `admin`.
 */
export function requiredKeyScopes(requirement: ScopeRequirement): ApiKeyScope[] | null {
  if (requirement.admin) return [...new Set<ApiKeyScope>(['admin', ...(requirement.scopes ?? [])])];
  return requirement.scopes ? [...requirement.scopes] : null;
}

/**
 * Lets an access token through (`scopes` undefined: the user's full rights), and an API key only
 * when it carries every scope of `required`.
 * @throws DomainException FORBIDDEN (403) for a key without a needed scope, or on a session-only route (`required` null)
 */
export function assertKeyScopes(user: AuthUser, required: readonly ApiKeyScope[] | null): void {
  if (user.scopes === undefined) return;
  if (required === null) throw new DomainException(ErrorCode.FORBIDDEN, 'An API key cannot be used here; sign in instead');
  const missing = required.filter((scope) => !user.scopes!.includes(scope));
  if (missing.length > 0) throw new DomainException(ErrorCode.FORBIDDEN, `This API key lacks the scope ${missing.join(', ')}`);
}

/** The scopes an account of `role` may put on its keys: `admin` only for admins. */
export function grantableScopes(role: Role): ApiKeyScope[] {
  return API_KEY_SCOPES.filter((scope) => scope !== 'admin' || role === 'admin');
}
