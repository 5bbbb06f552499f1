import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { registerUser, request, startTestServer, waitForStatus, type JsonResponse, type TestServer } from '../support/server.js';

/** The default limits of the free plan (test servers raise them for the other suites). */
const FREE_DEFAULTS = { FREE_MAX_ENVIRONMENTS: '1', FREE_MAX_CPU: '500m', FREE_MAX_MEMORY: '1Gi', FREE_MAX_STORAGE: '5Gi' };

function expectPlanLimit(response: JsonResponse, message: RegExp): void {
  expect(response.status).toBe(422);
  expect(response.body).toMatchObject({ statusCode: 422, code: 'PLAN_LIMIT_REACHED' });
  expect(response.body.message).toMatch(message);
  expect(response.body.details.length).toBeGreaterThan(0);
}

describe('Plans', () => {
  let app: TestServer;
  let admin: Awaited<ReturnType<typeof registerUser>>;
  let templates: Record<string, string>;

  beforeAll(async () => {
    app = await startTestServer(FREE_DEFAULTS);
    admin = await registerUser(app.api, 'planadmin');
    const list = await request('GET', `${app.api}/templates`, { token: admin.accessToken });
    templates = Object.fromEntries(list.body.items.map((item: { name: string; id: string }) => [item.name, item.id]));
  });

  afterAll(async () => {
    await app?.close();
  });

  const create = (token: string, body: Record<string, unknown>) => request('POST', `${app.api}/environments`, { token, body });
  const setPlan = (userId: string, plan: string) => request('PATCH', `${app.api}/users/${userId}`, { token: admin.accessToken, body: { plan } });

  it('refuses a second environment on the free plan, naming the limit, and frees the slot on delete', async () => {
    const user = await registerUser(app.api);
    const first = await create(user.accessToken, { name: 'one', templateId: templates.ubuntu });
    expect(first.status).toBe(201);
    const second = await create(user.accessToken, { name: 'two', templateId: templates.ubuntu });
    expectPlanLimit(second, /free plan allows 1 environment/);
    expect(second.body.details).toEqual([{ field: 'environments', message: 'limit 1 on the free plan' }]);
    expect((await request('GET', `${app.api}/environments`, { token: user.accessToken })).body.total).toBe(1);

    expect((await request('DELETE', `${app.api}/environments/${first.body.id}`, { token: user.accessToken })).status).toBe(202);
    expect((await create(user.accessToken, { name: 'two', templateId: templates.ubuntu })).status).toBe(201);
  });

  it('refuses resources above the plan, from the request or the template, and accepts them after an upgrade', async () => {
    const user = await registerUser(app.api);
    const tooMuchMemory = await create(user.accessToken, { name: 'big', templateId: templates.ubuntu, resources: { memory: '2Gi' } });
    expectPlanLimit(tooMuchMemory, /memory 2Gi is over 1Gi/);
    expect(tooMuchMemory.body.details).toEqual([{ field: 'resources.memory', message: 'limit 1Gi on the free plan' }]);
    // golang asks for 1 CPU, 2Gi and 10Gi.
    const golang = await create(user.accessToken, { name: 'go', templateId: templates.golang });
    expectPlanLimit(golang, /cpu 1 is over 500m.*memory 2Gi is over 1Gi.*storage 10Gi is over 5Gi/);
    expect((await create(user.accessToken, { name: 'small', templateId: templates.ubuntu, resources: { cpu: '0.5', memory: '1024Mi' } })).status).toBe(201);

    expect((await setPlan(user.user.id, 'starter')).status).toBe(200);
    expect((await create(user.accessToken, { name: 'go', templateId: templates.golang })).status).toBe(201);
    expectPlanLimit(await create(user.accessToken, { name: 'bigger', templateId: templates.golang, resources: { cpu: '1500m' } }), /cpu 1500m is over 1$/);
  });

  it('checks the plan again on start, after a downgrade', async () => {
    const user = await registerUser(app.api);
    expect((await setPlan(user.user.id, 'starter')).status).toBe(200);
    const env = await create(user.accessToken, { name: 'go', templateId: templates.golang });
    expect(env.status).toBe(201);
    await waitForStatus(app.api, user.accessToken, env.body.id, 'running');
    expect((await request('POST', `${app.api}/environments/${env.body.id}/stop`, { token: user.accessToken })).status).toBe(202);
    await waitForStatus(app.api, user.accessToken, env.body.id, 'stopped');

    expect((await setPlan(user.user.id, 'free')).status).toBe(200);
    expectPlanLimit(await request('POST', `${app.api}/environments/${env.body.id}/start`, { token: user.accessToken }), /over 500m/);
    expect((await request('GET', `${app.api}/environments/${env.body.id}`, { token: user.accessToken })).body.status).toBe('stopped');

    expect((await setPlan(user.user.id, 'pro')).status).toBe(200);
    expect((await request('POST', `${app.api}/environments/${env.body.id}/start`, { token: user.accessToken })).status).toBe(202);
    await waitForStatus(app.api, user.accessToken, env.body.id, 'running');
  });
});
