import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { Repository } from 'typeorm';
import { TerminalSessionEntity } from './terminal-session.entity.js';

/** Persistence of terminal sessions (`terminal_sessions`). */
@Injectable()
export class TerminalSessionsRepository {
  constructor(@InjectRepository(TerminalSessionEntity) private readonly sessions: Repository<TerminalSessionEntity>) {}

  async insert(session: {
    id: string;
    environmentId: string;
    userId: string;
    shareId: string | null;
    transport: TerminalSessionEntity['transport'];
    client: string | null;
    readOnly: boolean;
    startedAt: Date;
  }): Promise<void> {
    await this.sessions.insert(session);
  }

  /** Records the byte counts so far (absolute values, not increments). */
  async updateBytes(id: string, bytesIn: number, bytesOut: number): Promise<void> {
    await this.sessions.update({ id }, { bytesIn: String(bytesIn), bytesOut: String(bytesOut) });
  }

  async markEnded(id: string, at: Date, reason: string, bytesIn: number, bytesOut: number): Promise<void> {
    await this.sessions.update({ id }, { endedAt: at, endReason: reason, bytesIn: String(bytesIn), bytesOut: String(bytesOut) });
  }

  /** A page of an environment's sessions, newest first. */
  listForEnvironment(environmentId: string, page: { limit: number; offset: number }): Promise<[TerminalSessionEntity[], number]> {
    return this.sessions.findAndCount({
      where: { environmentId },
      order: { startedAt: 'DESC', id: 'ASC' },
      take: page.limit,
      skip: page.offset,
    });
  }

  findInEnvironment(environmentId: string, id: string): Promise<TerminalSessionEntity | null> {
    return this.sessions.findOneBy({ environmentId, id });
  }
}
