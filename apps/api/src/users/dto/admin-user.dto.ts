import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsBoolean, IsIn, IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/validation.js';
import { PLANS, ROLES, type Plan, type Role, type UserEntity } from '../user.entity.js';
import { toUserDto, UserDto } from './user.dto.js';

const toBooleanWord = ({ value }: { value: unknown }) => (value === 'true' ? true : value === 'false' ? false : value);

/** GET /users (admin): filters. */
export class ListUsersQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ description: 'Part of the email, username or full name' })
  @IsOptional()
  @IsString()
  @MaxLength(254)
  q?: string;

  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ enum: PLANS })
  @IsOptional()
  @IsIn(PLANS)
  plan?: Plan;

  @ApiPropertyOptional({ type: Boolean })
  @IsOptional()
  @Transform(toBooleanWord)
  @IsBoolean({ message: 'active must be true or false' })
  active?: boolean;
}

/** PATCH /users/:id (admin): what to change; absent fields stay. */
export class UpdateUserDto {
  @ApiPropertyOptional({ enum: ROLES })
  @IsOptional()
  @IsIn(ROLES)
  role?: Role;

  @ApiPropertyOptional({ enum: PLANS })
  @IsOptional()
  @IsIn(PLANS)
  plan?: Plan;

  @ApiPropertyOptional({ description: 'false deactivates the account: its tokens and keys stop working at once' })
  @IsOptional()
  @IsBoolean()
  active?: boolean;
}

/** A `User` as admins see it: with whether it is active and locked. */
export class AdminUserDto extends UserDto {
  @ApiProperty() active: boolean;
  @ApiProperty({ type: String, format: 'date-time', nullable: true, description: 'Locked after failed sign-ins until then' }) lockedUntil: string | null;
}

export function toAdminUserDto(user: UserEntity): AdminUserDto {
  return { ...toUserDto(user), active: user.active, lockedUntil: user.lockedUntil?.toISOString() ?? null };
}
