import { Controller, Get, Query } from '@nestjs/common';
import { ApiNotFoundResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { Authenticated } from '../auth/authenticated.decorator.js';
import { ApiUuidParam, pageDtoOf, UuidParam, type Page } from '../common/validation.js';
import { ListTemplatesQueryDto, TemplateDto } from './dto/template.dto.js';
import { TemplatesService } from './templates.service.js';

const TemplatePageDto = pageDtoOf(TemplateDto, 'TemplatePageDto');

@ApiTags('templates')
@Authenticated({ scopes: ['environments:read'] })
@Controller('templates')
export class TemplatesController {
  constructor(private readonly templates: TemplatesService) {}

  @Get()
  @ApiOkResponse({ type: TemplatePageDto })
  list(@Query() query: ListTemplatesQueryDto): Promise<Page<TemplateDto>> {
    return this.templates.list(query);
  }

  @Get(':id')
  @ApiUuidParam()
  @ApiOkResponse({ type: TemplateDto })
  @ApiNotFoundResponse({ description: 'No such template' })
  get(@UuidParam() id: string): Promise<TemplateDto> {
    return this.templates.get(id);
  }
}
