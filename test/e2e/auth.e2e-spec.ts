import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import jwt from 'jsonwebtoken';
import pg from 'pg';
import { startServer, type RunningServer } from '../../apps/api/src/bootstrap.js';
import { createRunningEnvironment, registerUser, request, startTestServer, testConfig, type JsonResponse, type TestServer, expectError, uniqueName } from '../support/server.js';

const USER_FIELDS = ['createdAt', 'email', 'emailVerified', 'fullName', 'id', 'plan', 'role', 'username'];
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const PASSWORD = 'correct horse battery';

/** A unique name for an account of this file. */
/** Asserts the AuthResult of API.md and that nothing secret leaks in it. */
function expectAuthResult(response: JsonResponse, password: string): void {
  expect(Object.keys(response.body).sort()).toEqual(['accessToken', 'expiresIn', 'refreshToken', 'tokenType', 'user']);
  expect(response.body.tokenType).toBe('Bearer');
  expect(typeof response.body.accessToken).toBe('string');
  expect(response.body.accessToken.split('.')).toHaveLength(3);
  expect(typeof response.body.refreshToken).toBe('string');
  expect(response.body.refreshToken.length).toBeGreaterThanOrEqual(32);
  expect(Number.isInteger(response.body.expiresIn)).toBe(true);
  expect(response.body.expiresIn).toBeGreaterThan(0);
  expect(Object.keys(response.body.user).sort()).toEqual(USER_FIELDS);
  const text = JSON.stringify(response.body);
  expect(text).not.toContain(password);
  expect(text).not.toContain('argon2');
}

