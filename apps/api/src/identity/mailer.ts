import { Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import nodemailer, { type Transporter } from 'nodemailer';
import { AppConfig } from '../config/app-config.js';

/** One plain-text message. */
export interface MailMessage {
  to: string;
  subject: string;
  /** text/plain body. */
  text: string;
}

/**
 * Sends mail through nodemailer's SMTP transport (SMTP_URL, e.g. `smtp://host:587`). Without
 * SMTP_URL, a message is written to the log in development (so links can be followed on a
 * laptop) and dropped with a warning elsewhere: a link's token must not end up in production logs.
 */
@Injectable()
export class Mailer implements OnModuleDestroy {
  private readonly logger = new Logger(Mailer.name);
  private readonly transport?: Transporter;

  constructor(private readonly config: AppConfig) {
    if (config.SMTP_URL) this.transport = nodemailer.createTransport(config.SMTP_URL);
  }

  /**
   * Sends one message.
   * @throws Error from the SMTP transport (connection refused, recipient rejected)
   */
  async send(message: MailMessage): Promise<void> {
    if (this.transport) {
      await this.transport.sendMail({ from: this.config.MAIL_FROM, to: message.to, subject: message.subject, text: message.text });
      return;
    }
    if (this.config.NODE_ENV === 'development') {
      this.logger.log(`mail (SMTP_URL unset) to ${message.to}: ${message.subject}\n${message.text}`);
    } else {
      this.logger.warn(`mail is not configured (SMTP_URL unset): "${message.subject}" to an account was not sent`);
    }
  }

  onModuleDestroy(): void {
    this.transport?.close();
  }
}
