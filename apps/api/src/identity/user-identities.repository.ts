import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { UserIdentityEntity, type IdentityProvider } from './user-identity.entity.js';

/** Persistence of external sign-in identities (`user_identities`). */
@Injectable()
export class UserIdentitiesRepository {
  constructor(@InjectRepository(UserIdentityEntity) private readonly identities: Repository<UserIdentityEntity>) {}

  findBySubject(provider: IdentityProvider, subject: string): Promise<UserIdentityEntity | null> {
    return this.identities.findOneBy({ provider, subject });
  }

  /**
   * Links an identity to an account.
   * @throws QueryFailedError on a unique violation of (provider, subject) (SQLSTATE 23505): linked meanwhile
   */
  async link(identity: { userId: string; provider: IdentityProvider; subject: string; email: string | null }): Promise<void> {
    await this.identities.insert(identity);
  }
}
