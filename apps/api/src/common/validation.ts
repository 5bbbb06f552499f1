import { applyDecorators, Param, ParseUUIDPipe, ValidationPipe, type ArgumentMetadata, type ValidationError } from '@nestjs/common';
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

/** Deepest nesting of objects and arrays accepted in a body or query: DTOs are a few levels deep, and far deeper input would exhaust the stack of class-transformer. */
const MAX_INPUT_DEPTH = 32;

/**
 * Screens a body or query before class-transformer sees it, without recursion: nesting at most
 * {@link MAX_INPUT_DEPTH} deep, and no string holding U+0000, which PostgreSQL text cannot store.
 * @returns the first problem found as an error detail, or undefined when the input is acceptable
 */
export function screenInput(input: unknown): ErrorDetail | undefined {
  const pending: Array<{ value: unknown; path: string; depth: number }> = [{ value: input, path: '', depth: 0 }];
  for (let next = pending.pop(); next; next = pending.pop()) {
    const { value, path, depth } = next;
    if (typeof value === 'string') {
      if (value.includes('\u0000')) return { field: path || undefined, message: `${path || 'the input'} must not contain NUL characters` };
    } else if (typeof value === 'object' && value !== null) {
      if (depth >= MAX_INPUT_DEPTH) return { field: path || undefined, message: `${path || 'the input'} is nested more than ${MAX_INPUT_DEPTH} levels deep` };
      for (const [key, child] of Object.entries(value)) pending.push({ value: child, path: path ? `${path}.${key}` : key, depth: depth + 1 });
    }
  }
  return undefined;
}

/** {@link ValidationPipe} that first {@link screenInput screens} bodies and queries (path parameters have their own pipes). */
class ApiValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' || metadata.type === 'query') {
      const problem = screenInput(value);
      if (problem) throw new DomainException(ErrorCode.VALIDATION_FAILED, problem.message, [problem]);
    }
    return super.transform(value, metadata);
  }
}

/**
 * The global validation pipe: DTO classes with class-validator, unknown fields refused
 * (whitelist + forbidNonWhitelisted), primitives converted from path and query strings.
 * Failures become 400 VALIDATION_FAILED with one `details` item per broken rule.
 */
export function createValidationPipe(): ValidationPipe {
  return new ApiValidationPipe({
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
