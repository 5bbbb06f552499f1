import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsString, Matches } from 'class-validator';
import { normalizeUserCode, USER_CODE_PATTERN } from '../user-code.js';

export const DEVICE_CODE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:device_code';

/**
 * RFC 8628 §3.1 device authorization request, form-encoded (or JSON). Documentation only: the
 * endpoint reads its parameters as RFC 6749 §3.1 says (unknown ones ignored), see `readOAuthParameters`.
 */
export class DeviceCodeRequestDto {
  @ApiPropertyOptional({ example: 'devpocket-cli', maxLength: 255, description: 'Public client: any identifier, checked again at the token endpoint' })
  client_id?: string;

  @ApiPropertyOptional({ example: 'environments', maxLength: 1000, description: 'Space-separated scope tokens (RFC 6749 §3.3), recorded and echoed' })
  scope?: string;
}

/** RFC 8628 §3.4 device access token request, or RFC 6749 §6 refresh request. Documentation only, like {@link DeviceCodeRequestDto}. */
export class DeviceTokenRequestDto {
  @ApiProperty({ enum: [DEVICE_CODE_GRANT_TYPE, 'refresh_token'] })
  grant_type: string;

  @ApiPropertyOptional({ description: 'With the device_code grant: the device_code of the device authorization response' })
  device_code?: string;

  @ApiPropertyOptional({ description: 'With the refresh_token grant: the refresh token to rotate' })
  refresh_token?: string;

  @ApiPropertyOptional({ example: 'devpocket-cli', description: 'Must match the client_id of the device authorization, when that had one' })
  client_id?: string;
}

/** RFC 8628 §3.2 device authorization response. */
export class DeviceAuthorizationResponseDto {
  @ApiProperty({ description: 'Secret of the polling client; only its SHA-256 is stored' }) device_code: string;
  @ApiProperty({ example: 'BCDF-GHJK', pattern: '^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$' }) user_code: string;
  @ApiProperty({ example: 'http://127.0.0.1:3000/device' }) verification_uri: string;
  @ApiProperty({ example: 'http://127.0.0.1:3000/device?user_code=BCDF-GHJK' }) verification_uri_complete: string;
  @ApiProperty({ description: 'Lifetime of the device code and user code, in seconds', example: 900 }) expires_in: number;
  @ApiProperty({ description: 'Minimum seconds between two polls of the token endpoint', example: 5 }) interval: number;
}

/** RFC 6749 §5.1 access token response. */
export class DeviceTokenResponseDto {
  @ApiProperty({ description: 'JWT (HS256), sent as `Authorization: Bearer <access_token>`' }) access_token: string;
  @ApiProperty({ description: 'Opaque; rotated on every use (also by POST /auth/refresh)' }) refresh_token: string;
  @ApiProperty({ enum: ['Bearer'] }) token_type: 'Bearer';
  @ApiProperty({ description: 'Lifetime of the access token, in seconds' }) expires_in: number;
  @ApiPropertyOptional({ description: 'The scope of the device authorization, when it had one' }) scope?: string;
}

/** RFC 6749 §5.2 error response of the OAuth endpoints (not the API's error body). */
export class OAuthErrorDto {
  @ApiProperty({
    enum: ['invalid_request', 'invalid_grant', 'invalid_scope', 'unsupported_grant_type', 'authorization_pending', 'slow_down', 'access_denied', 'expired_token'],
  })
  error: string;

  @ApiPropertyOptional() error_description?: string;
}

/** The user code a signed-in person approves or denies; any case, with or without the dash (RFC 8628 §6.1). */
export class UserCodeDto {
  @ApiProperty({ example: 'BCDF-GHJK', description: 'As shown on the device; case, dash and spaces do not matter' })
  @Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? normalizeUserCode(value) : value))
  @IsString()
  @Matches(USER_CODE_PATTERN, { message: 'userCode must be 8 letters such as BCDF-GHJK' })
  userCode: string;
}

/** RFC 8414 §2 authorization server metadata of this server. */
export interface AuthorizationServerMetadata {
  issuer: string;
  token_endpoint: string;
  device_authorization_endpoint: string;
  grant_types_supported: string[];
  response_types_supported: string[];
  token_endpoint_auth_methods_supported: string[];
  service_documentation: string;
}
