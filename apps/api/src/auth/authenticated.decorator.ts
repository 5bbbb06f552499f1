import { applyDecorators, createParamDecorator, ExecutionContext, Injectable, SetMetadata, UseGuards, type CanActivate } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { AuthGuard } from '@nestjs/passport';
import { ApiBearerAuth, ApiForbiddenResponse, ApiUnauthorizedResponse } from '@nestjs/swagger';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import type { AuthUser } from './auth-user.js';

const ADMIN_ONLY = 'devpocket:admin-only';

/** Checks the bearer access token with the passport-jwt strategy; any failure is 401 UNAUTHORIZED. */
@Injectable()
export class JwtAuthGuard extends AuthGuard('jwt') {
  override handleRequest<TUser = AuthUser>(error: unknown, user: TUser | false): TUser {
    if (error instanceof DomainException) throw error;
    if (error || !user) throw new DomainException(ErrorCode.UNAUTHORIZED, 'A valid access token is required');
    return user;
  }
}

/** Refuses non-admins on routes marked `@Authenticated({ admin: true })` with 403 FORBIDDEN. */
@Injectable()
export class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const adminOnly = this.reflector.getAllAndOverride<boolean>(ADMIN_ONLY, [context.getHandler(), context.getClass()]);
    if (!adminOnly) return true;
    const user = context.switchToHttp().getRequest<{ user?: AuthUser }>().user;
    if (user?.role !== 'admin') throw new DomainException(ErrorCode.FORBIDDEN, 'This action needs an admin');
    return true;
  }
}

/** Requires a signed-in caller (and an admin with `{ admin: true }`), documented in OpenAPI. */
export function Authenticated(options: { admin?: boolean } = {}): ClassDecorator & MethodDecorator {
  return applyDecorators(
    SetMetadata(ADMIN_ONLY, options.admin ?? false),
    UseGuards(JwtAuthGuard, RolesGuard),
    ApiBearerAuth(),
    ApiUnauthorizedResponse({ description: 'No or invalid access token' }),
    ...(options.admin ? [ApiForbiddenResponse({ description: 'Not an admin' })] : []),
  );
}

/** The signed-in caller of the request. */
export const CurrentUser = createParamDecorator((_data: unknown, context: ExecutionContext): AuthUser => {
  return context.switchToHttp().getRequest<{ user: AuthUser }>().user;
});
