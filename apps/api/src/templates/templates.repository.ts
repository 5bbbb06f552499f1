import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import type { TemplateDefinition } from './template-definition.js';
import { TemplateEntity } from './template.entity.js';

/** Persistence of templates (`templates`). */
@Injectable()
export class TemplatesRepository {
  constructor(@InjectRepository(TemplateEntity) private readonly templates: Repository<TemplateEntity>) {}

  findById(id: string): Promise<TemplateEntity | null> {
    return this.templates.findOneBy({ id });
  }

  /** A page of templates ordered by name, optionally of one category and matching words `q`. */
  async list(filter: { category?: string; q?: string; limit: number; offset: number }): Promise<[TemplateEntity[], number]> {
    const query = this.templates.createQueryBuilder('t').orderBy('t.name', 'ASC').take(filter.limit).skip(filter.offset);
    if (filter.category) query.andWhere('t.category = :category', { category: filter.category });
    if (filter.q) {
      const pattern = `%${filter.q.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      query.andWhere(
        `(t.name ILIKE :pattern OR t.display_name ILIKE :pattern OR t.description ILIKE :pattern
          OR EXISTS (SELECT 1 FROM jsonb_array_elements_text(t.tags) AS tag WHERE tag ILIKE :pattern))`,
        { pattern },
      );
    }
    return query.getManyAndCount();
  }

  /** Inserts or updates templates by name (the YAML folder is the source of truth for them). */
  async upsertByName(definitions: TemplateDefinition[]): Promise<void> {
    if (definitions.length === 0) return;
    await this.templates.upsert(
      definitions.map((definition) => ({
        name: definition.name,
        displayName: definition.displayName,
        description: definition.description,
        category: definition.category,
        tags: definition.tags,
        image: definition.image,
        defaultPort: definition.defaultPort,
        resources: { cpu: definition.resources.cpu, memory: definition.resources.memory, storage: definition.resources.storage },
        environmentVariables: definition.environmentVariables,
        startupCommands: definition.startupCommands,
        version: definition.version,
        status: definition.status,
      })),
      { conflictPaths: ['name'] },
    );
  }
}
