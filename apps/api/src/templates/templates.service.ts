import { Injectable, Logger, type OnApplicationBootstrap } from '@nestjs/common';
import { AppConfig } from '../config/app-config.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import type { Page } from '../common/validation.js';
import type { ListTemplatesQueryDto, TemplateDto } from './dto/template.dto.js';
import { toTemplateDto } from './dto/template.dto.js';
import { loadTemplateDirectory } from './template-definition.js';
import type { TemplateEntity } from './template.entity.js';
import { TemplatesRepository } from './templates.repository.js';

/** Templates: loaded from TEMPLATES_DIR at start, readable by every signed-in user. */
@Injectable()
export class TemplatesService implements OnApplicationBootstrap {
  private readonly logger = new Logger(TemplatesService.name);

  constructor(
    private readonly config: AppConfig,
    private readonly templates: TemplatesRepository,
  ) {}

  /** Upserts every template of TEMPLATES_DIR; a bad file stops the server with its name and problems. */
  async onApplicationBootstrap(): Promise<void> {
    const definitions = await loadTemplateDirectory(this.config.templatesDir);
    await this.templates.upsertByName(definitions);
    this.logger.log(`loaded ${definitions.length} templates from ${this.config.templatesDir}`);
  }

  async list(query: ListTemplatesQueryDto): Promise<Page<TemplateDto>> {
    const [items, total] = await this.templates.list(query);
    return { items: items.map(toTemplateDto), total, limit: query.limit, offset: query.offset };
  }

  /** @throws DomainException TEMPLATE_NOT_FOUND (404) */
  async get(id: string): Promise<TemplateDto> {
    return toTemplateDto(await this.getEntity(id));
  }

  /** The template row, for other services. @throws DomainException TEMPLATE_NOT_FOUND (404) */
  async getEntity(id: string): Promise<TemplateEntity> {
    const template = await this.templates.findById(id);
    if (!template) throw new DomainException(ErrorCode.TEMPLATE_NOT_FOUND, 'Template not found');
    return template;
  }
}
