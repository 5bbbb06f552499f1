import { Body, Controller, Get, Header, HttpCode, HttpStatus, Post, UseFilters } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiExcludeController,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user.js';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import { DeviceAuthService } from './device-auth.service.js';
import { DEVICE_PAGE_HEADERS, DEVICE_PAGE_HTML } from './device-page.js';
import {
  DeviceAuthorizationResponseDto,
  DeviceCodeRequestDto,
  DeviceTokenRequestDto,
  DeviceTokenResponseDto,
  OAuthErrorDto,
  UserCodeDto,
  type AuthorizationServerMetadata,
} from './dto/device-auth.dto.js';
import { OAuthErrorFilter } from './oauth-error.js';

/**
 * The OAuth endpoints of the device grant (RFC 8628 §3.1, §3.4). Their bodies are read as raw
 * OAuth parameters (`unknown`: the global validation pipe leaves them alone, since RFC 6749 §3.1
 * wants unknown parameters ignored) and their errors have the RFC 6749 §5.2 shape.
 */
@ApiTags('auth')
@Controller('auth/device')
@UseFilters(OAuthErrorFilter)
export class DeviceOAuthController {
  constructor(private readonly deviceAuth: DeviceAuthService) {}

  @Post('code')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @ApiOperation({ summary: 'Device authorization request (RFC 8628 §3.1)', description: 'Errors have the OAuth shape `{error, error_description}` (RFC 6749 §5.2).' })
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiBody({ type: DeviceCodeRequestDto })
  @ApiOkResponse({ type: DeviceAuthorizationResponseDto })
  @ApiBadRequestResponse({ type: OAuthErrorDto, description: 'invalid_request or invalid_scope' })
  code(@Body() body: unknown): Promise<DeviceAuthorizationResponseDto> {
    return this.deviceAuth.startAuthorization(body);
  }

  @Post('token')
  @HttpCode(HttpStatus.OK)
  @Header('Cache-Control', 'no-store')
  @Header('Pragma', 'no-cache')
  @ApiOperation({
    summary: 'Token endpoint: device_code (RFC 8628 §3.4) and refresh_token (RFC 6749 §6) grants',
    description:
      'Poll no sooner than `interval` seconds apart. Errors have the OAuth shape `{error, error_description}` (RFC 6749 §5.2): ' +
      'authorization_pending, slow_down (the interval grows by 5 s), access_denied, expired_token, invalid_grant, unsupported_grant_type, invalid_request.',
  })
  @ApiConsumes('application/x-www-form-urlencoded', 'application/json')
  @ApiBody({ type: DeviceTokenRequestDto })
  @ApiOkResponse({ type: DeviceTokenResponseDto })
  @ApiBadRequestResponse({ type: OAuthErrorDto, description: 'The RFC 6749 §5.2 / RFC 8628 §3.5 error' })
  token(@Body() body: unknown): Promise<DeviceTokenResponseDto> {
    return this.deviceAuth.exchange(body);
  }
}

/** The signed-in person's side of the device grant (RFC 8628 §3.3), in the API's conventions. */
@ApiTags('auth')
@Controller('auth/device')
export class DeviceApprovalController {
  constructor(private readonly deviceAuth: DeviceAuthService) {}

  @Post('approve')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated()
  @ApiOperation({ summary: 'Approve the device showing this user code: it gets tokens for your account' })
  @ApiNoContentResponse({ description: 'Approved; the device receives its tokens at its next poll' })
  @ApiBadRequestResponse({ description: 'Malformed, expired (DEVICE_CODE_EXPIRED) or already used (DEVICE_CODE_USED) user code' })
  @ApiNotFoundResponse({ description: 'No device is waiting with this code (DEVICE_CODE_NOT_FOUND)' })
  approve(@CurrentUser() user: AuthUser, @Body() body: UserCodeDto): Promise<void> {
    return this.deviceAuth.approve(user.id, body.userCode);
  }

  @Post('deny')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated()
  @ApiOperation({ summary: 'Refuse the device showing this user code' })
  @ApiNoContentResponse({ description: 'Denied; the device gets access_denied at its next poll' })
  @ApiBadRequestResponse({ description: 'Malformed, expired (DEVICE_CODE_EXPIRED) or already used (DEVICE_CODE_USED) user code' })
  @ApiNotFoundResponse({ description: 'No device is waiting with this code (DEVICE_CODE_NOT_FOUND)' })
  deny(@CurrentUser() user: AuthUser, @Body() body: UserCodeDto): Promise<void> {
    return this.deviceAuth.deny(user.id, body.userCode);
  }
}

/**
 * Routes at the root, outside `/api/v1` (API.md): the verification page (RFC 8628 §3.3) and the
 * RFC 8414 metadata. Not in the OpenAPI document, which describes `/api/v1` only.
 */
@ApiExcludeController()
@Controller()
export class DeviceRootController {
  constructor(private readonly deviceAuth: DeviceAuthService) {}

  /** The `verification_uri`: a self-contained page where a signed-in person enters the user code and approves or denies. */
  @Get('device')
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', DEVICE_PAGE_HEADERS.contentSecurityPolicy)
  @Header('Cache-Control', 'no-store')
  @Header('Referrer-Policy', 'no-referrer')
  @Header('X-Frame-Options', 'DENY')
  page(): string {
    return DEVICE_PAGE_HTML;
  }

  /** RFC 8414 §3: the authorization server metadata. */
  @Get('.well-known/oauth-authorization-server')
  @Header('Cache-Control', 'public, max-age=300')
  metadata(): AuthorizationServerMetadata {
    return this.deviceAuth.metadata();
  }
}
