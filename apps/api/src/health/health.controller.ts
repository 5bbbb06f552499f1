import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { SkipRateLimit } from '../rate-limits/rate-limit.guard.js';
import { HealthService, type ReadinessReport } from './health.service.js';

class LivenessDto {
  @ApiProperty({ enum: ['ok'] }) status: 'ok';
  @ApiProperty({ example: '0.1.0' }) version: string;
}

class ReadinessDto {
  @ApiProperty({ enum: ['ok', 'error'] }) status: 'ok' | 'error';
  @ApiProperty({ enum: ['up', 'down'] }) database: 'up' | 'down';
  @ApiProperty({ enum: ['up', 'down'], description: 'The shared cache (in-process when REDIS_URL is unset)' }) cache: 'up' | 'down';
  @ApiProperty({ enum: ['up', 'down'] }) runtime: 'up' | 'down';
  @ApiProperty({ example: '0.1.0' }) version: string;
}

@ApiTags('health')
// Probes of load balancers and orchestrators are not counted against any client.
@SkipRateLimit()
@Controller('health')
export class HealthController {
  constructor(private readonly health: HealthService) {}

  /** Liveness: answers while the process serves HTTP; checks no dependency. */
  @Get()
  @ApiOkResponse({ type: LivenessDto })
  live(): LivenessDto {
    return { status: 'ok', version: this.health.version };
  }

  /** Readiness: 200 when database, cache and runtime answer; 503 naming what is down. */
  @Get('ready')
  @ApiOkResponse({ type: ReadinessDto })
  @ApiServiceUnavailableResponse({ type: ReadinessDto })
  async ready(@Res({ passthrough: true }) response: Response): Promise<ReadinessReport> {
    const report = await this.health.readiness();
    if (report.status !== 'ok') response.status(503);
    return report;
  }
}
