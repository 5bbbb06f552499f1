import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { Subject, type Observable } from 'rxjs';
import { AuditService } from '../audit/audit.service.js';
import type { AuthUser } from '../auth/auth-user.js';
import { Clock } from '../common/clock.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import type { Page, PageQueryDto } from '../common/validation.js';
import { EnvironmentsService } from '../environments/environments.service.js';
import {
  DEFAULT_SHARE_SECONDS,
  toCreatedShareLinkDto,
  toShareLinkDto,
  type CreatedShareLinkDto,
  type CreateShareLinkDto,
  type ShareLinkDto,
} from './dto/share-link.dto.js';
import type { ShareMode } from './share-link.entity.js';
import { SharesRepository } from './shares.repository.js';
import { newOpaqueToken, tokenHash } from '../common/opaque-token.js';

/** Every share token starts with this, which tells it apart from an access token (a JWT) and an API key (`dpk_`). */
export const SHARE_TOKEN_PREFIX = 'dps_';
/** A share token: `dps_` and 32 random bytes in base64url (43 characters, no padding). */
const TOKEN_PATTERN = /^dps_[A-Za-z0-9_-]{43}$/;
/** `dps_` and 8 characters: the part of a token kept in clear and shown in lists. */
const TOKEN_PREFIX_LENGTH = SHARE_TOKEN_PREFIX.length + 8;

/** What a valid share token grants. */
export interface ShareGrant {
  shareId: string;
  environmentId: string;
  ownerId: string;
  mode: ShareMode;
  expiresAt: Date;
}

/** One attach made with a share token, as {@link SharesService.recordUse} records it. */
export interface ShareUse {
  transport: 'socket.io' | 'websocket';
  /** The terminal session the guest got. */
  sessionId: string;
  /** The socket's user agent, if any. */
  client: string | null;
  /** The guest's IP as the server saw it; null when unknown. */
  ip: string | null;
}


/**
 * Share links of an environment's terminal: minted by the environment's owner with a mode and a
 * lifetime, the token shown once and stored as its SHA-256 (it is 32 random bytes, so a slow
 * password hash would add nothing); listed; revoked. The terminal gateways authenticate guests
 * with {@link authenticate}, count their attaches with {@link recordUse}, and end their terminals
 * on {@link revocations} (this process) and when {@link unusable} says so (any replica).
 */
@Injectable()
export class SharesService implements OnModuleDestroy {
  private readonly logger = new Logger(SharesService.name);
  private readonly revoked = new Subject<string>();

