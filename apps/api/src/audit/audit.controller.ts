import { Controller, Get, Query } from '@nestjs/common';
import { ApiBadRequestResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/authenticated.decorator.js';
import { pageDtoOf, type Page } from '../common/validation.js';
import { AuditService } from './audit.service.js';
import { AuditEventDto, ListAuditEventsQueryDto } from './dto/audit-event.dto.js';

const AuditEventPageDto = pageDtoOf(AuditEventDto, 'AuditEventPageDto');

@ApiTags('audit')
@Authenticated({ admin: true })
@Controller('audit-events')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** The audit trail, newest first (admins). */
  @Get()
  @ApiOkResponse({ type: AuditEventPageDto })
  @ApiBadRequestResponse({ description: 'Invalid filter' })
  list(@Query() query: ListAuditEventsQueryDto): Promise<Page<AuditEventDto>> {
    return this.audit.list(query);
  }
}
