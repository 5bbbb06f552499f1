import { Injectable } from '@nestjs/common';

/** The time source of the services, injectable so that rules about time can be tested. */
@Injectable()
export class Clock {
  /** The current time. */
  now(): Date {
    return new Date();
  }
}
