import { plainToInstance } from 'class-transformer';
import { IsBoolean, IsInt, IsOptional, IsString, IsUUID, Max, MaxLength, Min, validateSync } from 'class-validator';
import { DomainException, ErrorCode } from '../../common/domain.exception.js';

/** Terminal sizes accepted, in character cells. */
export const MIN_COLS = 2;
export const MAX_COLS = 1000;
export const MIN_ROWS = 2;
export const MAX_ROWS = 500;
/** Largest input message, in characters (a paste on a phone is well under this). */
export const MAX_INPUT_LENGTH = 65536;

/** `resize`: the client's new size in character cells. */
export class ResizeMessage {
  @IsInt()
  @Min(MIN_COLS)
  @Max(MAX_COLS)
  cols: number;

  @IsInt()
  @Min(MIN_ROWS)
  @Max(MAX_ROWS)
  rows: number;
}

/** `attach` (Socket.IO): which environment, the client's size, and what it last saw. */
export class AttachMessage extends ResizeMessage {
  @IsUUID('all', { message: 'environmentId must be a UUID' })
  environmentId: string;

  @IsOptional()
  @IsUUID('all', { message: 'sessionId must be a UUID' })
  sessionId?: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  lastSeq?: number;

  @IsOptional()
  @IsBoolean()
  readOnly?: boolean;
}

/** `input`: keystrokes as UTF-8 text; `seq` numbers the client's inputs for exactly-once resend. */
export class InputMessage {
  @IsString()
  @MaxLength(MAX_INPUT_LENGTH)
  data: string;

  @IsOptional()
  @IsInt()
  @Min(0)
  seq?: number;
}

/** `ack`: output received up to byte `seq` of the session's stream. */
export class AckMessage {
  @IsInt()
  @Min(0)
  seq: number;
}

/**
 * Validates a message received on a socket against its class (unknown fields refused).
 * @throws DomainException VALIDATION_FAILED naming each broken rule
 */
export function parseMessage<T extends object>(type: new () => T, payload: unknown): T {
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) {
    throw new DomainException(ErrorCode.VALIDATION_FAILED, 'The message must be a JSON object');
  }
  const message = plainToInstance(type, payload);
  const errors = validateSync(message, { whitelist: true, forbidNonWhitelisted: true });
  if (errors.length > 0) {
    const details = errors.flatMap((error) => Object.values(error.constraints ?? {}).map((text) => ({ field: error.property, message: text })));
    throw new DomainException(ErrorCode.VALIDATION_FAILED, details.map((detail) => detail.message).join('; '), details);
  }
  return message;
}

function isRecord(payload: unknown): payload is Record<string, unknown> {
  return typeof payload === 'object' && payload !== null && !Array.isArray(payload);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

/**
 * `ack {seq}`, which a client sends for every output frame: the well-formed message is taken
 * as it is, anything else goes through {@link parseMessage} (and its error details), so the
 * hot path skips class-transformer and class-validator.
 * @throws DomainException VALIDATION_FAILED
 */
export function parseAck(payload: unknown): AckMessage {
  if (isRecord(payload) && isCount(payload.seq) && Object.keys(payload).length === 1) return payload as unknown as AckMessage;
  return parseMessage(AckMessage, payload);
}

/**
 * `input {data, seq?}`, once per keystroke: the well-formed message is taken as it is, anything
 * else goes through {@link parseMessage} (see {@link parseAck}).
 * @throws DomainException VALIDATION_FAILED
 */
export function parseInput(payload: unknown): InputMessage {
  if (
    isRecord(payload) &&
    typeof payload.data === 'string' &&
    payload.data.length <= MAX_INPUT_LENGTH &&
    (payload.seq === undefined || isCount(payload.seq)) &&
    Object.keys(payload).every((key) => key === 'data' || key === 'seq')
  ) {
    return payload as unknown as InputMessage;
  }
  return parseMessage(InputMessage, payload);
}