  constructor(
    private readonly shares: SharesRepository,
    private readonly environments: EnvironmentsService,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /**
   * Creates a share link of one of the user's environments, valid for `expiresInSeconds`
   * (default 3600) from now.
   * @returns the link with its token (`dps_…`), which is never shown again
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404) when the user does not own the environment
   */
  async create(user: AuthUser, environmentId: string, input: CreateShareLinkDto): Promise<CreatedShareLinkDto> {
    await this.environments.getOwned(user.id, environmentId);
    const { token, hash } = newOpaqueToken(SHARE_TOKEN_PREFIX);
    const expiresAt = new Date(this.clock.now().getTime() + (input.expiresInSeconds ?? DEFAULT_SHARE_SECONDS) * 1000);
    const share = await this.shares.insert({
      environmentId,
      createdByUserId: user.id,
      mode: input.mode,
      tokenHash: hash,
      tokenPrefix: token.slice(0, TOKEN_PREFIX_LENGTH),
      expiresAt,
    });
    this.logger.log(`share ${share.id} (${share.mode}) of environment ${environmentId} created by account ${user.id}, until ${expiresAt.toISOString()}`);
    await this.audit.record({ action: 'share.created', actorUserId: user.id, targetType: 'environment', targetId: environmentId, details: { shareId: share.id, mode: share.mode } });
    return toCreatedShareLinkDto(share, token);
  }

  /**
   * One page of the share links of one of the user's environments, newest first, revoked and
   * expired ones included (`active` tells them apart).
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404) when the user does not own the environment
   */
  async list(userId: string, environmentId: string, page: PageQueryDto): Promise<Page<ShareLinkDto>> {
    await this.environments.getOwned(userId, environmentId);
    const [shares, total] = await this.shares.findPageForEnvironment(environmentId, page.limit, page.offset);
    const now = this.clock.now();
    return { items: shares.map((share) => toShareLinkDto(share, now)), total, limit: page.limit, offset: page.offset };
  }

  /**
   * Revokes a share link of one of the user's environments: its token stops working at once and
   * {@link revocations} emits its id. Revoking a revoked link changes nothing.
   * @throws DomainException ENVIRONMENT_NOT_FOUND (404) when the user does not own the environment;
   *   SHARE_NOT_FOUND (404) when the environment has no such share link
   */
  async revoke(userId: string, environmentId: string, shareId: string): Promise<void> {
    await this.environments.getOwned(userId, environmentId);
    const share = await this.shares.findInEnvironment(environmentId, shareId);
    if (!share) throw new DomainException(ErrorCode.SHARE_NOT_FOUND, 'Share link not found');
    if (share.revokedAt !== null) return;
    // Two revocations racing: only the one that flips `revoked_at` reports it.
    if (!(await this.shares.revoke(share.id, this.clock.now()))) return;
    this.logger.log(`share ${share.id} of environment ${environmentId} revoked by account ${userId}`);
    await this.audit.record({ action: 'share.revoked', actorUserId: userId, targetType: 'environment', targetId: environmentId, details: { shareId: share.id, mode: share.mode } });
    this.revoked.next(share.id);
  }

  /**
   * Checks a presented share token: it names a stored link (by the SHA-256 of the whole token)
   * that is not revoked, not expired, and whose environment's owner is still an active account.
   * @throws DomainException UNAUTHORIZED (401) for an unknown, revoked or expired token
   */
  async authenticate(token: string): Promise<ShareGrant> {
    const invalid = new DomainException(ErrorCode.UNAUTHORIZED, 'The share link is invalid, expired or revoked');
    if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) throw invalid;
    const share = await this.shares.findByTokenHash(tokenHash(token));
    // A deactivated owner's environments are out of reach, for the owner's guests too.
    if (!share || share.revokedAt !== null || share.expiresAt <= this.clock.now() || !share.ownerActive) throw invalid;
    return { shareId: share.id, environmentId: share.environmentId, ownerId: share.ownerId, mode: share.mode, expiresAt: share.expiresAt };
  }

  /**
   * Records one use: use_count + 1, last_used_at, and a 'share.used' audit event (never throws).
   * The event has no actor (a guest is not an account); its IP is `use.ip`.
   */
  async recordUse(grant: ShareGrant, use: ShareUse): Promise<void> {
    try {
      await this.shares.recordUse(grant.shareId, this.clock.now());
    } catch (error) {
      this.logger.error(`could not record the use of share ${grant.shareId}: ${(error as Error)?.stack ?? String(error)}`);
    }
    await this.audit.record({
      action: 'share.used',
      actorUserId: null,
      targetType: 'environment',
      targetId: grant.environmentId,
      ip: use.ip,
      details: { shareId: grant.shareId, mode: grant.mode, transport: use.transport, sessionId: use.sessionId, client: use.client },
    });
  }

  /**
   * Of the share links `shareIds`, those no longer usable — revoked (by any replica), expired,
   * deleted with their environment, or of a deactivated owner — with whether they expired.
   */
  unusable(shareIds: string[]): Promise<Array<{ id: string; expired: boolean }>> {
    return this.shares.findUnusable(shareIds, this.clock.now());
  }

  /**
   * Emits the id of each share revoked (rxjs Observable), so live guest terminals can be ended.
   * Only revocations made by this process, and not links that merely expire or are deleted with
   * their environment: a guest terminal should also end at the grant's `expiresAt`.
   */
  revocations(): Observable<string> {
    return this.revoked.asObservable();
  }

  onModuleDestroy(): void {
    this.revoked.complete();
  }
}
