import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from '@jest/globals';
import { createRunningEnvironment, registerUser, startTestServer, type TestServer } from '../support/server.js';
import { SocketTerminal, closeAll, type AttachAck } from '../support/terminal-clients.js';
import { capturePane, renderScreen } from '../support/xterm-screen.js';

import { quiet } from '../support/waiting.js';

describe('Terminal across a graceful server restart', () => {
  // Both servers sign tokens with the same secret, as two releases of one deployment do.
  const env = { JWT_SECRET: randomBytes(32).toString('hex') };
  let current: TestServer | undefined;
  const opened: Array<{ close(): void }> = [];

  afterAll(async () => {
    closeAll(opened);
    await current?.close();
  });

  it('tells clients server_restart, takes no attach while stopping, and the next server redraws a shell that kept running', async () => {
    const first = await startTestServer(env);
    current = first;
    const alice = await registerUser(first.api);
    const shell = await createRunningEnvironment(first.api, alice.accessToken, 'restart');
    const { terminal, ack } = await SocketTerminal.open(first.url, alice.accessToken, { environmentId: shell.id, cols: 100, rows: 30 });
    opened.push(terminal);
    const latecomer = await SocketTerminal.connect(first.url, { token: alice.accessToken });
    opened.push(latecomer);

    terminal.type("for i in $(seq 1 40); do echo TICK_$i; sleep 0.1; done; printf 'DO%sE\\n' N\r");
    await terminal.waitFor(/TICK_5\n/);

    // A client told to reconnect that comes straight back must not land on the stopping server.
    let lateAttach: Promise<AttachAck> | undefined;
    terminal.socket.once('exit', () => {
      lateAttach = latecomer.attach({ environmentId: shell.id, cols: 80, rows: 24 });
    });
    const stopping = first.server.stop();
    await terminal.waitUntil(() => terminal.exits.length > 0, 'exit');
    expect(terminal.exits).toEqual([{ reason: 'server_restart' }]);
    // Refused while the server drains, or the socket is already closed: never a session on it.
    const late = await lateAttach!.then(
      (answer) => ({ answer }),
      (error: Error) => ({ failure: error.message }),
    );
    if ('answer' in late) expect(late.answer).toEqual({ error: { code: 'SERVER_RESTARTING', message: expect.any(String) } });
    else expect(late.failure).toMatch(/disconnected/);
    await stopping;
    const lastTickBefore = Math.max(...[...terminal.text.matchAll(/TICK_(\d+)\n/g)].map((match) => Number(match[1])));
    expect(lastTickBefore).toBeLessThan(40);

    const second = await startTestServer(env, first);
    current = second;
    const resumed = await SocketTerminal.open(second.url, alice.accessToken, {
      environmentId: shell.id,
      cols: 100,
      rows: 30,
      sessionId: ack.sessionId,
      lastSeq: terminal.seq,
    });
    opened.push(resumed.terminal);
    // The session was the old server's: a new one, painted by tmux's full redraw.
    expect(resumed.ack).toMatchObject({ resume: 'redraw', seq: 0, readOnly: false });
    expect(resumed.ack.sessionId).not.toBe(ack.sessionId);

    // The loop ran on in tmux while no server was there, and finishes on the new one.
    await resumed.terminal.waitFor(/DONE/, 15_000);
    await quiet(() => resumed.terminal.seq, 'the resumed terminal', 400);
    expect(resumed.terminal.seqViolations).toEqual([]);
    const screen = await renderScreen([resumed.terminal.raw], 100, 30);
    const pane = await capturePane(second, shell.id);
    expect(screen.rows).toEqual(pane.rows);
    expect(screen.cursor).toEqual(pane.cursor);
    expect(pane.rows.join('\n')).toContain('TICK_40');
  });
});
