import { Injectable, Logger } from '@nestjs/common';
import type { AuthUser } from '../auth/auth-user.js';
import { AuditService } from '../audit/audit.service.js';
import { Clock } from '../common/clock.js';
import { DomainException, ErrorCode } from '../common/domain.exception.js';
import { violatedForeignKey, violatedUniqueConstraint } from '../common/postgres-errors.js';
import { SecretBox } from '../common/secret-box.js';
import type { Page, PageQueryDto } from '../common/validation.js';
import { ClusterConnections, kubeconfigContext } from './cluster-connections.js';
import type { ClusterEntity } from './cluster.entity.js';
import { ClustersRepository } from './clusters.repository.js';
import {
  toClusterDto,
  toClusterHealthDto,
  type ClusterDto,
  type ClusterHealthDto,
  type RegionsDto,
  type RegisterClusterDto,
  type UpdateClusterDto,
} from './dto/cluster.dto.js';

/**
 * Registered Kubernetes clusters (API.md "Clusters"): kubeconfigs checked, sealed with
 * AES-256-GCM and never returned; reachability checks; which users may use which cluster.
 */
@Injectable()
export class ClustersService {
  private readonly logger = new Logger(ClustersService.name);

  constructor(
    private readonly clusters: ClustersRepository,
    private readonly connections: ClusterConnections,
    private readonly box: SecretBox,
    private readonly clock: Clock,
    private readonly audit: AuditService,
  ) {}

  /**
   * Registers a cluster after checking that its kubeconfig is usable (parsed, a context with a
   * server, no exec plugin). Its reachability is checked right after (status, version).
   * `actorId` is the admin registering it, for the audit trail.
   * @throws DomainException INVALID_KUBECONFIG (400), CLUSTER_NAME_TAKEN (409)
   */
  async register(input: RegisterClusterDto, actorId: string): Promise<ClusterDto> {
    const { server } = this.connections.inspectKubeconfig(input.kubeconfig, input.context);
    let cluster: ClusterEntity;
    try {
      cluster = await this.clusters.insert(
        { name: input.name, region: input.region, server, context: input.context ?? null, isDefault: input.isDefault ?? false },
        (id) => this.box.encrypt(input.kubeconfig, kubeconfigContext(id)),
      );
    } catch (error) {
      throw this.translateWriteError(error, input.name);
    }
    this.logger.log(`cluster ${cluster.id} (${cluster.name}, ${server}) registered`);
    await this.audit.record({ action: 'cluster.registered', actorUserId: actorId, targetType: 'cluster', targetId: cluster.id, details: { name: cluster.name, server } });
    return toClusterDto(await this.check(cluster));
  }

  /** Admins see every cluster; other users the default one and those granted to them. A page of them, by name. */
  async list(user: AuthUser, page: PageQueryDto): Promise<Page<ClusterDto>> {
    const clusters = user.role === 'admin' ? await this.clusters.listAll() : await this.clusters.listUsable(user.id);
    return { items: clusters.slice(page.offset, page.offset + page.limit).map(toClusterDto), total: clusters.length, limit: page.limit, offset: page.offset };
  }

  /** @throws DomainException CLUSTER_NOT_FOUND (404), also for a cluster the user cannot use */
  async get(user: AuthUser, id: string): Promise<ClusterDto> {
    return toClusterDto(await this.getUsable(user, id));
  }

  /**
   * The cluster when `user` may use it: admins any, others the default and granted ones.
   * @throws DomainException CLUSTER_NOT_FOUND (404)
   */
  async getUsable(user: AuthUser, id: string): Promise<ClusterEntity> {
    const cluster = await this.clusters.findById(id);
    if (!cluster || !(user.role === 'admin' || cluster.isDefault || (await this.clusters.hasAccess(user.id, id)))) {
      throw new DomainException(ErrorCode.CLUSTER_NOT_FOUND, 'Cluster not found');
    }
    return cluster;
  }

  /** The default cluster, if one is registered. */
  findDefault(): Promise<ClusterEntity | null> {
    return this.clusters.findDefault();
  }

