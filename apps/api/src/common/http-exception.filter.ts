import { randomUUID } from 'node:crypto';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { DomainException, ErrorCode, type ErrorDetail } from './domain.exception.js';

/** The error body of API.md: `{statusCode, code, message, details?}`. */
export interface ErrorBody {
  statusCode: number;
  code: ErrorCode;
  message: string;
  details?: ErrorDetail[];
}

const CODE_BY_STATUS: Record<number, ErrorCode> = {
  400: ErrorCode.VALIDATION_FAILED,
  401: ErrorCode.UNAUTHORIZED,
  403: ErrorCode.FORBIDDEN,
  404: ErrorCode.NOT_FOUND,
  405: ErrorCode.METHOD_NOT_ALLOWED,
  413: ErrorCode.PAYLOAD_TOO_LARGE,
  415: ErrorCode.UNSUPPORTED_MEDIA_TYPE,
  429: ErrorCode.RATE_LIMITED,
  503: ErrorCode.SERVICE_UNAVAILABLE,
};

/** body-parser (raw-body) error types, see https://github.com/expressjs/body-parser#errors */
const BODY_PARSER_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  'entity.parse.failed': { code: ErrorCode.INVALID_JSON, message: 'The request body is not valid JSON' },
  'entity.too.large': { code: ErrorCode.PAYLOAD_TOO_LARGE, message: 'The request body is too large' },
  'encoding.unsupported': { code: ErrorCode.UNSUPPORTED_MEDIA_TYPE, message: 'The request body encoding is not supported' },
  'charset.unsupported': { code: ErrorCode.UNSUPPORTED_MEDIA_TYPE, message: 'The request body charset is not supported' },
  'request.aborted': { code: ErrorCode.VALIDATION_FAILED, message: 'The request was aborted' },
  'request.size.invalid': { code: ErrorCode.VALIDATION_FAILED, message: 'The request body size does not match Content-Length' },
  'stream.encoding.set': { code: ErrorCode.VALIDATION_FAILED, message: 'The request body could not be read' },
};

/**
 * Maps any error to the error body of API.md. Domain exceptions keep their code; Nest's HTTP
 * exceptions and body-parser errors get the code of their status; anything else is logged with
 * its stack and a request id and answered with a generic 500 that reveals nothing.
 */
export function toErrorBody(error: unknown, logger: Logger, requestId: string): { body: ErrorBody; headers?: Record<string, string> } {
  if (error instanceof DomainException) {
    const body: ErrorBody = { statusCode: error.status, code: error.code, message: error.message };
    if (error.details?.length) body.details = error.details;
    return { body, headers: error.headers };
  }
  const parserError = error as { type?: unknown; status?: unknown };
  if (typeof parserError?.type === 'string' && parserError.type in BODY_PARSER_ERRORS) {
    const { code, message } = BODY_PARSER_ERRORS[parserError.type];
    const statusCode = typeof parserError.status === 'number' ? parserError.status : 400;
    return { body: { statusCode, code, message } };
  }
  // Any other client error of the body parsers (http-errors with `expose`), e.g. a gzip body that does not inflate.
  const exposed = error as { status?: unknown; expose?: unknown };
  if (typeof exposed?.status === 'number' && exposed.status >= 400 && exposed.status < 500 && exposed.expose === true && !(error instanceof HttpException)) {
    const statusCode = exposed.status;
    return { body: { statusCode, code: CODE_BY_STATUS[statusCode] ?? ErrorCode.VALIDATION_FAILED, message: 'The request body could not be read' } };
  }
  if (error instanceof HttpException) {
    const statusCode = error.getStatus();
    if (statusCode < 500) {
      const code = CODE_BY_STATUS[statusCode] ?? (statusCode === 404 ? ErrorCode.NOT_FOUND : ErrorCode.VALIDATION_FAILED);
      return { body: { statusCode, code, message: messageOf(error) } };
    }
  }
  logger.error(`request ${requestId} failed: ${(error as Error)?.stack ?? String(error)}`);
  return {
    body: {
      statusCode: HttpStatus.INTERNAL_SERVER_ERROR,
      code: ErrorCode.INTERNAL_ERROR,
      message: `Internal server error (request id ${requestId})`,
    },
  };
}

function messageOf(error: HttpException): string {
  const response = error.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (Array.isArray(message)) return message.join('; ');
  return typeof message === 'string' ? message : error.message;
}

/** Writes an error body with its headers on an Express response. */
export function sendError(response: Response, error: unknown, logger: Logger, request: Request): void {
  const requestId = (request.headers['x-request-id'] as string | undefined)?.slice(0, 100) || randomUUID();
  const { body, headers } = toErrorBody(error, logger, requestId);
  if (response.headersSent) {
    response.end();
    return;
  }
  for (const [name, value] of Object.entries(headers ?? {})) response.setHeader(name, value);
  response.status(body.statusCode).json(body);
}

/** The HTTP transport's exception filter (registered globally). */
@Catch()
export class HttpExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpExceptionFilter');

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const http = host.switchToHttp();
    sendError(http.getResponse<Response>(), error, this.logger, http.getRequest<Request>());
  }
}

/** OpenAPI schema of {@link ErrorBody}. */
export class ErrorDetailDto {
  @ApiPropertyOptional({ example: 'name' }) field?: string;
  @ApiProperty({ example: 'name must be 1-63 lower-case letters, digits or -' }) message: string;
}

/** OpenAPI schema of {@link ErrorBody}, the body of every error answer. */
export class ErrorDto implements ErrorBody {
  @ApiProperty({ example: 400 }) statusCode: number;
  @ApiProperty({ enum: Object.values(ErrorCode), example: ErrorCode.VALIDATION_FAILED }) code: ErrorCode;
  @ApiProperty({ example: 'name must be 1-63 lower-case letters, digits or -' }) message: string;
  @ApiPropertyOptional({ type: [ErrorDetailDto] }) details?: ErrorDetailDto[];
}
