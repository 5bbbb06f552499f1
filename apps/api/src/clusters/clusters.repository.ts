import { Injectable } from '@nestjs/common';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { DataSource, Repository } from 'typeorm';
import { ClusterEntity, UserClusterAccessEntity } from './cluster.entity.js';

/** Persistence of clusters and of users' access to them. */
@Injectable()
export class ClustersRepository {
  constructor(
    @InjectRepository(ClusterEntity) private readonly clusters: Repository<ClusterEntity>,
    @InjectRepository(UserClusterAccessEntity) private readonly access: Repository<UserClusterAccessEntity>,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  findById(id: string): Promise<ClusterEntity | null> {
    return this.clusters.findOneBy({ id });
  }

  findDefault(): Promise<ClusterEntity | null> {
    return this.clusters.findOneBy({ isDefault: true });
  }

  /** Every cluster (admins), ordered by name. */
  listAll(): Promise<ClusterEntity[]> {
    return this.clusters.find({ order: { name: 'ASC' } });
  }

  /** The clusters a user may use: the default one and those granted to them. */
  listUsable(userId: string): Promise<ClusterEntity[]> {
    return this.clusters
      .createQueryBuilder('c')
      .where('c.is_default OR EXISTS (SELECT 1 FROM user_cluster_access a WHERE a.cluster_id = c.id AND a.user_id = :userId)', { userId })
      .orderBy('c.name', 'ASC')
      .getMany();
  }

  async hasAccess(userId: string, clusterId: string): Promise<boolean> {
    return (await this.access.countBy({ userId, clusterId })) > 0;
  }

  /**
   * Inserts a cluster; with `isDefault` the previous default stops being one, in the same
   * transaction. `seal` receives the new id and returns the sealed kubeconfig bound to it.
   * @throws QueryFailedError on a duplicate name (`uq_clusters_name`)
   */
  async insert(cluster: Omit<ClusterEntity, 'id' | 'kubeconfigSealed' | 'createdAt' | 'updatedAt' | 'status' | 'serverVersion' | 'lastError' | 'lastCheckedAt'>, seal: (id: string) => string): Promise<ClusterEntity> {
    return this.dataSource.transaction(async (manager) => {
      if (cluster.isDefault) await manager.update(ClusterEntity, { isDefault: true }, { isDefault: false });
      const id = (await manager.query(`SELECT gen_random_uuid() AS id`))[0].id as string;
      return manager.save(manager.create(ClusterEntity, { ...cluster, id, kubeconfigSealed: seal(id) }));
    });
  }

  /** Updates fields; making a cluster the default unsets the previous default in the same transaction. */
  async update(id: string, changes: Partial<ClusterEntity>): Promise<void> {
    await this.dataSource.transaction(async (manager) => {
      if (changes.isDefault) await manager.update(ClusterEntity, { isDefault: true }, { isDefault: false });
      await manager.update(ClusterEntity, { id }, changes);
    });
  }

  /** @throws QueryFailedError (SQLSTATE 23503) while environments still use the cluster */
  async delete(id: string): Promise<void> {
    await this.clusters.delete({ id });
  }

  async regions(): Promise<string[]> {
    const rows: Array<{ region: string }> = await this.clusters.createQueryBuilder('c').select('DISTINCT c.region', 'region').orderBy('region').getRawMany();
    return rows.map((row) => row.region);
  }

  async userExists(userId: string): Promise<boolean> {
    return (await this.dataSource.query(`SELECT 1 FROM users WHERE id = $1`, [userId])).length > 0;
  }

  /** Grants access; granting twice is a no-op. */
  async grant(userId: string, clusterId: string): Promise<void> {
    await this.access.createQueryBuilder().insert().values({ userId, clusterId }).orIgnore().execute();
  }

  async revoke(userId: string, clusterId: string): Promise<void> {
    await this.access.delete({ userId, clusterId });
  }
}
