import { Injectable } from '@nestjs/common';
import argon2 from 'argon2';

/**
 * argon2id password hashing with the OWASP Password Storage Cheat Sheet's parameters
 * (m = 19 MiB, t = 2, p = 1); hashes are PHC strings that carry their parameters.
 */
@Injectable()
export class PasswordHasher {
  private static readonly OPTIONS = { type: argon2.argon2id, memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
  /** A hash of a random password, verified against when an account is missing, so timing does not tell. */
  private decoy?: Promise<string>;

  hash(password: string): Promise<string> {
    return argon2.hash(password, PasswordHasher.OPTIONS);
  }

  /** Whether `password` matches the PHC string `hash`; false for a malformed hash. */
  async verify(hash: string, password: string): Promise<boolean> {
    try {
      return await argon2.verify(hash, password);
    } catch (error) {
      // argon2 throws on a hash it cannot parse; for sign-in that is simply "no match".
      if (error instanceof TypeError || /pchstr|hash/i.test(String((error as Error).message))) return false;
      throw error;
    }
  }

  /** Spends the time of one verification without an account, against user enumeration by timing. */
  async verifyDecoy(password: string): Promise<void> {
    this.decoy ??= this.hash(`decoy-${Math.random()}`);
    await this.verify(await this.decoy, password);
  }
}