  /** @throws DomainException CLUSTER_NOT_FOUND (404), INVALID_KUBECONFIG (400), CLUSTER_NAME_TAKEN (409) */
  async update(id: string, input: UpdateClusterDto): Promise<ClusterDto> {
    const cluster = await this.getExisting(id);
    const changes: Partial<ClusterEntity> = { name: input.name, region: input.region, isDefault: input.isDefault };
    const reconnect = input.kubeconfig !== undefined || input.context !== undefined;
    if (reconnect) {
      const kubeconfig = input.kubeconfig ?? this.box.decrypt(cluster.kubeconfigSealed, kubeconfigContext(id));
      const context = input.context ?? cluster.context ?? undefined;
      changes.server = this.connections.inspectKubeconfig(kubeconfig, context).server;
      changes.context = context ?? null;
      changes.kubeconfigSealed = this.box.encrypt(kubeconfig, kubeconfigContext(id));
      changes.status = 'pending';
    }
    try {
      await this.clusters.update(id, Object.fromEntries(Object.entries(changes).filter(([, value]) => value !== undefined)));
    } catch (error) {
      throw this.translateWriteError(error, input.name ?? cluster.name);
    }
    if (reconnect) await this.connections.forget(id);
    const updated = await this.getExisting(id);
    return toClusterDto(reconnect ? await this.check(updated) : updated);
  }

  /** @throws DomainException CLUSTER_NOT_FOUND (404), CLUSTER_IN_USE (409) while environments run on it */
  async remove(id: string): Promise<void> {
    await this.getExisting(id);
    try {
      await this.clusters.delete(id);
    } catch (error) {
      if (violatedForeignKey(error)) throw new DomainException(ErrorCode.CLUSTER_IN_USE, 'Environments still run on this cluster; delete them first');
      throw error;
    }
    await this.connections.forget(id);
  }

  /** Reaches the API server now and records the outcome. @throws DomainException CLUSTER_NOT_FOUND (404) */
  async verify(id: string): Promise<ClusterHealthDto> {
    return toClusterHealthDto(await this.check(await this.getExisting(id)));
  }

  /** The outcome of the last check. @throws DomainException CLUSTER_NOT_FOUND (404) */
  async health(user: AuthUser, id: string): Promise<ClusterHealthDto> {
    return toClusterHealthDto(await this.getUsable(user, id));
  }

  async regions(): Promise<RegionsDto> {
    return { regions: await this.clusters.regions() };
  }

  /** @throws DomainException CLUSTER_NOT_FOUND (404), USER_NOT_FOUND (404) */
  async grant(id: string, userId: string): Promise<void> {
    await this.getExisting(id);
    if (!(await this.clusters.userExists(userId))) throw new DomainException(ErrorCode.USER_NOT_FOUND, 'User not found');
    await this.clusters.grant(userId, id);
  }

  /** @throws DomainException CLUSTER_NOT_FOUND (404) */
  async revoke(id: string, userId: string): Promise<void> {
    await this.getExisting(id);
    await this.clusters.revoke(userId, id);
  }

  private async getExisting(id: string): Promise<ClusterEntity> {
    const cluster = await this.clusters.findById(id);
    if (!cluster) throw new DomainException(ErrorCode.CLUSTER_NOT_FOUND, 'Cluster not found');
    return cluster;
  }

  /** Reaches the cluster's API server, records the outcome, and returns the cluster with it. */
  private async check(cluster: ClusterEntity): Promise<ClusterEntity> {
    const result = await this.connections.check(cluster);
    const outcome = {
      status: result.status,
      serverVersion: result.version ?? cluster.serverVersion,
      lastError: result.error ?? null,
      lastCheckedAt: this.clock.now(),
    };
    await this.clusters.update(cluster.id, outcome);
    return { ...cluster, ...outcome };
  }

  private translateWriteError(error: unknown, name: string): unknown {
    if (violatedUniqueConstraint(error) === 'uq_clusters_name') return new DomainException(ErrorCode.CLUSTER_NAME_TAKEN, `A cluster named ${name} is already registered`);
    return error;
  }
}
