import { Body, Controller, Get, HttpCode, HttpStatus, Post, Redirect, Req } from '@nestjs/common';
import { ApiConflictResponse, ApiFoundResponse, ApiNotFoundResponse, ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { Request } from 'express';
import { AuthResultDto } from '../auth/dto/auth.dto.js';
import { GoogleIdTokenDto } from './dto/identity.dto.js';
import { GoogleSignInService } from './google-sign-in.service.js';

@ApiTags('auth')
@ApiNotFoundResponse({ description: 'GOOGLE_SIGN_IN_NOT_CONFIGURED: Google sign-in is not configured on this server' })
@Controller('auth/google')
export class GoogleSignInController {
  constructor(private readonly google: GoogleSignInService) {}

  @Post()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Sign in with a Google ID token (mobile)', description: 'Creates the account on first use; links an existing account with the same email only when Google verified the email.' })
  @ApiOkResponse({ type: AuthResultDto })
  @ApiUnauthorizedResponse({ description: 'INVALID_ID_TOKEN: forged, expired, wrong audience or issuer' })
  @ApiConflictResponse({ description: 'GOOGLE_EMAIL_UNVERIFIED: an account uses this email and Google has not verified it' })
  @ApiServiceUnavailableResponse({ description: "Google's signing keys cannot be fetched" })
  signIn(@Body() body: GoogleIdTokenDto): Promise<AuthResultDto> {
    return this.google.signInWithIdToken(body.idToken);
  }

  @Get()
  @Redirect()
  @ApiOperation({ summary: 'Start Google sign-in in a browser', description: "A browser navigation: redirects to Google's consent page and sets a short-lived state cookie." })
  @ApiFoundResponse({ description: "Redirect to Google's consent page" })
  start(@Req() req: Request): Promise<{ url: string }> {
    return this.google.startWebSignIn(req);
  }

  /**
   * Answers the AuthResult as JSON. A web app would instead redirect to its own page with the
   * tokens in the URL fragment; JSON keeps this endpoint usable by any client for now.
   */
  @Get('callback')
  @ApiOperation({ summary: "Google's redirect back after consent: exchanges the code and signs in" })
  @ApiOkResponse({ type: AuthResultDto })
  @ApiUnauthorizedResponse({ description: 'GOOGLE_SIGN_IN_FAILED: declined, state mismatch, or code refused' })
  @ApiConflictResponse({ description: 'GOOGLE_EMAIL_UNVERIFIED' })
  callback(@Req() req: Request): Promise<AuthResultDto> {
    return this.google.completeWebSignIn(req);
  }
}
