import { applyDecorators, Param, ParseUUIDPipe, ValidationPipe, type ValidationError } from '@nestjs/common';
import { ApiParam, ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { buildMessage, IsInt, IsOptional, Max, Min, ValidateBy } from 'class-validator';
import { isQuantity } from '@devpocket/runtime';
import { DomainException, ErrorCode, type ErrorDetail } from './domain.exception.js';

function flatten(errors: ValidationError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({ field, message }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/**
 * The global validation pipe: DTO classes with class-validator, unknown fields refused
 * (whitelist + forbidNonWhitelisted), primitives converted from path and query strings.
 * Failures become 400 VALIDATION_FAILED with one `details` item per broken rule.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      return new DomainException(ErrorCode.VALIDATION_FAILED, details.map((detail) => detail.message).join('; ') || 'Invalid input', details);
    },
  });
}

/** A UUID path parameter (`:name`), documented in OpenAPI; a malformed one is 400 INVALID_ID. */
export function UuidParam(name = 'id'): ParameterDecorator {
  return Param(
    name,
    new ParseUUIDPipe({
      exceptionFactory: () => new DomainException(ErrorCode.INVALID_ID, `${name} must be a UUID`, [{ field: name, message: 'must be a UUID' }]),
    }),
  );
}

/** Documents a UUID path parameter in OpenAPI. */
export function ApiUuidParam(name = 'id'): MethodDecorator {
  return applyDecorators(ApiParam({ name, format: 'uuid', type: String }));
}

/** `?limit=` (1–100, default 20) and `?offset=` (default 0) of every list (API.md "Lists"). */
export class PageQueryDto {
  @ApiPropertyOptional({ minimum: 1, maximum: 100, default: 20 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(100)
  limit: number = 20;

  @ApiPropertyOptional({ minimum: 0, default: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  offset: number = 0;
}

/** The body of every list: `{items, total, limit, offset}`. */
export interface Page<T> {
  items: T[];
  total: number;
  limit: number;
  offset: number;
}

/** Declares the OpenAPI schema of a `Page<T>` response for a response DTO class. */
export function pageDtoOf<T>(itemType: new (...args: never[]) => T, name: string) {
  class PageDto implements Page<T> {
    @ApiProperty({ type: itemType, isArray: true })
    items: T[];
    @ApiProperty()
    total: number;
    @ApiProperty()
    limit: number;
    @ApiProperty()
    offset: number;
  }
  Object.defineProperty(PageDto, 'name', { value: name });
  return PageDto;
}

/** A Kubernetes quantity string (`500m`, `1Gi`), checked with the runtime's one parser. */
export function IsQuantity(): PropertyDecorator {
  return ValidateBy({
    name: 'isQuantity',
    validator: {
      validate: (value: unknown) => typeof value === 'string' && isQuantity(value),
      defaultMessage: buildMessage((prefix) => `${prefix}$property must be a Kubernetes quantity such as 500m or 1Gi`),
    },
  });
}
