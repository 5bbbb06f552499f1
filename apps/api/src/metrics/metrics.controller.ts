import { Controller, Get, Header, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { SkipRateLimit } from '../rate-limits/rate-limit.guard.js';
import { MetricsService } from './metrics.service.js';

/** GET /metrics (API.md "Operations"): Prometheus text, outside /api/v1, for the scraper, not for clients. */
@ApiExcludeController()
@SkipRateLimit()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: MetricsService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  async scrape(@Res({ passthrough: true }) response: Response): Promise<string> {
    response.type(this.metrics.contentType);
    return this.metrics.render();
  }
}
