import { setTimeout as sleep } from 'node:timers/promises';
import { createHash, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import pg from 'pg';
import { SMTPServer } from 'smtp-server';
import { registerUser, request, startTestServer, type JsonResponse, type TestServer, expectErrorCode, uniqueName } from '../support/server.js';

/** One message as the SMTP server received it. */
interface ReceivedMail {
  to: string[];
  raw: string;
}

/** The decoded text body of a raw single-part message (7bit or quoted-printable, RFC 2045 §6.7). */
function textBody(raw: string): string {
  const split = raw.indexOf('\r\n\r\n');
  const headers = raw.slice(0, split);
  const body = raw.slice(split + 4);
  if (!/^content-transfer-encoding:\s*quoted-printable/im.test(headers)) return body;
  const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
  return Buffer.from(bytes, 'latin1').toString('utf8');
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

describe('Account email', () => {
  const received: ReceivedMail[] = [];
  let smtp: SMTPServer;
  let app: TestServer;
  let db: pg.Client;

  /** Waits for the next message to `to` not seen before and returns the token of its link to `path`. */
  async function mailedToken(to: string, path: '/verify-email' | '/reset-password', timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const index = received.findIndex((mail) => mail.to.includes(to));
      if (index >= 0) {
        const [mail] = received.splice(index, 1);
        const match = new RegExp(`https?://\\S+${path}\\?token=[\\w-]+`).exec(textBody(mail.raw));
        if (!match) throw new Error(`no ${path} link in the mail to ${to}`);
        const link = new URL(match[0]);
        // Links start with PUBLIC_URL, by default the server's own address.
        expect(link.origin).toBe(new URL(app.url).origin);
        return link.searchParams.get('token') as string;
      }
      await sleep(25);
    }
    throw new Error(`no mail to ${to} within ${timeoutMs} ms`);
  }

  async function me(token: string): Promise<JsonResponse> {
    return request('GET', `${app.api}/users/me`, { token });
  }

  async function login(email: string, password: string): Promise<number> {
    return (await request('POST', `${app.api}/auth/login`, { body: { email, password } })).status;
  }

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      // A plain test server: no STARTTLS offered, so nodemailer sends in clear on loopback.
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          received.push({ to: session.envelope.rcptTo.map((rcpt) => rcpt.address.toLowerCase()), raw: Buffer.concat(chunks).toString('latin1') });
          callback();
        });
      },
    });
    await new Promise<void>((resolveListen) => smtp.listen(0, '127.0.0.1', resolveListen));
    const port = (smtp.server.address() as AddressInfo).port;
    app = await startTestServer({ SMTP_URL: `smtp://127.0.0.1:${port}`, MAIL_FROM: 'DevPocket <no-reply@devpocket.test>' });
    db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await app?.close();
    await new Promise<void>((resolveClose) => (smtp ? smtp.close(() => resolveClose()) : resolveClose()));
  });

  describe('email verification', () => {
    it('mails a link at registration whose token verifies the email once', async () => {
      const user = await registerUser(app.api, uniqueName('verify'));
      expect((await me(user.accessToken)).body.emailVerified).toBe(false);
      const token = await mailedToken(user.user.email, '/verify-email');
      expect(token).toMatch(/^[\w-]{43}$/);
      const stored = await db.query('SELECT token_hash, purpose, used_at FROM email_tokens WHERE user_id = $1', [user.user.id]);
      expect(stored.rows).toEqual([{ token_hash: sha256(token), purpose: 'verify_email', used_at: null }]);

      expect((await request('POST', `${app.api}/auth/verify-email`, { body: { token } })).status).toBe(204);
      expect((await me(user.accessToken)).body.emailVerified).toBe(true);
      expectErrorCode(await request('POST', `${app.api}/auth/verify-email`, { body: { token } }), 400, 'INVALID_EMAIL_TOKEN');
    });

    it('refuses an unknown token and an expired one with 400 INVALID_EMAIL_TOKEN', async () => {
      expectErrorCode(await request('POST', `${app.api}/auth/verify-email`, { body: { token: randomBytes(32).toString('base64url') } }), 400, 'INVALID_EMAIL_TOKEN');
      const user = await registerUser(app.api, uniqueName('late'));
      const token = await mailedToken(user.user.email, '/verify-email');
      await db.query(`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [sha256(token)]);
      expectErrorCode(await request('POST', `${app.api}/auth/verify-email`, { body: { token } }), 400, 'INVALID_EMAIL_TOKEN');
      expect((await me(user.accessToken)).body.emailVerified).toBe(false);
    });

    it('mails a new link on resend-verification (signed in only); the earlier link stops working', async () => {
      const user = await registerUser(app.api, uniqueName('resend'));
      const first = await mailedToken(user.user.email, '/verify-email');
      expectErrorCode(await request('POST', `${app.api}/auth/resend-verification`), 401, 'UNAUTHORIZED');
      expect((await request('POST', `${app.api}/auth/resend-verification`, { token: user.accessToken })).status).toBe(204);
      const second = await mailedToken(user.user.email, '/verify-email');
      expect(second).not.toBe(first);
      expectErrorCode(await request('POST', `${app.api}/auth/verify-email`, { body: { token: first } }), 400, 'INVALID_EMAIL_TOKEN');
      expect((await request('POST', `${app.api}/auth/verify-email`, { body: { token: second } })).status).toBe(204);
      expect((await me(user.accessToken)).body.emailVerified).toBe(true);
    });
  });

  describe('password reset', () => {
    it('answers forgot-password the same whether or not the email has an account, and mails only an existing one', async () => {
      const user = await registerUser(app.api, uniqueName('forgot'));
      await mailedToken(user.user.email, '/verify-email');
      const missingEmail = `${uniqueName('nobody')}@example.com`;
      const missing = await request('POST', `${app.api}/auth/password/forgot`, { body: { email: missingEmail } });
      const existing = await request('POST', `${app.api}/auth/password/forgot`, { body: { email: user.user.email.toUpperCase() } });
      expect(missing.status).toBe(202);
      expect(existing.status).toBe(202);
      expect(existing.body).toEqual(missing.body);
      expect(await mailedToken(user.user.email, '/reset-password')).toMatch(/^[\w-]{43}$/);
      expect(received.some((mail) => mail.to.includes(missingEmail))).toBe(false);
    });

    it('resets the password with the mailed token: old password and every session stop working, the token works once', async () => {
      const user = await registerUser(app.api, uniqueName('reset'));
      await mailedToken(user.user.email, '/verify-email');
      expect((await request('POST', `${app.api}/auth/password/forgot`, { body: { email: user.user.email } })).status).toBe(202);
      const token = await mailedToken(user.user.email, '/reset-password');
      // A reset token is not a verification token.
      expectErrorCode(await request('POST', `${app.api}/auth/verify-email`, { body: { token } }), 400, 'INVALID_EMAIL_TOKEN');

      const newPassword = 'a brand new passphrase';
      expect((await request('POST', `${app.api}/auth/password/reset`, { body: { token, password: newPassword } })).status).toBe(204);
      expect(await login(user.user.email, user.password)).toBe(401);
      expect(await login(user.user.email, newPassword)).toBe(200);
      expectErrorCode(await request('POST', `${app.api}/auth/refresh`, { body: { refreshToken: user.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
      expect((await me(user.accessToken)).status).toBe(401);
      expectErrorCode(await request('POST', `${app.api}/auth/password/reset`, { body: { token, password: 'yet another passphrase' } }), 400, 'INVALID_EMAIL_TOKEN');
      expect(await login(user.user.email, newPassword)).toBe(200);
    });

    it('refuses an expired reset token and leaves the password as it was', async () => {
      const user = await registerUser(app.api, uniqueName('expired'));
      await mailedToken(user.user.email, '/verify-email');
      await request('POST', `${app.api}/auth/password/forgot`, { body: { email: user.user.email } });
      const token = await mailedToken(user.user.email, '/reset-password');
      await db.query(`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE token_hash = $1`, [sha256(token)]);
      expectErrorCode(await request('POST', `${app.api}/auth/password/reset`, { body: { token, password: 'too late passphrase' } }), 400, 'INVALID_EMAIL_TOKEN');
      expect(await login(user.user.email, user.password)).toBe(200);
    });

    it('refuses a new password that is too short with 400 VALIDATION_FAILED', async () => {
      expectErrorCode(await request('POST', `${app.api}/auth/password/reset`, { body: { token: 'whatever', password: 'short' } }), 400, 'VALIDATION_FAILED');
    });
  });
});
