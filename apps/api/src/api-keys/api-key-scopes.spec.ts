import { describe, expect, it } from '@jest/globals';
import type { AuthUser } from '../auth/auth-user.js';
import { DomainException } from '../common/domain.exception.js';
import { assertKeyScopes, grantableScopes, requiredKeyScopes } from './api-key-scopes.js';

const session: AuthUser = { id: 'u', role: 'user', plan: 'free' };
const reader: AuthUser = { ...session, scopes: ['environments:read'] };

function refusal(user: AuthUser, required: Parameters<typeof assertKeyScopes>[1]): string | undefined {
  try {
    assertKeyScopes(user, required);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(DomainException);
    expect((error as DomainException).status).toBe(403);
    return (error as DomainException).message;
  }
}

describe('API key scopes', () => {
  it('lets an access token through whatever the route asks of keys', () => {
    expect(refusal(session, null)).toBeUndefined();
    expect(refusal(session, ['admin'])).toBeUndefined();
  });

  it('refuses a key on a route that names no scope', () => {
    expect(requiredKeyScopes({})).toBeNull();
    expect(refusal(reader, requiredKeyScopes({}))).toMatch(/cannot be used here/);
  });

  it('lets a key through only when it carries every needed scope, naming the missing one', () => {
    expect(refusal(reader, ['environments:read'])).toBeUndefined();
    expect(refusal(reader, ['environments:write'])).toMatch(/environments:write/);
    expect(refusal({ ...session, scopes: ['terminal'] }, ['environments:read', 'terminal'])).toMatch(/environments:read$/);
  });

  it('asks admin routes for the admin scope on top of their own', () => {
    expect(requiredKeyScopes({ admin: true })).toEqual(['admin']);
    expect(requiredKeyScopes({ admin: true, scopes: ['environments:read'] })).toEqual(['admin', 'environments:read']);
    expect(requiredKeyScopes({ admin: true, scopes: ['admin'] })).toEqual(['admin']);
  });

  it('lets only admins grant the admin scope', () => {
    expect(grantableScopes('user')).toEqual(['environments:read', 'environments:write', 'terminal']);
    expect(grantableScopes('admin')).toContain('admin');
  });
});
