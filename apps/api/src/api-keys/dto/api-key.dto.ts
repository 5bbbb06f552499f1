import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ArrayMaxSize, ArrayMinSize, ArrayUnique, IsArray, IsIn, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { API_KEY_SCOPES, type ApiKeyScope } from '../api-key-scopes.js';
import type { ApiKeyEntity } from '../api-key.entity.js';
import type { ApiKeyUsage } from '../api-keys.repository.js';

/** Longest lifetime a key may be given with `expiresInDays`. */
export const MAX_EXPIRES_IN_DAYS = 3650;

/** POST /users/me/api-keys. At most one of `expiresAt` and `expiresInDays`; neither means it never expires. */
export class CreateApiKeyDto {
  @ApiProperty({ minLength: 1, maxLength: 100, example: 'laptop CLI' })
  @IsString()
  @MinLength(1)
  @MaxLength(100)
  name: string;

  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true, example: ['environments:read', 'terminal'] })
  @IsArray()
  @ArrayMinSize(1)
  @ArrayMaxSize(API_KEY_SCOPES.length)
  @ArrayUnique()
  @IsIn(API_KEY_SCOPES, { each: true })
  scopes: ApiKeyScope[];

  @ApiPropertyOptional({ format: 'date-time', description: 'When the key stops working (ISO 8601, in the future)' })
  @IsOptional()
  @IsISO8601({ strict: true, strictSeparator: true })
  expiresAt?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: MAX_EXPIRES_IN_DAYS, description: 'Days from now until the key stops working' })
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(MAX_EXPIRES_IN_DAYS)
  expiresInDays?: number;
}

/** Requests made with a key: today and over the last 30 days (UTC days, today included). */
export class ApiKeyUsageDto {
  @ApiProperty() today: number;
  @ApiProperty() last30Days: number;
}

/** A key as listed: never its secret nor its hash. */
export class ApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'laptop CLI' }) name: string;
  @ApiProperty({ example: 'dpk_k3v9x2qa', description: 'The first 12 characters of the key, to recognise it' }) prefix: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes: ApiKeyScope[];
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastUsedAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: ApiKeyUsageDto }) usage: ApiKeyUsageDto;
}

/** The answer of POST /users/me/api-keys: the only time the whole key is shown. */
export class CreatedApiKeyDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty() name: string;
  @ApiProperty() prefix: string;
  @ApiProperty({ enum: API_KEY_SCOPES, isArray: true }) scopes: ApiKeyScope[];
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) expiresAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ example: 'dpk_k3v9x2qa_…', description: 'The secret: shown once, store it now' }) key: string;
}

/** Maps a stored key to the wire, field by field (never `secretHash`). */
export function toApiKeyDto(key: ApiKeyEntity, usage: ApiKeyUsage | undefined): ApiKeyDto {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    lastUsedAt: key.lastUsedAt?.toISOString() ?? null,
    createdAt: key.createdAt.toISOString(),
    usage: { today: usage?.today ?? 0, last30Days: usage?.last30Days ?? 0 },
  };
}

/** Maps a key just created, with its secret, to the wire. */
export function toCreatedApiKeyDto(key: ApiKeyEntity, secret: string): CreatedApiKeyDto {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    expiresAt: key.expiresAt?.toISOString() ?? null,
    createdAt: key.createdAt.toISOString(),
    key: secret,
  };
}
