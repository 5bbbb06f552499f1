import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, Matches, MaxLength, MinLength, ValidateIf } from 'class-validator';
import { PLANS, ROLES, type Plan, type Role, type UserEntity } from '../user.entity.js';

/** Usernames: 3–32 of a–z, 0–9, `_` and `-`, starting with a letter or digit; stored lower-case. */
export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9_-]{2,31}$/;

/** Lower-cases and trims a string input, leaving other types for the validators to refuse. */
export const normalizeIdentifier = ({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim().toLowerCase() : value);

/** API.md `User`. */
export class UserDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'ada@example.com' }) email: string;
  @ApiProperty({ example: 'ada' }) username: string;
  @ApiProperty({ type: String, nullable: true, example: 'Ada Lovelace' }) fullName: string | null;
  @ApiProperty({ enum: ROLES }) role: Role;
  @ApiProperty({ enum: PLANS }) plan: Plan;
  @ApiProperty() emailVerified: boolean;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

/** Maps an account to the wire, field by field (never the password hash or counters). */
export function toUserDto(user: UserEntity): UserDto {
  return {
    id: user.id,
    email: user.email,
    username: user.username,
    fullName: user.fullName,
    role: user.role,
    plan: user.plan,
    emailVerified: user.emailVerified,
    createdAt: user.createdAt.toISOString(),
  };
}

/** PATCH /users/me. */
export class UpdateMeDto {
  @ApiProperty({ required: false, pattern: USERNAME_PATTERN.source })
  // Absent means "keep it"; null is validated (and refused): the column cannot be null.
  @ValidateIf((_dto, value) => value !== undefined)
  @Transform(normalizeIdentifier)
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username must be 3-32 characters of a-z, 0-9, _ and -, starting with a letter or digit' })
  username?: string;

  @ApiProperty({ required: false, type: String, nullable: true, maxLength: 200 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  fullName?: string;
}
