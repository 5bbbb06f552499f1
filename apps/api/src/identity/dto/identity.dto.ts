import { ApiProperty } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsEmail, IsString, MaxLength, MinLength } from 'class-validator';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../auth/dto/auth.dto.js';
import { normalizeIdentifier } from '../../users/dto/user.dto.js';

/** POST /auth/google: a Google ID token (a JWT, OpenID Connect Core §2) obtained by the app. */
export class GoogleIdTokenDto {
  @ApiProperty({ description: 'Google ID token (JWT, RS256) whose audience is GOOGLE_CLIENT_ID' })
  @IsString()
  @MinLength(1)
  @MaxLength(8192)
  idToken: string;
}

/** POST /auth/verify-email: the token of a mailed verification link. */
export class VerifyEmailDto {
  @ApiProperty({ description: 'The `token` query parameter of the mailed link' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  token: string;
}

/** POST /auth/password/forgot. */
export class ForgotPasswordDto {
  @ApiProperty({ example: 'ada@example.com', maxLength: 254 })
  @Transform(normalizeIdentifier)
  @IsEmail({}, { message: 'email must be an email address' })
  @MaxLength(254)
  email: string;
}

/** POST /auth/password/reset: the token of a mailed reset link and the new password. */
export class ResetPasswordDto {
  @ApiProperty({ description: 'The `token` query parameter of the mailed link' })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  token: string;

  @ApiProperty({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX })
  @IsString()
  @MinLength(PASSWORD_MIN)
  @MaxLength(PASSWORD_MAX)
  password: string;
}

/** The 202 body of POST /auth/password/forgot: the same whether or not the email has an account. */
export class ForgotPasswordAcceptedDto {
  @ApiProperty({ example: 'If an account uses this email, a link to reset its password has been sent' })
  message: string;
}
