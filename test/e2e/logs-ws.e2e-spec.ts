import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRunningEnvironment, registerUser, request, startTestServer, waitForStatus, type TestServer } from '../support/server.js';
import { closeAll, WsTerminal } from '../support/terminal-clients.js';

describe('environment logs over plain WebSocket', () => {
  let app: TestServer;
  let owner: Awaited<ReturnType<typeof registerUser>>;
  let stranger: Awaited<ReturnType<typeof registerUser>>;
  let envId: string;
  const clients: WsTerminal[] = [];

  beforeAll(async () => {
    app = await startTestServer();
    owner = await registerUser(app.api);
    stranger = await registerUser(app.api);
    envId = (await createRunningEnvironment(app.api, owner.accessToken, 'logged')).id;
  });

  afterAll(async () => {
    closeAll(clients);
    await app?.close();
  });

  it('sends the history, then follows new lines as the environment changes', async () => {
    const logs = await WsTerminal.connect(WsTerminal.address(app.url, envId, owner.accessToken, {}, 'logs'));
    clients.push(logs);
    await logs.waitForLogLine(/provisioned from template ubuntu/);
    const before = logs.frames.length;

    expect((await request('POST', `${app.api}/environments/${envId}/stop`, { token: owner.accessToken })).status).toBe(202);
    await waitForStatus(app.api, owner.accessToken, envId, 'stopped');
    await logs.waitForLogLine(/stopped tmux server/);
    expect(logs.frames.length).toBeGreaterThan(before);
    expect(logs.frames.every((frame) => frame.type === 'log')).toBe(true);
  });

  it('honours ?tail= for the history', async () => {
    const logs = await WsTerminal.connect(WsTerminal.address(app.url, envId, owner.accessToken, { tail: '1' }, 'logs'));
    clients.push(logs);
    await logs.waitForFrame('log');
    const history = await request('GET', `${app.api}/environments/${envId}/logs?tail=1`, { token: owner.accessToken });
    expect(logs.frames[0]).toEqual({ type: 'log', line: history.body.lines[0] });
  });

  it("refuses a bad token with 401 and another user's environment with 404", async () => {
    expect((await WsTerminal.refusal(WsTerminal.address(app.url, envId, 'not-a-token', {}, 'logs'))).statusCode).toBe(401);
    const foreign = await WsTerminal.refusal(WsTerminal.address(app.url, envId, stranger.accessToken, {}, 'logs'));
    expect(foreign.statusCode).toBe(404);
    expect(foreign.body.code).toBe('ENVIRONMENT_NOT_FOUND');
  });
});
