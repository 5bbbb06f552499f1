import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsObject, IsOptional, IsString, IsUUID, Matches, Max, MaxLength, Min, ValidateNested } from 'class-validator';
import { IsQuantity, PageQueryDto } from '../../common/validation.js';
import { ResourcesDto } from '../../templates/dto/template.dto.js';
import type { EnvironmentEntity } from '../environment.entity.js';
import { ENVIRONMENT_STATUSES, type EnvironmentStatus } from '../environment-state.js';

/** Environment names: DNS-1123 labels, 1–63 characters, as Coder and Kubernetes name things. */
export const ENVIRONMENT_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAME_MESSAGE = 'name must be 1-63 lower-case letters, digits or -, starting and ending with a letter or digit';

/** Requested resources; each part falls back to the template's. */
export class ResourcesInputDto {
  @ApiPropertyOptional({ example: '500m' })
  @IsOptional()
  @IsQuantity()
  cpu?: string;

  @ApiPropertyOptional({ example: '1Gi' })
  @IsOptional()
  @IsQuantity()
  memory?: string;

  @ApiPropertyOptional({ example: '5Gi' })
  @IsOptional()
  @IsQuantity()
  storage?: string;
}

/** PATCH /environments/:id: the new name. */
export class RenameEnvironmentDto {
  @ApiProperty({ example: 'my-app', pattern: ENVIRONMENT_NAME.source })
  @IsString()
  @MaxLength(63)
  @Matches(ENVIRONMENT_NAME, { message: NAME_MESSAGE })
  name: string;
}

/** POST /environments. */
export class CreateEnvironmentDto extends RenameEnvironmentDto {
  @ApiProperty({ format: 'uuid' })
  @IsUUID('all', { message: 'templateId must be a UUID' })
  templateId: string;

  @ApiPropertyOptional({ format: 'uuid', description: 'A registered cluster; omitted: the default cluster, or the local runtime' })
  @IsOptional()
  @IsUUID('all', { message: 'clusterId must be a UUID' })
  clusterId?: string;

  @ApiPropertyOptional({ type: ResourcesInputDto })
  @IsOptional()
  @IsObject({ message: 'resources must be an object' })
  @ValidateNested()
  @Type(() => ResourcesInputDto)
  resources?: ResourcesInputDto;
}

export class ListEnvironmentsQueryDto extends PageQueryDto {
  @ApiPropertyOptional({ enum: ENVIRONMENT_STATUSES })
  @IsOptional()
  @IsIn(ENVIRONMENT_STATUSES)
  status?: EnvironmentStatus;
}

export class LogsQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 10000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(10000)
  tail: number = 100;
}

/** API.md `Environment`. */
export class EnvironmentDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'my-app' }) name: string;
  @ApiProperty({ enum: ENVIRONMENT_STATUSES }) status: EnvironmentStatus;
  @ApiProperty({ format: 'uuid' }) templateId: string;
  @ApiProperty({ type: String, format: 'uuid', nullable: true }) clusterId: string | null;
  @ApiProperty({ enum: ['local', 'kubernetes'] }) runtime: 'local' | 'kubernetes';
  @ApiProperty({ type: ResourcesDto }) resources: ResourcesDto;
  @ApiProperty({ type: String, nullable: true }) url: string | null;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastActivityAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
  @ApiProperty({ format: 'date-time' }) updatedAt: string;
}

export class EnvironmentLogsDto {
  @ApiProperty({ type: [String] }) lines: string[];
}

/** Maps an environment row to the wire, field by field. */
export function toEnvironmentDto(env: EnvironmentEntity): EnvironmentDto {
  return {
    id: env.id,
    name: env.name,
    status: env.status,
    templateId: env.templateId,
    clusterId: env.clusterId,
    runtime: env.runtime,
    resources: { cpu: env.resources.cpu, memory: env.resources.memory, storage: env.resources.storage },
    url: env.url,
    lastError: env.lastError,
    lastActivityAt: env.lastActivityAt?.toISOString() ?? null,
    createdAt: env.createdAt.toISOString(),
    updatedAt: env.updatedAt.toISOString(),
  };
}
