import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsOptional, IsString, MaxLength } from 'class-validator';
import { PageQueryDto } from '../../common/validation.js';
import { TEMPLATE_STATUSES, type TemplateEntity, type TemplateStatus } from '../template.entity.js';

/** CPU, memory and storage in Kubernetes notation. */
export class ResourcesDto {
  @ApiProperty({ example: '500m' }) cpu: string;
  @ApiProperty({ example: '1Gi' }) memory: string;
  @ApiProperty({ example: '5Gi' }) storage: string;
}

/** API.md `Template`. */
export class TemplateDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'nodejs' }) name: string;
  @ApiProperty({ example: 'Node.js 22' }) displayName: string;
  @ApiProperty() description: string;
  @ApiProperty({ example: 'language' }) category: string;
  @ApiProperty({ type: [String] }) tags: string[];
  @ApiProperty({ example: 'node:22-bookworm' }) image: string;
  @ApiProperty({ example: 3000 }) defaultPort: number;
  @ApiProperty({ type: ResourcesDto }) resources: ResourcesDto;
  @ApiProperty({ type: 'object', additionalProperties: { type: 'string' } }) environmentVariables: Record<string, string>;
  @ApiProperty({ type: [String] }) startupCommands: string[];
  @ApiProperty({ example: '1.0.0' }) version: string;
  @ApiProperty({ enum: TEMPLATE_STATUSES }) status: TemplateStatus;
}

/** Maps a template row to the wire, field by field. */
export function toTemplateDto(template: TemplateEntity): TemplateDto {
  return {
    id: template.id,
    name: template.name,
    displayName: template.displayName,
    description: template.description,
    category: template.category,
    tags: [...template.tags],
    image: template.image,
    defaultPort: template.defaultPort,
    resources: { cpu: template.resources.cpu, memory: template.resources.memory, storage: template.resources.storage },
    environmentVariables: { ...template.environmentVariables },
    startupCommands: [...template.startupCommands],
    version: template.version,
    status: template.status,
  };
}

/** GET /templates filters. */
export class ListTemplatesQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ example: 'language' })
  @IsOptional()
  @IsString()
  @MaxLength(50)
  category?: string;

  @ApiPropertyOptional({ description: 'Words matched against name, display name, description and tags' })
  @IsOptional()
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString()
  @MaxLength(100)
  q?: string;
}
