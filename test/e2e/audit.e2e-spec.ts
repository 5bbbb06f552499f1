import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startFakeKubeApiServer, type FakeKubeApiServer } from '../fake-kube-apiserver/index.js';
import { registerUser, request, startTestServer, type TestServer } from '../support/server.js';

const AUDIT_FIELDS = ['action', 'actorId', 'at', 'details', 'id', 'ip', 'targetId', 'targetType'];
const LOOPBACK = /^(::ffff:)?127\.0\.0\.1$/;

describe('Audit trail', () => {
  let app: TestServer;
  let kube: FakeKubeApiServer;
  let admin: Awaited<ReturnType<typeof registerUser>>;
  let eve: Awaited<ReturnType<typeof registerUser>>;
  const startedAt = Date.now();

  beforeAll(async () => {
    kube = await startFakeKubeApiServer();
    app = await startTestServer();
    admin = await registerUser(app.api, 'auditadmin');
    eve = await registerUser(app.api);
  });

  afterAll(async () => {
    await app?.close();
    await kube?.close();
  });

  /** The events of the trail matching `query`, newest first. */
  async function events(query: string): Promise<any[]> {
    const response = await request('GET', `${app.api}/audit-events?limit=100&${query}`, { token: admin.accessToken });
    expect(response.status).toBe(200);
    return response.body.items;
  }

  const login = (email: string, password: string) => request('POST', `${app.api}/auth/login`, { body: { email, password } });

  it('records sign-ins, failed sign-ins and lockouts with actor, target, IP and time', async () => {
    expect((await login(eve.user.email, 'not the password')).status).toBe(401);
    expect((await login(eve.user.email, eve.password)).status).toBe(200);
    expect((await login('nobody@example.com', 'whatever pass')).status).toBe(401);

    const [failed] = await events(`action=auth.sign_in_failed&targetId=${eve.user.id}`);
    expect(Object.keys(failed).sort()).toEqual(AUDIT_FIELDS);
    expect(failed).toMatchObject({ actorId: null, targetType: 'user', targetId: eve.user.id, details: { reason: 'wrong_password' } });
    expect(failed.ip).toMatch(LOOPBACK);
    expect(Date.parse(failed.at)).toBeGreaterThanOrEqual(startedAt - 1000);

    const [signIn] = await events(`action=auth.sign_in&actorId=${eve.user.id}`);
    expect(signIn).toMatchObject({ actorId: eve.user.id, targetType: 'user', targetId: eve.user.id });
    expect(signIn.ip).toMatch(LOOPBACK);

    const unknown = (await events('action=auth.sign_in_failed')).find((event) => event.details?.login === 'nobody@example.com');
    expect(unknown).toMatchObject({ actorId: null, targetId: null, details: { reason: 'unknown_account' } });

    const frank = await registerUser(app.api);
    for (let i = 0; i < 5; i += 1) await login(frank.user.email, 'wrong password!');
    const locked = await events(`action=auth.locked&targetId=${frank.user.id}`);
    expect(locked).toHaveLength(1);
    expect(locked[0].details.until).toEqual(expect.any(String));
    expect((await login(frank.user.email, frank.password)).status).toBe(423);
    expect((await events(`action=auth.sign_in_failed&targetId=${frank.user.id}`))[0].details).toEqual({ reason: 'locked' });
  });

  it('records environment creation and deletion by their owner', async () => {
    const templates = await request('GET', `${app.api}/templates?q=ubuntu`, { token: eve.accessToken });
    const templateId = templates.body.items.find((item: { name: string }) => item.name === 'ubuntu').id;
    const created = await request('POST', `${app.api}/environments`, { token: eve.accessToken, body: { name: 'audited', templateId } });
    expect(created.status).toBe(201);
    expect((await request('DELETE', `${app.api}/environments/${created.body.id}`, { token: eve.accessToken })).status).toBe(202);

    const trail = await events(`targetId=${created.body.id}`);
    expect(trail.map((event) => event.action)).toEqual(['environment.deleted', 'environment.created']);
    expect(trail[1]).toMatchObject({ actorId: eve.user.id, targetType: 'environment', details: { name: 'audited', templateId } });
    expect(trail[1].ip).toMatch(LOOPBACK);
  });

  it('records role, plan and activity changes by the admin', async () => {
    const target = await registerUser(app.api);
    const patch = (body: unknown) => request('PATCH', `${app.api}/users/${target.user.id}`, { token: admin.accessToken, body });
    expect((await patch({ plan: 'pro', role: 'admin' })).status).toBe(200);
    expect((await patch({ active: false })).status).toBe(200);
    expect((await patch({ plan: 'pro' })).status).toBe(200);

    const trail = await events(`targetId=${target.user.id}&actorId=${admin.user.id}`);
    expect(trail.map((event) => event.action).sort()).toEqual(['user.deactivated', 'user.plan_changed', 'user.role_changed']);
    expect(trail.find((event) => event.action === 'user.plan_changed').details).toEqual({ from: 'free', to: 'pro' });
    expect(trail.find((event) => event.action === 'user.role_changed').details).toEqual({ from: 'user', to: 'admin' });
  });

  it('records cluster registration', async () => {
    const registered = await request('POST', `${app.api}/clusters`, {
      token: admin.accessToken,
      body: { name: 'audited-cluster', region: 'eu-west', kubeconfig: kube.kubeconfig() },
    });
    expect(registered.status).toBe(201);
    const [event] = await events(`action=cluster.registered&targetId=${registered.body.id}`);
    expect(event).toMatchObject({ actorId: admin.user.id, targetType: 'cluster', details: { name: 'audited-cluster' } });
    expect(JSON.stringify(event)).not.toContain('fake-admin');
  });

  it('pages the trail for admins only', async () => {
    const page = await request('GET', `${app.api}/audit-events?limit=2&offset=1`, { token: admin.accessToken });
    expect(page.status).toBe(200);
    expect(page.body).toMatchObject({ limit: 2, offset: 1 });
    expect(page.body.items).toHaveLength(2);
    expect(page.body.total).toBeGreaterThan(10);
    const times = page.body.items.map((event: { at: string }) => Date.parse(event.at));
    expect(times[0]).toBeGreaterThanOrEqual(times[1]);

    expect((await request('GET', `${app.api}/audit-events`, { token: eve.accessToken })).status).toBe(403);
    expect((await request('GET', `${app.api}/audit-events`)).status).toBe(401);
    expect((await request('GET', `${app.api}/audit-events?actorId=nope`, { token: admin.accessToken })).status).toBe(400);
    expect((await request('GET', `${app.api}/audit-events?action=made.up`, { token: admin.accessToken })).status).toBe(400);
  });
});
