import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DeviceApprovalController, DeviceOAuthController, DeviceRootController } from './device-auth.controller.js';
import { DeviceAuthService } from './device-auth.service.js';
import { DeviceAuthorizationEntity } from './device-authorization.entity.js';
import { DeviceAuthorizationsRepository } from './device-authorizations.repository.js';

/** OAuth 2.0 Device Authorization Grant (RFC 8628) for command-line clients, with its RFC 8414 metadata. */
@Module({
  imports: [TypeOrmModule.forFeature([DeviceAuthorizationEntity])],
  controllers: [DeviceOAuthController, DeviceApprovalController, DeviceRootController],
  providers: [DeviceAuthorizationsRepository, DeviceAuthService],
})
export class DeviceAuthModule {}
