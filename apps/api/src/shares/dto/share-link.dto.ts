import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsInt, Max, Min, ValidateIf } from 'class-validator';
import { SHARE_MODES, type ShareLinkEntity, type ShareMode } from '../share-link.entity.js';

/** Shortest lifetime of a share link, in seconds. */
export const MIN_SHARE_SECONDS = 60;
/** Longest lifetime of a share link, in seconds (30 days). */
export const MAX_SHARE_SECONDS = 2_592_000;
/** Lifetime of a share link when none is asked for, in seconds (one hour). */
export const DEFAULT_SHARE_SECONDS = 3600;

/** POST /environments/:id/shares. */
export class CreateShareLinkDto {
  @ApiProperty({ enum: SHARE_MODES, example: 'read', description: '`read`: the guest watches; `write`: the guest may also type' })
  @IsIn(SHARE_MODES)
  mode: ShareMode;

  @ApiPropertyOptional({
    minimum: MIN_SHARE_SECONDS,
    maximum: MAX_SHARE_SECONDS,
    default: DEFAULT_SHARE_SECONDS,
    description: 'Seconds from now until the link stops working',
  })
  // Absent means the default; null is validated (and refused) rather than read as absent.
  @ValidateIf((_dto, value) => value !== undefined)
  @IsInt()
  @Min(MIN_SHARE_SECONDS)
  @Max(MAX_SHARE_SECONDS)
  expiresInSeconds?: number;
}

/** A share link as listed: never its token nor the token's hash. */
export class ShareLinkDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'dps_Zk3v9x2q', description: 'The first 12 characters of the token, to recognise it' }) tokenPrefix: string;
  @ApiProperty({ enum: SHARE_MODES }) mode: ShareMode;
  @ApiProperty({ format: 'date-time' }) expiresAt: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) revokedAt: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'When a guest last attached with it' }) lastUsedAt: string | null;
  @ApiProperty({ description: 'Terminal attaches made with it' }) useCount: number;
  @ApiProperty({ description: 'Neither revoked nor expired: the token works' }) active: boolean;
}

/** The answer of POST /environments/:id/shares: the only time the token is shown. */
export class CreatedShareLinkDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'dps_Zk3v9x2q…', description: 'The secret: shown once; a guest connects with `auth: { shareToken }`' }) token: string;
  @ApiProperty({ enum: SHARE_MODES }) mode: ShareMode;
  @ApiProperty({ format: 'date-time' }) expiresAt: string;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

/** Maps a stored share link to the wire, field by field (never `tokenHash`); `active` as of `now`. */
export function toShareLinkDto(share: ShareLinkEntity, now: Date): ShareLinkDto {
  return {
    id: share.id,
    tokenPrefix: share.tokenPrefix,
    mode: share.mode,
    expiresAt: share.expiresAt.toISOString(),
    createdAt: share.createdAt.toISOString(),
    revokedAt: share.revokedAt?.toISOString() ?? null,
    lastUsedAt: share.lastUsedAt?.toISOString() ?? null,
    useCount: share.useCount,
    active: share.revokedAt === null && share.expiresAt > now,
  };
}

/** Maps a share link just created, with its token, to the wire. */
export function toCreatedShareLinkDto(share: ShareLinkEntity, token: string): CreatedShareLinkDto {
  return {
    id: share.id,
    token,
    mode: share.mode,
    expiresAt: share.expiresAt.toISOString(),
    createdAt: share.createdAt.toISOString(),
  };
}
