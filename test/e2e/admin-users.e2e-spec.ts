import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { registerUser, request, startTestServer, type JsonResponse, type TestServer } from '../support/server.js';

const ADMIN_USER_FIELDS = ['active', 'createdAt', 'email', 'emailVerified', 'fullName', 'id', 'lockedUntil', 'plan', 'role', 'username'];

function expectError(response: JsonResponse, status: number, code: string): void {
  expect(response.status).toBe(status);
  expect(response.body).toMatchObject({ statusCode: status, code, message: expect.any(String) });
}

describe('Admin users', () => {
  let app: TestServer;
  let admin: Awaited<ReturnType<typeof registerUser>>;
  let alice: Awaited<ReturnType<typeof registerUser>>;
  let bob: Awaited<ReturnType<typeof registerUser>>;
  let ubuntuId: string;

  beforeAll(async () => {
    // The free plan's real limit, for the plan change below.
    app = await startTestServer({ FREE_MAX_ENVIRONMENTS: '1' });
    admin = await registerUser(app.api, 'theadmin');
    alice = await registerUser(app.api);
    bob = await registerUser(app.api);
    const templates = await request('GET', `${app.api}/templates?q=ubuntu`, { token: alice.accessToken });
    ubuntuId = templates.body.items.find((item: { name: string }) => item.name === 'ubuntu').id;
  });

  afterAll(async () => {
    await app?.close();
  });

  it('lists every account for an admin, with filters and pagination', async () => {
    const all = await request('GET', `${app.api}/users`, { token: admin.accessToken });
    expect(all.status).toBe(200);
    expect(all.body).toMatchObject({ total: 3, limit: 20, offset: 0 });
    expect(all.body.items.map((user: { id: string }) => user.id)).toEqual([admin.user.id, alice.user.id, bob.user.id]);
    expect(Object.keys(all.body.items[0]).sort()).toEqual(ADMIN_USER_FIELDS);
    expect(all.body.items[1]).toMatchObject({ active: true, role: 'user', plan: 'free', lockedUntil: null });
    expect(JSON.stringify(all.body)).not.toMatch(/argon2|passwordHash|tokenVersion/);

    const byName = await request('GET', `${app.api}/users?q=${alice.user.username.slice(0, 8).toUpperCase()}`, { token: admin.accessToken });
    expect(byName.body.items.map((user: { id: string }) => user.id)).toEqual([alice.user.id]);
    const admins = await request('GET', `${app.api}/users?role=admin`, { token: admin.accessToken });
    expect(admins.body.items.map((user: { id: string }) => user.id)).toEqual([admin.user.id]);
    const page = await request('GET', `${app.api}/users?limit=1&offset=1`, { token: admin.accessToken });
    expect(page.body).toMatchObject({ total: 3, limit: 1, offset: 1 });
    expect(page.body.items.map((user: { id: string }) => user.id)).toEqual([alice.user.id]);
    const none = await request('GET', `${app.api}/users?q=%25`, { token: admin.accessToken });
    expect(none.body.total).toBe(0);
    expectError(await request('GET', `${app.api}/users?active=maybe`, { token: admin.accessToken }), 400, 'VALIDATION_FAILED');
  });

  it('gets one account, 404 for an unknown id and 400 for a malformed one', async () => {
    const one = await request('GET', `${app.api}/users/${bob.user.id}`, { token: admin.accessToken });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ id: bob.user.id, email: bob.user.email, active: true });
    expectError(await request('GET', `${app.api}/users/00000000-0000-4000-8000-000000000000`, { token: admin.accessToken }), 404, 'USER_NOT_FOUND');
    expectError(await request('GET', `${app.api}/users/not-a-uuid`, { token: admin.accessToken }), 400, 'INVALID_ID');
  });

  it('refuses non-admins with 403, while their own /users/me routes still answer', async () => {
    expectError(await request('GET', `${app.api}/users`, { token: bob.accessToken }), 403, 'FORBIDDEN');
    expectError(await request('GET', `${app.api}/users/${alice.user.id}`, { token: bob.accessToken }), 403, 'FORBIDDEN');
    expectError(await request('PATCH', `${app.api}/users/${bob.user.id}`, { token: bob.accessToken, body: { plan: 'enterprise' } }), 403, 'FORBIDDEN');
    expectError(await request('GET', `${app.api}/users`), 401, 'UNAUTHORIZED');
    const me = await request('GET', `${app.api}/users/me`, { token: bob.accessToken });
    expect(me.status).toBe(200);
    expect(me.body.id).toBe(bob.user.id);
    const renamed = await request('PATCH', `${app.api}/users/me`, { token: bob.accessToken, body: { fullName: 'Bob' } });
    expect(renamed.status).toBe(200);
  });

  it('changes a role: the new admin can use admin routes', async () => {
    const promoted = await request('PATCH', `${app.api}/users/${alice.user.id}`, { token: admin.accessToken, body: { role: 'admin' } });
    expect(promoted.status).toBe(200);
    expect(promoted.body.role).toBe('admin');
    expect((await request('GET', `${app.api}/users`, { token: alice.accessToken })).status).toBe(200);
    const demoted = await request('PATCH', `${app.api}/users/${alice.user.id}`, { token: admin.accessToken, body: { role: 'user' } });
    expect(demoted.body.role).toBe('user');
    expectError(await request('GET', `${app.api}/users`, { token: alice.accessToken }), 403, 'FORBIDDEN');
    expectError(await request('PATCH', `${app.api}/users/${alice.user.id}`, { token: admin.accessToken, body: { role: 'root' } }), 400, 'VALIDATION_FAILED');
    expectError(await request('PATCH', `${app.api}/users/${alice.user.id}`, { token: admin.accessToken, body: { email: 'x@example.com' } }), 400, 'VALIDATION_FAILED');
  });

  it('refuses an admin demoting or deactivating themself with 422', async () => {
    expectError(await request('PATCH', `${app.api}/users/${admin.user.id}`, { token: admin.accessToken, body: { role: 'user' } }), 422, 'CANNOT_CHANGE_SELF');
    expectError(await request('PATCH', `${app.api}/users/${admin.user.id}`, { token: admin.accessToken, body: { active: false } }), 422, 'CANNOT_CHANGE_SELF');
    const plan = await request('PATCH', `${app.api}/users/${admin.user.id}`, { token: admin.accessToken, body: { plan: 'pro' } });
    expect(plan.body).toMatchObject({ role: 'admin', plan: 'pro', active: true });
  });

  it('deactivates an account: its access token stops at once, refresh and sign-in are refused, until reactivated', async () => {
    expect((await request('GET', `${app.api}/users/me`, { token: bob.accessToken })).status).toBe(200);
    const deactivated = await request('PATCH', `${app.api}/users/${bob.user.id}`, { token: admin.accessToken, body: { active: false } });
    expect(deactivated.status).toBe(200);
    expect(deactivated.body.active).toBe(false);
    expectError(await request('GET', `${app.api}/users/me`, { token: bob.accessToken }), 401, 'UNAUTHORIZED');
    expect((await request('POST', `${app.api}/auth/refresh`, { body: { refreshToken: bob.refreshToken } })).status).toBe(401);
    expectError(await request('POST', `${app.api}/auth/login`, { body: { email: bob.user.email, password: bob.password } }), 401, 'ACCOUNT_DISABLED');
    const inactive = await request('GET', `${app.api}/users?active=false`, { token: admin.accessToken });
    expect(inactive.body.items.map((user: { id: string }) => user.id)).toEqual([bob.user.id]);

    const reactivated = await request('PATCH', `${app.api}/users/${bob.user.id}`, { token: admin.accessToken, body: { active: true } });
    expect(reactivated.body.active).toBe(true);
    // Sessions revoked at deactivation stay revoked.
    expect((await request('POST', `${app.api}/auth/refresh`, { body: { refreshToken: bob.refreshToken } })).status).toBe(401);
    expect((await request('POST', `${app.api}/auth/login`, { body: { email: bob.user.email, password: bob.password } })).status).toBe(200);
  });

  it('changes a plan: a second environment refused on free is accepted on starter', async () => {
    const create = (name: string) => request('POST', `${app.api}/environments`, { token: alice.accessToken, body: { name, templateId: ubuntuId } });
    expect((await create('first')).status).toBe(201);
    expectError(await create('second'), 422, 'PLAN_LIMIT_REACHED');
    const upgraded = await request('PATCH', `${app.api}/users/${alice.user.id}`, { token: admin.accessToken, body: { plan: 'starter' } });
    expect(upgraded.body.plan).toBe('starter');
    expect((await create('second')).status).toBe(201);
  });
});
