import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsBoolean, IsOptional, IsString, Matches, MaxLength, MinLength } from 'class-validator';
import { CLUSTER_STATUSES, type ClusterEntity, type ClusterStatus } from '../cluster.entity.js';

const LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const LABEL_MESSAGE = (field: string) => `${field} must be 1-63 lower-case letters, digits or -, starting and ending with a letter or digit`;
/** Largest kubeconfig accepted, in characters (one with embedded certificates is a few KiB). */
const MAX_KUBECONFIG = 65536;

/** POST /clusters: the kubeconfig goes in and never comes out. */
export class RegisterClusterDto {
  @ApiProperty({ example: 'eu-1', pattern: LABEL.source })
  @IsString()
  @Matches(LABEL, { message: LABEL_MESSAGE('name') })
  name: string;

  @ApiProperty({ example: 'eu-west', pattern: LABEL.source })
  @IsString()
  @Matches(LABEL, { message: LABEL_MESSAGE('region') })
  region: string;

  @ApiProperty({ description: 'The kubeconfig, as YAML text', maxLength: MAX_KUBECONFIG })
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_KUBECONFIG)
  kubeconfig: string;

  @ApiPropertyOptional({ description: 'Context of the kubeconfig to use (default: its current-context)' })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(253)
  context?: string;

  @ApiPropertyOptional({ default: false, description: 'The default cluster serves every user that names none' })
  @IsOptional()
  @IsBoolean()
  isDefault?: boolean;
}

/** PATCH /clusters/:id. A new kubeconfig (and context) replaces the stored one after the same checks. */
export class UpdateClusterDto {
  @ApiPropertyOptional({ pattern: LABEL.source })
  @IsOptional()
  @IsString()
  @Matches(LABEL, { message: LABEL_MESSAGE('name') })
  name?: string;

  @ApiPropertyOptional({ pattern: LABEL.source })
  @IsOptional()
  @IsString()
  @Matches(LABEL, { message: LABEL_MESSAGE('region') })
  region?: string;

  @ApiPropertyOptional({ maxLength: MAX_KUBECONFIG })
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(MAX_KUBECONFIG)
  kubeconfig?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MinLength(1)
  @MaxLength(253)
  context?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsBoolean()
  isDefault?: boolean;
}

/** API.md `Cluster`. */
export class ClusterDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ example: 'eu-1' }) name: string;
  @ApiProperty({ example: 'eu-west' }) region: string;
  @ApiProperty({ example: 'https://k8s.example.com:6443' }) server: string;
  @ApiProperty() isDefault: boolean;
  @ApiProperty({ enum: CLUSTER_STATUSES }) status: ClusterStatus;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastCheckedAt: string | null;
  @ApiProperty({ format: 'date-time' }) createdAt: string;
}

/** POST /clusters/:id/verify and GET /clusters/:id/health: the last check of the API server. */
export class ClusterHealthDto {
  @ApiProperty({ format: 'uuid' }) id: string;
  @ApiProperty({ enum: CLUSTER_STATUSES }) status: ClusterStatus;
  @ApiProperty({ type: String, nullable: true, example: 'v1.31.2' }) version: string | null;
  @ApiProperty({ type: String, nullable: true }) lastError: string | null;
  @ApiProperty({ type: String, format: 'date-time', nullable: true }) lastCheckedAt: string | null;
}

export class RegionsDto {
  @ApiProperty({ type: [String], example: ['eu-west', 'us-east'] }) regions: string[];
}

/** Maps a cluster row to the wire, field by field: never the kubeconfig. */
export function toClusterDto(cluster: ClusterEntity): ClusterDto {
  return {
    id: cluster.id,
    name: cluster.name,
    region: cluster.region,
    server: cluster.server,
    isDefault: cluster.isDefault,
    status: cluster.status,
    lastCheckedAt: cluster.lastCheckedAt?.toISOString() ?? null,
    createdAt: cluster.createdAt.toISOString(),
  };
}

export function toClusterHealthDto(cluster: ClusterEntity): ClusterHealthDto {
  return {
    id: cluster.id,
    status: cluster.status,
    version: cluster.serverVersion,
    lastError: cluster.lastError,
    lastCheckedAt: cluster.lastCheckedAt?.toISOString() ?? null,
  };
}
