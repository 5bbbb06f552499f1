import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startServer } from '../../apps/api/src/bootstrap.js';
import { ConfigError } from '../../apps/api/src/config/app-config.js';
import { registerUser, request, startTestServer, testConfig, type TestServer } from '../support/server.js';

describe('where environments may run', () => {
  let app: TestServer;

  beforeAll(async () => {
    app = await startTestServer({ LOCAL_RUNTIME_ENABLED: 'false' });
  });

  afterAll(async () => {
    await app?.close();
  });

  it('refuses to create an environment with 422 NO_RUNTIME when no cluster is registered and local environments are off', async () => {
    const user = await registerUser(app.api);
    const templates = await request('GET', `${app.api}/templates`, { token: user.accessToken });
    const response = await request('POST', `${app.api}/environments`, { token: user.accessToken, body: { name: 'nowhere', templateId: templates.body.items[0].id } });
    expect(response.status).toBe(422);
    expect(response.body.code).toBe('NO_RUNTIME');
    expect((await request('GET', `${app.api}/environments`, { token: user.accessToken })).body.total).toBe(0);
  });

  it('will not serve shells of this host on a non-loopback address unless told to', async () => {
    const refused = startServer(testConfig(app.databaseUrl, app.dataDir, { HOST: '0.0.0.0' }));
    await expect(refused).rejects.toThrow(ConfigError);
    await expect(refused).rejects.toThrow(/LOCAL_RUNTIME_ALLOW_REMOTE|LOCAL_RUNTIME_ENABLED/);
  });
});
