import { Body, Controller, HttpCode, HttpStatus, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBadRequestResponse, ApiNoContentResponse, ApiTags } from '@nestjs/swagger';
import type { AuthUser } from '../auth/auth-user.js';
import { Authenticated, CurrentUser } from '../auth/authenticated.decorator.js';
import { ForgotPasswordAcceptedDto, ForgotPasswordDto, ResetPasswordDto, VerifyEmailDto } from './dto/identity.dto.js';
import { EmailVerificationService } from './email-verification.service.js';
import { PasswordResetService } from './password-reset.service.js';
import { AuthRateLimited } from '../rate-limits/rate-limit.guard.js';

const FORGOT_ANSWER: ForgotPasswordAcceptedDto = { message: 'If an account uses this email, a link to reset its password has been sent' };

@ApiTags('auth')
@ApiBadRequestResponse({ description: 'Invalid input, or INVALID_EMAIL_TOKEN: unknown, used or expired link' })
@Controller('auth')
export class AccountEmailController {
  constructor(
    private readonly verification: EmailVerificationService,
    private readonly passwordReset: PasswordResetService,
  ) {}

  @Post('verify-email')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'The email is verified' })
  verifyEmail(@Body() body: VerifyEmailDto): Promise<void> {
    return this.verification.verify(body.token);
  }

  @Post('resend-verification')
  @HttpCode(HttpStatus.NO_CONTENT)
  @Authenticated()
  @ApiNoContentResponse({ description: 'A new verification link is mailed (nothing when already verified)' })
  resendVerification(@CurrentUser() user: AuthUser): Promise<void> {
    return this.verification.resend(user.id);
  }

  @Post('password/forgot')
  // Limited like sign-in (per IP, and per IP and email), so it cannot flood a mailbox.
  @AuthRateLimited()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiAcceptedResponse({ type: ForgotPasswordAcceptedDto, description: 'The same answer whether or not an account uses the email' })
  forgotPassword(@Body() body: ForgotPasswordDto): ForgotPasswordAcceptedDto {
    this.passwordReset.requestReset(body.email);
    return FORGOT_ANSWER;
  }

  @Post('password/reset')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiNoContentResponse({ description: 'The password is changed and every session of the account is revoked' })
  resetPassword(@Body() body: ResetPasswordDto): Promise<void> {
    return this.passwordReset.reset(body.token, body.password);
  }
}
