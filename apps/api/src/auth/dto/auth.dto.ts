import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { normalizeIdentifier, USERNAME_PATTERN, UserDto } from '../../users/dto/user.dto.js';

/** Passwords: 8–128 characters (NIST SP 800-63B §5.1.1: length over composition rules). */
const PASSWORD_MIN = 8;
const PASSWORD_MAX = 128;

export class RegisterDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @Transform(normalizeIdentifier)
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email: string;

  @ApiProperty({ example: 'ada', pattern: USERNAME_PATTERN.source })
  @Transform(normalizeIdentifier)
  @IsString()
  @Matches(USERNAME_PATTERN, { message: 'username must be 3-32 characters of a-z, 0-9, _ and -, starting with a letter or digit' })
  username: string;

  @ApiProperty({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX })
  @IsString()
  @MinLength(PASSWORD_MIN)
  @MaxLength(PASSWORD_MAX)
  password: string;

  @ApiPropertyOptional({ maxLength: 200 })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  fullName?: string;
}

/** Exactly one of `email` and `username`, with the password. */
export class LoginDto {
  @ApiPropertyOptional({ example: 'ada@example.com' })
  @IsOptional()
  @Transform(normalizeIdentifier)
  @IsString()
  @MaxLength(254)
  email?: string;

  @ApiPropertyOptional({ example: 'ada' })
  @IsOptional()
  @Transform(normalizeIdentifier)
  @IsString()
  @MaxLength(32)
  username?: string;

  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX)
  password: string;
}

export class RefreshTokenDto {
  @ApiProperty({ description: 'The opaque refresh token of an AuthResult' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  refreshToken: string;
}

/** API.md `AuthResult`. */
export class AuthResultDto {
  @ApiProperty({ type: UserDto }) user: UserDto;
  @ApiProperty({ description: 'JWT (HS256), sent as `Authorization: Bearer <accessToken>`' }) accessToken: string;
  @ApiProperty({ description: 'Opaque; rotated on every use' }) refreshToken: string;
  @ApiProperty({ enum: ['Bearer'] }) tokenType: 'Bearer';
  @ApiProperty({ description: 'Lifetime of the access token, in seconds' }) expiresIn: number;
}

export { PASSWORD_MAX, PASSWORD_MIN };
