import { ApiProperty } from '@nestjs/swagger';
import { IsString, MaxLength, MinLength } from 'class-validator';
import { PASSWORD_MAX, PASSWORD_MIN } from '../../auth/dto/auth.dto.js';
import { ResourcesDto } from '../../templates/dto/template.dto.js';
import { PLANS, type Plan } from '../user.entity.js';

/** POST /users/me/password. */
export class ChangePasswordDto {
  @ApiProperty()
  @IsString()
  @MinLength(1)
  @MaxLength(PASSWORD_MAX)
  currentPassword: string;

  @ApiProperty({ minLength: PASSWORD_MIN, maxLength: PASSWORD_MAX })
  @IsString()
  @MinLength(PASSWORD_MIN)
  @MaxLength(PASSWORD_MAX)
  newPassword: string;
}

/** The user's environments: in all, and in each status. */
export class EnvironmentCountsDto {
  @ApiProperty() total: number;
  @ApiProperty() creating: number;
  @ApiProperty() provisioning: number;
  @ApiProperty() installing: number;
  @ApiProperty() running: number;
  @ApiProperty() stopping: number;
  @ApiProperty() stopped: number;
  @ApiProperty() restarting: number;
  @ApiProperty() error: number;
  @ApiProperty() terminating: number;
}

/** The user's plan and what it allows. */
export class PlanUsageDto {
  @ApiProperty({ enum: PLANS }) name: Plan;
  @ApiProperty() maxEnvironments: number;
  @ApiProperty({ type: ResourcesDto, description: 'Largest resources of one environment' }) maxResources: ResourcesDto;
}

/**
 * GET /users/me/stats. Terminal time and bytes come with terminal session records (issue part 5);
 * until then only environments and the plan are reported.
 */
/** The user's terminal use, all environments together, from the tracked terminal sessions. */
export class TerminalUsageDto {
  @ApiProperty({ description: 'Terminal sessions opened' }) sessions: number;
  @ApiProperty({ description: 'Time attached, in seconds (live sessions up to now)' }) seconds: number;
  @ApiProperty({ description: 'Input bytes typed' }) bytesIn: number;
  @ApiProperty({ description: 'Output bytes sent' }) bytesOut: number;
}

export class UserStatsDto {
  @ApiProperty({ type: EnvironmentCountsDto }) environments: EnvironmentCountsDto;
  @ApiProperty({ type: TerminalUsageDto }) terminal: TerminalUsageDto;
  @ApiProperty({ type: PlanUsageDto }) plan: PlanUsageDto;
}