/** The error body of API.md, nothing more. */
function base64url(value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe('Auth', () => {
  describe('on a fresh install', () => {
    const jwtSecret = randomBytes(32).toString('hex');
    let app: TestServer;
    let db: pg.Client;

    beforeAll(async () => {
      app = await startTestServer({ JWT_SECRET: jwtSecret });
      db = new pg.Client({ connectionString: app.databaseUrl });
      await db.connect();
    });

    afterAll(async () => {
      await db?.end();
      await app?.close();
    });

    async function countUsers(): Promise<number> {
      return Number((await db.query('SELECT count(*) AS n FROM users')).rows[0].n);
    }

    async function register(name: string, extra: Record<string, unknown> = {}): Promise<JsonResponse> {
      return request('POST', `${app.api}/auth/register`, { body: { email: `${name}@example.com`, username: name, password: PASSWORD, ...extra } });
    }

    async function login(body: Record<string, unknown>): Promise<JsonResponse> {
      return request('POST', `${app.api}/auth/login`, { body });
    }

    describe('register', () => {
      it('makes the first account of the install an admin and answers 201 with an AuthResult', async () => {
        const response = await register('firstadmin', { fullName: 'Ada Lovelace' });
        expect(response.status).toBe(201);
        expectAuthResult(response, PASSWORD);
        expect(response.body.user).toMatchObject({
          email: 'firstadmin@example.com',
          username: 'firstadmin',
          fullName: 'Ada Lovelace',
          role: 'admin',
          plan: 'free',
          emailVerified: false,
        });
        expect(response.body.user.id).toMatch(UUID);
        expect(new Date(response.body.user.createdAt).toISOString()).toBe(response.body.user.createdAt);
      });

      it('makes every later account a plain user', async () => {
        const response = await register(uniqueName('second'));
        expect(response.status).toBe(201);
        expect(response.body.user.role).toBe('user');
        expect(response.body.user.fullName).toBeNull();
      });

      it('stores the password as an argon2id hash, never in clear', async () => {
        const name = uniqueName('hash');
        expect((await register(name)).status).toBe(201);
        const { rows } = await db.query('SELECT password_hash FROM users WHERE username = $1', [name]);
        expect(rows[0].password_hash).toMatch(/^\$argon2id\$v=19\$m=\d+,[pt]=\d+,[pt]=\d+\$/);
        expect(rows[0].password_hash).not.toContain(PASSWORD);
      });

      it('stores email and username lower-case, so either case signs in', async () => {
        const name = uniqueName('mixed');
        const response = await request('POST', `${app.api}/auth/register`, {
          body: { email: `${name.toUpperCase()}@Example.COM`, username: name.toUpperCase(), password: PASSWORD },
        });
        expect(response.status).toBe(201);
        expect(response.body.user).toMatchObject({ email: `${name}@example.com`, username: name });
        expect((await login({ email: `${name}@EXAMPLE.com`, password: PASSWORD })).status).toBe(200);
      });

      it('refuses an email that is taken with 409 EMAIL_TAKEN, whatever its case, and adds no row', async () => {
        const name = uniqueName('dupemail');
        expect((await register(name)).status).toBe(201);
        const before = await countUsers();
        const response = await request('POST', `${app.api}/auth/register`, {
          body: { email: `${name.toUpperCase()}@example.com`, username: uniqueName('other'), password: PASSWORD },
        });
        expectError(response, 409, 'EMAIL_TAKEN');
        expect(await countUsers()).toBe(before);
      });

      it('refuses a username that is taken with 409 USERNAME_TAKEN and adds no row', async () => {
        const name = uniqueName('dupname');
        expect((await register(name)).status).toBe(201);
        const before = await countUsers();
        const response = await request('POST', `${app.api}/auth/register`, {
          body: { email: `${uniqueName('other')}@example.com`, username: name, password: PASSWORD },
        });
        expectError(response, 409, 'USERNAME_TAKEN');
        expect(await countUsers()).toBe(before);
      });

      it('refuses a bad email, a short password, a bad username and unknown fields with 400, adding no row', async () => {
        const before = await countUsers();
        const name = uniqueName('bad');
        const bodies = [
          { email: 'not-an-email', username: name, password: PASSWORD },
          { email: `${name}@example.com`, username: name, password: 'short' },
          { email: `${name}@example.com`, username: 'a b', password: PASSWORD },
          { email: `${name}@example.com`, username: name, password: PASSWORD, role: 'admin' },
          { email: `${name}@example.com`, username: name },
        ];
        for (const body of bodies) {
          const response = await request('POST', `${app.api}/auth/register`, { body });
          expectError(response, 400, 'VALIDATION_FAILED');
          expect(Array.isArray(response.body.details)).toBe(true);
        }
        expect(await countUsers()).toBe(before);
      });
    });

    describe('login', () => {
      let name: string;

      beforeAll(async () => {
        name = uniqueName('login');
        expect((await register(name)).status).toBe(201);
      });

      it('signs in with the email and the password', async () => {
        const response = await login({ email: `${name}@example.com`, password: PASSWORD });
        expect(response.status).toBe(200);
        expectAuthResult(response, PASSWORD);
        expect(response.body.user.username).toBe(name);
      });

      it('signs in with the username and the password', async () => {
        const response = await login({ username: name, password: PASSWORD });
        expect(response.status).toBe(200);
        expectAuthResult(response, PASSWORD);
        expect(response.body.user.email).toBe(`${name}@example.com`);
      });

      it('refuses both email and username, or neither, with 400', async () => {
        expectError(await login({ email: `${name}@example.com`, username: name, password: PASSWORD }), 400, 'VALIDATION_FAILED');
        expectError(await login({ password: PASSWORD }), 400, 'VALIDATION_FAILED');
      });

      it('refuses a wrong password and an unknown account alike with 401 INVALID_CREDENTIALS', async () => {
        const wrong = await login({ email: `${name}@example.com`, password: 'not the password' });
        expectError(wrong, 401, 'INVALID_CREDENTIALS');
        const unknown = await login({ email: `${uniqueName('nobody')}@example.com`, password: PASSWORD });
        expectError(unknown, 401, 'INVALID_CREDENTIALS');
        expect(unknown.body.message).toBe(wrong.body.message);
      });

      it('locks the account after 5 failures in a row: 423 with Retry-After, even with the right password', async () => {
        const victim = uniqueName('locked');
        expect((await register(victim)).status).toBe(201);
        for (let attempt = 1; attempt <= 4; attempt += 1) {
          expectError(await login({ username: victim, password: `wrong ${attempt}` }), 401, 'INVALID_CREDENTIALS');
        }
        // The fifth failure in a row locks the account, and already answers 423.
        const fifth = await login({ username: victim, password: 'wrong 5' });
        expectError(fifth, 423, 'ACCOUNT_LOCKED');
        expect(Number(fifth.headers.get('retry-after'))).toBe(15 * 60);
        const { rows } = await db.query('SELECT locked_until FROM users WHERE username = $1', [victim]);
        expect(rows[0].locked_until).not.toBeNull();

        const locked = await login({ username: victim, password: PASSWORD });
        expectError(locked, 423, 'ACCOUNT_LOCKED');
        const retryAfter = Number(locked.headers.get('retry-after'));
        expect(Number.isInteger(retryAfter)).toBe(true);
        expect(retryAfter).toBeGreaterThan(14 * 60);
        expect(retryAfter).toBeLessThanOrEqual(15 * 60);
        expect(locked.body).not.toHaveProperty('accessToken');

        const byEmail = await login({ email: `${victim}@example.com`, password: PASSWORD });
        expectError(byEmail, 423, 'ACCOUNT_LOCKED');
        expect(byEmail.headers.get('retry-after')).toBeTruthy();

        // Other accounts are not affected by this one's lock.
        expect((await login({ username: name, password: PASSWORD })).status).toBe(200);
      });

      it('counts only failures in a row: a successful sign-in starts the count again', async () => {
        const user = uniqueName('reset');
        expect((await register(user)).status).toBe(201);
        for (let attempt = 1; attempt <= 4; attempt += 1) expect((await login({ username: user, password: 'wrong' })).status).toBe(401);
        expect((await login({ username: user, password: PASSWORD })).status).toBe(200);
        for (let attempt = 1; attempt <= 4; attempt += 1) expect((await login({ username: user, password: 'wrong' })).status).toBe(401);
        expect((await login({ username: user, password: PASSWORD })).status).toBe(200);
      });
    });

    describe('refresh tokens', () => {
      let name: string;

      beforeAll(async () => {
        name = uniqueName('refresh');
        expect((await register(name)).status).toBe(201);
      });

      async function signIn(): Promise<{ accessToken: string; refreshToken: string }> {
        const response = await login({ username: name, password: PASSWORD });
        expect(response.status).toBe(200);
        return response.body;
      }

      function refresh(refreshToken: unknown): Promise<JsonResponse> {
        return request('POST', `${app.api}/auth/refresh`, { body: { refreshToken } });
      }

      it('stores refresh tokens only as hashes', async () => {
        const session = await signIn();
        const { rows } = await db.query('SELECT token_hash FROM refresh_tokens');
        expect(rows.length).toBeGreaterThan(0);
        for (const row of rows) {
          expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
          expect(row.token_hash).not.toBe(session.refreshToken);
        }
      });

      it('rotates on every use: a new refresh token and access token, and the old refresh token is spent', async () => {
        const session = await signIn();
        const rotated = await refresh(session.refreshToken);
        expect(rotated.status).toBe(200);
        expectAuthResult(rotated, PASSWORD);
        expect(rotated.body.refreshToken).not.toBe(session.refreshToken);
        expect(rotated.body.user.username).toBe(name);
        const me = await request('GET', `${app.api}/users/me`, { token: rotated.body.accessToken });
        expect(me.status).toBe(200);

        const again = await refresh(session.refreshToken);
        expect(again.status).toBe(401);
      });

      it('revokes the whole family when a rotated token is used again: the newest token stops working too', async () => {
        const session = await signIn();
        const second = await refresh(session.refreshToken);
        expect(second.status).toBe(200);
        const third = await refresh(second.body.refreshToken);
        expect(third.status).toBe(200);

        const reuse = await refresh(session.refreshToken);
        expectError(reuse, 401, 'REFRESH_TOKEN_REUSED');

        const newest = await refresh(third.body.refreshToken);
        expect(newest.status).toBe(401);
        expect(['INVALID_REFRESH_TOKEN', 'REFRESH_TOKEN_REUSED']).toContain(newest.body.code);
      });

      it('leaves the other sessions of the user alone when one family is revoked', async () => {
        const other = await signIn();
        const victim = await signIn();
        const rotated = await refresh(victim.refreshToken);
        expect(rotated.status).toBe(200);
        expectError(await refresh(victim.refreshToken), 401, 'REFRESH_TOKEN_REUSED');

        const stillFine = await refresh(other.refreshToken);
        expect(stillFine.status).toBe(200);
      });

      it('lets only one of two simultaneous uses of a refresh token succeed', async () => {
        const session = await signIn();
        const answers = await Promise.all([refresh(session.refreshToken), refresh(session.refreshToken)]);
        expect(answers.map((answer) => answer.status).sort()).toEqual([200, 401]);
      });

      it('refuses an unknown refresh token with 401 INVALID_REFRESH_TOKEN', async () => {
        expectError(await refresh(randomBytes(32).toString('base64url')), 401, 'INVALID_REFRESH_TOKEN');
      });

      it('refuses a missing or non-string refresh token with 400', async () => {
        expectError(await request('POST', `${app.api}/auth/refresh`, { body: {} }), 400, 'VALIDATION_FAILED');
        expectError(await refresh(12345), 400, 'VALIDATION_FAILED');
      });

      it('logout answers 204 and the refresh token is refused afterwards', async () => {
        const session = await signIn();
        const logout = await request('POST', `${app.api}/auth/logout`, { body: { refreshToken: session.refreshToken } });
        expect(logout.status).toBe(204);
        expect(logout.body).toBeUndefined();
        expectError(await refresh(session.refreshToken), 401, 'INVALID_REFRESH_TOKEN');
        // Logging out twice is harmless.
        expect((await request('POST', `${app.api}/auth/logout`, { body: { refreshToken: session.refreshToken } })).status).toBe(204);
      });

      it('logout-all answers 204, revokes every refresh token and makes earlier access tokens 401', async () => {
        const first = await signIn();
        const second = await signIn();
        const logoutAll = await request('POST', `${app.api}/auth/logout-all`, { token: first.accessToken });
        expect(logoutAll.status).toBe(204);

        expectError(await refresh(first.refreshToken), 401, 'INVALID_REFRESH_TOKEN');
        expectError(await refresh(second.refreshToken), 401, 'INVALID_REFRESH_TOKEN');
        expectError(await request('GET', `${app.api}/users/me`, { token: first.accessToken }), 401, 'UNAUTHORIZED');
        expectError(await request('GET', `${app.api}/users/me`, { token: second.accessToken }), 401, 'UNAUTHORIZED');

        // Signing in again gives working tokens.
        const fresh = await signIn();
        expect((await request('GET', `${app.api}/users/me`, { token: fresh.accessToken })).status).toBe(200);
        expect((await refresh(fresh.refreshToken)).status).toBe(200);
      });

      it('logout-all needs an access token', async () => {
        expectError(await request('POST', `${app.api}/auth/logout-all`), 401, 'UNAUTHORIZED');
      });
    });

    describe('access tokens', () => {
      let userId: string;
      let tokenVersion: number;

      beforeAll(async () => {
        const response = await register(uniqueName('jwt'));
        userId = response.body.user.id;
        tokenVersion = (await db.query('SELECT token_version FROM users WHERE id = $1', [userId])).rows[0].token_version;
      });

      function me(token: string): Promise<JsonResponse> {
        return request('GET', `${app.api}/users/me`, { token });
      }

      function claims(): Record<string, unknown> {
        const now = Math.floor(Date.now() / 1000);
        return { sub: userId, ver: tokenVersion, typ: 'access', aud: 'devpocket-api', iss: 'devpocket', iat: now, exp: now + 300 };
      }

      it('accepts a well-formed token signed with the server key (the control for the cases below)', async () => {
        const response = await me(jwt.sign(claims(), jwtSecret, { algorithm: 'HS256' }));
        expect(response.status).toBe(200);
        expect(response.body.id).toBe(userId);
      });

      it('refuses a token signed with another key', async () => {
        expectError(await me(jwt.sign(claims(), randomBytes(32).toString('hex'), { algorithm: 'HS256' })), 401, 'UNAUTHORIZED');
      });

      it('refuses an unsigned token (alg: none)', async () => {
        const token = `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims())}.`;
        expectError(await me(token), 401, 'UNAUTHORIZED');
      });

      it('refuses an expired token', async () => {
        const now = Math.floor(Date.now() / 1000);
        const expired = { ...claims(), iat: now - 3600, exp: now - 60 };
        expectError(await me(jwt.sign(expired, jwtSecret, { algorithm: 'HS256' })), 401, 'UNAUTHORIZED');
      });

      it('refuses a token with the server key but another algorithm, audience or token type', async () => {
        expectError(await me(jwt.sign(claims(), jwtSecret, { algorithm: 'HS512' })), 401, 'UNAUTHORIZED');
        expectError(await me(jwt.sign({ ...claims(), aud: 'someone-else' }, jwtSecret, { algorithm: 'HS256' })), 401, 'UNAUTHORIZED');
        expectError(await me(jwt.sign({ ...claims(), typ: 'refresh' }, jwtSecret, { algorithm: 'HS256' })), 401, 'UNAUTHORIZED');
      });

      it('refuses garbage, a missing token and a non-Bearer scheme', async () => {
        expectError(await me('not.a.jwt'), 401, 'UNAUTHORIZED');
        expectError(await request('GET', `${app.api}/users/me`), 401, 'UNAUTHORIZED');
        const basic = await request('GET', `${app.api}/users/me`, { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } });
        expectError(basic, 401, 'UNAUTHORIZED');
      });
    });

    describe('/users/me', () => {
      it('answers the signed-in User', async () => {
        const name = uniqueName('me');
        const registered = await register(name, { fullName: 'Grace Hopper' });
        const response = await request('GET', `${app.api}/users/me`, { token: registered.body.accessToken });
        expect(response.status).toBe(200);
        expect(response.body).toEqual(registered.body.user);
        expect(Object.keys(response.body).sort()).toEqual(USER_FIELDS);
      });

      it('changes the full name and username with PATCH, and the change is stored', async () => {
        const registered = await register(uniqueName('patch'));
        const newName = uniqueName('renamed');
        const response = await request('PATCH', `${app.api}/users/me`, {
          token: registered.body.accessToken,
          body: { fullName: 'Katherine Johnson', username: newName },
        });
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ id: registered.body.user.id, fullName: 'Katherine Johnson', username: newName, email: registered.body.user.email });
        const { rows } = await db.query('SELECT username, full_name FROM users WHERE id = $1', [registered.body.user.id]);
        expect(rows[0]).toEqual({ username: newName, full_name: 'Katherine Johnson' });
        expect((await login({ username: newName, password: PASSWORD })).status).toBe(200);
      });

      it('refuses a username taken by someone else with 409 USERNAME_TAKEN and keeps the old one', async () => {
        const taken = uniqueName('taken');
        expect((await register(taken)).status).toBe(201);
        const name = uniqueName('wants');
        const registered = await register(name);
        const response = await request('PATCH', `${app.api}/users/me`, { token: registered.body.accessToken, body: { username: taken } });
        expectError(response, 409, 'USERNAME_TAKEN');
        const { rows } = await db.query('SELECT username FROM users WHERE id = $1', [registered.body.user.id]);
        expect(rows[0].username).toBe(name);
      });

      it('refuses fields a user may not change (role, email, plan) with 400 and changes nothing', async () => {
        const registered = await register(uniqueName('sneaky'));
        for (const body of [{ role: 'admin' }, { email: 'x@example.com' }, { plan: 'pro' }, { fullName: 42 }]) {
          const response = await request('PATCH', `${app.api}/users/me`, { token: registered.body.accessToken, body });
          expectError(response, 400, 'VALIDATION_FAILED');
        }
        const me = await request('GET', `${app.api}/users/me`, { token: registered.body.accessToken });
        expect(me.body).toEqual(registered.body.user);
      });

      it('deletes the account with DELETE: 204, its tokens stop working, its row and refresh tokens are gone', async () => {
        const name = uniqueName('leaving');
        const registered = await register(name);
        const id = registered.body.user.id;
        const response = await request('DELETE', `${app.api}/users/me`, { token: registered.body.accessToken });
        expect(response.status).toBe(204);
        expectError(await request('GET', `${app.api}/users/me`, { token: registered.body.accessToken }), 401, 'UNAUTHORIZED');
        expectError(await login({ username: name, password: PASSWORD }), 401, 'INVALID_CREDENTIALS');
        expectError(await request('POST', `${app.api}/auth/refresh`, { body: { refreshToken: registered.body.refreshToken } }), 401, 'INVALID_REFRESH_TOKEN');
        expect((await db.query('SELECT 1 FROM users WHERE id = $1', [id])).rowCount).toBe(0);
        expect((await db.query('SELECT 1 FROM refresh_tokens WHERE user_id = $1', [id])).rowCount).toBe(0);
        // The name is free again.
        expect((await register(name)).status).toBe(201);
      });

      it('destroys the environments of a deleted account: rows and directories are gone', async () => {
        const user = await registerUser(app.api, uniqueName('owner'));
        const env = await createRunningEnvironment(app.api, user.accessToken, 'doomed');
        const dir = join(app.dataDir, 'environments', env.id);
        await access(dir);
        const response = await request('DELETE', `${app.api}/users/me`, { token: user.accessToken });
        expect(response.status).toBe(204);
        expect((await db.query('SELECT 1 FROM environments WHERE id = $1', [env.id])).rowCount).toBe(0);
        await expect(access(dir)).rejects.toMatchObject({ code: 'ENOENT' });
      });
    });
  });

  describe('with ADMIN_EMAILS', () => {
    let app: TestServer;
    let restarted: RunningServer | undefined;

    beforeAll(async () => {
      // One server at a time in this process: passport keeps its strategies process-wide.
      app = await startTestServer({ ADMIN_EMAILS: 'boss@example.com, Chief@Example.com' });
    });

    afterAll(async () => {
      await restarted?.stop();
      await app?.close();
    });

    it('makes a listed email an admin at registration, even when it is not the first account', async () => {
      const first = await registerUser(app.api, 'founder');
      expect(first.user.role).toBe('admin');
      const plain = await registerUser(app.api, 'plain');
      expect(plain.user.role).toBe('user');

      const boss = await request('POST', `${app.api}/auth/register`, { body: { email: 'boss@example.com', username: 'boss', password: PASSWORD } });
      expect(boss.status).toBe(201);
      expect(boss.body.user.role).toBe('admin');
      const chief = await request('POST', `${app.api}/auth/register`, { body: { email: 'CHIEF@example.com', username: 'chief', password: PASSWORD } });
      expect(chief.status).toBe(201);
      expect(chief.body.user.role).toBe('admin');
    });

    it('makes an existing account an admin at sign-in once its email is listed', async () => {
      const late = await registerUser(app.api, 'latecomer');
      expect(late.user.role).toBe('user');

      await app.server.stop();
      restarted = await startServer(
        testConfig(app.databaseUrl, app.dataDir, { ADMIN_EMAILS: 'boss@example.com,latecomer@example.com' }),
      );
      const login = await request('POST', `${restarted.url}/api/v1/auth/login`, { body: { username: 'latecomer', password: late.password } });
      expect(login.status).toBe(200);
      expect(login.body.user.role).toBe('admin');
      const me = await request('GET', `${restarted.url}/api/v1/users/me`, { token: login.body.accessToken });
      expect(me.body.role).toBe('admin');

      const plain = await request('POST', `${restarted.url}/api/v1/auth/login`, { body: { username: 'plain', password: PASSWORD } });
      expect(plain.body.user.role).toBe('user');
    });
  });
});
