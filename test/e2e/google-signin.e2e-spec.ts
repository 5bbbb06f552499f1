import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { OAuth2Server } from 'oauth2-mock-server';
import pg from 'pg';
import { registerUser, request, startTestServer, type JsonResponse, type TestServer, expectErrorCode, uniqueName } from '../support/server.js';

const CLIENT_ID = 'devpocket-e2e.apps.googleusercontent.com';
const CLIENT_SECRET = 'e2e-client-secret';

/** The claims of an ID token Google would issue for `claims.sub`, overridable claim by claim. */
type Claims = Record<string, unknown>;

describe('Google sign-in', () => {
  let google: OAuth2Server;
  let app: TestServer;
  let db: pg.Client;

  /** Builds an ID token signed by a key of `issuerServer` (by default the trusted local issuer). */
  async function idToken(claims: Claims, issuerServer: OAuth2Server = google): Promise<string> {
    return issuerServer.issuer.buildToken({
      scopesOrTransform: (_header, payload) => {
        Object.assign(payload, { iss: google.issuer.url, aud: CLIENT_ID, email_verified: true, ...claims });
      },
    });
  }

  function signIn(token: string): Promise<JsonResponse> {
    return request('POST', `${app.api}/auth/google`, { body: { idToken: token } });
  }

  /** An issuer that claims to be the trusted one but signs with its own key: never started, only its key signs. */
  async function forger(kid?: string): Promise<OAuth2Server> {
    const server = new OAuth2Server();
    server.issuer.url = google.issuer.url;
    await server.issuer.keys.generate('RS256', kid ? { kid } : undefined);
    return server;
  }

  async function identityCount(subject: string): Promise<number> {
    return Number((await db.query(`SELECT count(*) AS n FROM user_identities WHERE provider = 'google' AND subject = $1`, [subject])).rows[0].n);
  }

  beforeAll(async () => {
    google = new OAuth2Server();
    await google.issuer.keys.generate('RS256');
    await google.start(0, '127.0.0.1');
    const issuer = google.issuer.url as string;
    app = await startTestServer({
      GOOGLE_CLIENT_ID: CLIENT_ID,
      GOOGLE_CLIENT_SECRET: CLIENT_SECRET,
      GOOGLE_JWKS_URL: `${issuer}/jwks`,
      GOOGLE_ISSUERS: issuer,
      GOOGLE_AUTHORIZATION_URL: `${issuer}/authorize`,
      GOOGLE_TOKEN_URL: `${issuer}/token`,
      GOOGLE_USERINFO_URL: `${issuer}/userinfo`,
    });
    db = new pg.Client({ connectionString: app.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await app?.close();
    await google?.stop();
  });

  describe('POST /auth/google with an ID token', () => {
    it('creates an account on first use and signs the same account in afterwards', async () => {
      const subject = uniqueName('sub-');
      const email = `${uniqueName('Newcomer.Person+')}@Example.com`;
      const first = await signIn(await idToken({ sub: subject, email, name: 'New Comer' }));
      expect(first.status).toBe(200);
      expect(first.body).toMatchObject({ tokenType: 'Bearer', user: { email: email.toLowerCase(), emailVerified: true, fullName: 'New Comer' } });
      expect(first.body.user.username).toMatch(/^newcomerperson[0-9a-f]{8}$/);
      const me = await request('GET', `${app.api}/users/me`, { token: first.body.accessToken });
      expect(me.status).toBe(200);
      expect(me.body.id).toBe(first.body.user.id);
      const { rows } = await db.query('SELECT password_hash FROM users WHERE id = $1', [first.body.user.id]);
      expect(rows[0].password_hash).toBeNull();

      const second = await signIn(await idToken({ sub: subject, email }));
      expect(second.status).toBe(200);
      expect(second.body.user.id).toBe(first.body.user.id);
      expect(second.body.refreshToken).not.toBe(first.body.refreshToken);
      expect(await identityCount(subject)).toBe(1);
    });

    it('gives a new account a unique username when its email local part is taken', async () => {
      const taken = await registerUser(app.api, uniqueName('dup'));
      const response = await signIn(await idToken({ sub: uniqueName('sub-'), email: `${taken.user.username}@elsewhere.example` }));
      expect(response.status).toBe(200);
      expect(response.body.user.username).not.toBe(taken.user.username);
      expect(response.body.user.username.startsWith(taken.user.username)).toBe(true);
    });

    it('refuses to link an existing account when Google has not verified the email (409), and links nothing', async () => {
      const owner = await registerUser(app.api, uniqueName('owner'));
      const subject = uniqueName('sub-');
      const response = await signIn(await idToken({ sub: subject, email: owner.user.email, email_verified: false }));
      expectErrorCode(response, 409, 'GOOGLE_EMAIL_UNVERIFIED');
      expect(await identityCount(subject)).toBe(0);
      expect((await request('POST', `${app.api}/auth/login`, { body: { email: owner.user.email, password: owner.password } })).status).toBe(200);
    });

    it('links an existing account with a verified email and keeps its password', async () => {
      const owner = await registerUser(app.api, uniqueName('verified'));
      await db.query('UPDATE users SET email_verified = true WHERE id = $1', [owner.user.id]);
      const subject = uniqueName('sub-');
      const response = await signIn(await idToken({ sub: subject, email: owner.user.email.toUpperCase() }));
      expect(response.status).toBe(200);
      expect(response.body.user.id).toBe(owner.user.id);
      expect(await identityCount(subject)).toBe(1);
      expect((await request('POST', `${app.api}/auth/login`, { body: { email: owner.user.email, password: owner.password } })).status).toBe(200);
      // Signed in by the identity from now on, whatever email the token carries.
      const again = await signIn(await idToken({ sub: subject, email: 'changed@example.com' }));
      expect(again.body.user.id).toBe(owner.user.id);
    });

    it('links an account whose own email was never verified, removing the password someone else may have set', async () => {
      const squatter = await registerUser(app.api, uniqueName('squat'));
      const response = await signIn(await idToken({ sub: uniqueName('sub-'), email: squatter.user.email }));
      expect(response.status).toBe(200);
      expect(response.body.user).toMatchObject({ id: squatter.user.id, emailVerified: true });
      expect((await request('POST', `${app.api}/auth/login`, { body: { email: squatter.user.email, password: squatter.password } })).status).toBe(401);
      expect((await request('POST', `${app.api}/auth/refresh`, { body: { refreshToken: squatter.refreshToken } })).status).toBe(401);
      expect((await request('GET', `${app.api}/users/me`, { token: squatter.accessToken })).status).toBe(401);
      expect((await request('GET', `${app.api}/users/me`, { token: response.body.accessToken })).status).toBe(200);
    });

    it('refuses a token signed by another key under the same kid with 401 INVALID_ID_TOKEN', async () => {
      const trustedKid = google.issuer.keys.get()?.kid as string;
      const subject = uniqueName('sub-');
      expectErrorCode(await signIn(await idToken({ sub: subject, email: `${subject}@example.com` }, await forger(trustedKid))), 401, 'INVALID_ID_TOKEN');
      expect(await identityCount(subject)).toBe(0);
    });

    it('refuses a token signed by an unknown key with 401 INVALID_ID_TOKEN', async () => {
      const subject = uniqueName('sub-');
      expectErrorCode(await signIn(await idToken({ sub: subject, email: `${subject}@example.com` }, await forger())), 401, 'INVALID_ID_TOKEN');
    });

    it('refuses an expired token with 401 INVALID_ID_TOKEN', async () => {
      const now = Math.floor(Date.now() / 1000);
      const subject = uniqueName('sub-');
      const token = await idToken({ sub: subject, email: `${subject}@example.com`, iat: now - 7200, nbf: now - 7200, exp: now - 3600 });
      expectErrorCode(await signIn(token), 401, 'INVALID_ID_TOKEN');
      expect(await identityCount(subject)).toBe(0);
    });

    it('refuses a token for another audience with 401 INVALID_ID_TOKEN', async () => {
      const subject = uniqueName('sub-');
      expectErrorCode(await signIn(await idToken({ sub: subject, email: `${subject}@example.com`, aud: 'someone-else.apps.googleusercontent.com' })), 401, 'INVALID_ID_TOKEN');
    });

    it('refuses a token from another issuer with 401 INVALID_ID_TOKEN', async () => {
      const subject = uniqueName('sub-');
      expectErrorCode(await signIn(await idToken({ sub: subject, email: `${subject}@example.com`, iss: 'https://accounts.evil.example' })), 401, 'INVALID_ID_TOKEN');
    });

    it('refuses an unsigned token and a token that is not a JWT with 401 INVALID_ID_TOKEN', async () => {
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const now = Math.floor(Date.now() / 1000);
      const unsigned = `${encode({ alg: 'none', typ: 'JWT' })}.${encode({ iss: google.issuer.url, aud: CLIENT_ID, sub: 'x', email: 'x@example.com', exp: now + 600 })}.`;
      expectErrorCode(await signIn(unsigned), 401, 'INVALID_ID_TOKEN');
      expectErrorCode(await signIn('not-a-jwt'), 401, 'INVALID_ID_TOKEN');
    });

    it('refuses a body without idToken with 400 VALIDATION_FAILED', async () => {
      expectErrorCode(await request('POST', `${app.api}/auth/google`, { body: {} }), 400, 'VALIDATION_FAILED');
    });
  });

  describe('the browser redirect flow', () => {
    /** GET /auth/google, then the provider's /authorize: the callback URL on this server and the state cookie. */
    async function authorize(): Promise<{ callback: string; cookie: string; consent: URL }> {
      const start = await fetch(`${app.api}/auth/google`, { redirect: 'manual' });
      expect(start.status).toBe(302);
      const consent = new URL(start.headers.get('location') as string);
      const cookie = start.headers.getSetCookie().map((line) => line.split(';')[0]).join('; ');
      const provider = await fetch(consent, { redirect: 'manual' });
      expect(provider.status).toBe(302);
      const back = new URL(provider.headers.get('location') as string);
      expect(`${back.origin}${back.pathname}`).toBe(`${app.api}/auth/google/callback`);
      return { callback: back.href, cookie, consent };
    }

    it('redirects to the authorization endpoint with client id, scopes, state and a PKCE challenge', async () => {
      const { consent, cookie } = await authorize();
      expect(`${consent.origin}${consent.pathname}`).toBe(`${google.issuer.url}/authorize`);
      expect(consent.searchParams.get('client_id')).toBe(CLIENT_ID);
      expect(consent.searchParams.get('response_type')).toBe('code');
      expect(consent.searchParams.get('scope')?.split(' ')).toEqual(expect.arrayContaining(['openid', 'email']));
      expect(consent.searchParams.get('redirect_uri')).toBe(`${app.api}/auth/google/callback`);
      expect(consent.searchParams.get('state')).toMatch(/^[\w-]{20,}$/);
      expect(consent.searchParams.get('code_challenge_method')).toBe('S256');
      expect(cookie).toMatch(/^devpocket_google_oauth=/);
    });

    it('exchanges the code at the callback and answers an AuthResult, signing the same account in next time', async () => {
      const subject = uniqueName('websub-');
      const email = `${uniqueName('web')}@example.com`;
      google.service.on('beforeUserinfo', (userinfo) => {
        userinfo.body = { sub: subject, email, email_verified: true, name: 'Web Person' };
      });
      try {
        const first = await authorize();
        const response = await request('GET', first.callback, { headers: { cookie: first.cookie } });
        expect(response.status).toBe(200);
        expect(response.body).toMatchObject({ tokenType: 'Bearer', user: { email, emailVerified: true, fullName: 'Web Person' } });
        expect((await request('GET', `${app.api}/users/me`, { token: response.body.accessToken })).status).toBe(200);

        const second = await authorize();
        const again = await request('GET', second.callback, { headers: { cookie: second.cookie } });
        expect(again.status).toBe(200);
        expect(again.body.user.id).toBe(response.body.user.id);
        expect(await identityCount(subject)).toBe(1);
      } finally {
        google.service.removeAllListeners('beforeUserinfo');
      }
    });

    it('applies the linking rule: an unverified Google email does not take over an existing account', async () => {
      const owner = await registerUser(app.api, uniqueName('webowner'));
      google.service.once('beforeUserinfo', (userinfo) => {
        userinfo.body = { sub: uniqueName('websub-'), email: owner.user.email, email_verified: false };
      });
      const { callback, cookie } = await authorize();
      expectErrorCode(await request('GET', callback, { headers: { cookie } }), 409, 'GOOGLE_EMAIL_UNVERIFIED');
    });

    it('refuses a callback without the state cookie of the browser that started (login CSRF) with 401', async () => {
      const { callback } = await authorize();
      expectErrorCode(await request('GET', callback), 401, 'GOOGLE_SIGN_IN_FAILED');
    });

    it('refuses a declined consent with 401 GOOGLE_SIGN_IN_FAILED', async () => {
      expectErrorCode(await request('GET', `${app.api}/auth/google/callback?error=access_denied`), 401, 'GOOGLE_SIGN_IN_FAILED');
    });
  });

  describe('when Google sign-in is not configured', () => {
    let bare: TestServer;

    beforeAll(async () => {
      bare = await startTestServer();
    });

    afterAll(async () => {
      await bare?.close();
    });

    it('answers 404 GOOGLE_SIGN_IN_NOT_CONFIGURED on every Google route', async () => {
      const token = await idToken({ sub: 'someone', email: 'someone@example.com' });
      const posted = await request('POST', `${bare.api}/auth/google`, { body: { idToken: token } });
      expectErrorCode(posted, 404, 'GOOGLE_SIGN_IN_NOT_CONFIGURED');
      expect(posted.body.message).toMatch(/not configured/);
      expectErrorCode(await request('GET', `${bare.api}/auth/google`), 404, 'GOOGLE_SIGN_IN_NOT_CONFIGURED');
      expectErrorCode(await request('GET', `${bare.api}/auth/google/callback?code=x&state=y`), 404, 'GOOGLE_SIGN_IN_NOT_CONFIGURED');
      expectErrorCode(await request('GET', `${bare.api}/auth/google/callback`), 404, 'GOOGLE_SIGN_IN_NOT_CONFIGURED');
    });
  });
});
