import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createRunningEnvironment, registerUser, startTestServer, type TestServer } from '../support/server.js';
import { SocketTerminal, WsTerminal, closeAll, shellSize } from '../support/terminal-clients.js';
import { paneFormat, tmux } from '../support/xterm-screen.js';

import { setTimeout as sleep } from 'node:timers/promises';
import { quiet } from '../support/waiting.js';

/**
 * Polls `read()` until it gives `expected` (deep equality) or `timeoutMs` passed; resolves with
 * the last value read, for the test to assert (a tmux client attaches some time after its PTY starts).
 */
async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 5_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (JSON.stringify(value) !== JSON.stringify(expected) && Date.now() < deadline) {
    await sleep(50);
    value = await read();
  }
  return value;
}

describe('One environment on a phone, a laptop and a read-only viewer at once (real tmux)', () => {
  let server: TestServer;
  let token: string;
  const opened: Array<{ close(): void }> = [];
  let environments = 0;

  /** A fresh environment per test, so its tmux server has only this test's clients. */
  async function environment(): Promise<string> {
    environments += 1;
    const created = await createRunningEnvironment(server.api, token, `devices-${environments}`);
    return created.id;
  }

  async function phone(environmentId: string, extra: Record<string, unknown> = {}): Promise<SocketTerminal> {
    const { terminal } = await SocketTerminal.open(server.url, token, { environmentId, cols: 40, rows: 20, ...extra });
    opened.push(terminal);
    return terminal;
  }

  /** The laptop uses the original plain-WebSocket protocol at 120x40. */
  async function laptop(environmentId: string): Promise<WsTerminal> {
    const terminal = await WsTerminal.connect(WsTerminal.address(server.url, environmentId, token, { cols: '120', rows: '40' }));
    opened.push(terminal);
    await terminal.waitForFrame('welcome');
    return terminal;
  }

  /** The tmux window's size (`<cols>x<rows>`), which the pane and the shell get. */
  function windowSize(environmentId: string): Promise<string> {
    return paneFormat(server, environmentId, '#{window_width}x#{window_height}');
  }

  /** The sizes of the environment's tmux clients (`<cols>x<rows>`, read-only ones marked `ro`), sorted. */
  async function clientSizes(environmentId: string): Promise<string[]> {
    const listed = await tmux(server, environmentId, ['list-clients', '-F', '#{client_width}x#{client_height}#{?client_readonly, ro,}']);
    return listed.trim().split('\n').sort();
  }

  beforeAll(async () => {
    server = await startTestServer();
    token = (await registerUser(server.api)).accessToken;
  });

  afterEach(() => {
    closeAll(opened.splice(0));
  });

  afterAll(async () => {
    closeAll(opened.splice(0));
    await server?.close();
  });

  it('gives the window to whoever typed last: the phone sees 20x40, the laptop 40x120, and each sees the other’s output', async () => {
    const id = await environment();
    const onPhone = await phone(id);
    const onLaptop = await laptop(id);
    expect(await eventually(() => clientSizes(id), ['120x40', '40x20'])).toEqual(['120x40', '40x20']);

    // shellSize types `stty size` until the shell reports the size: tmux gives the window to the
    // typist at once, and passes a pane's new size to the shell at most every 250 ms.
    await shellSize(onPhone, 20, 40);
    expect(await windowSize(id)).toBe('40x20');
    await shellSize(onLaptop, 40, 120);
    expect(await windowSize(id)).toBe('120x40');
    await shellSize(onPhone, 20, 40);
    expect(await windowSize(id)).toBe('40x20');

    onPhone.type('echo FROM_PHONE_$((6*7))\r');
    await onLaptop.waitFor(/FROM_PHONE_42/);
    onLaptop.type('echo FROM_LAPTOP_$((6*7))\r');
    await onPhone.waitFor(/FROM_LAPTOP_42/);
  });

  it('applies a resize of the phone to the phone’s own tmux client only', async () => {
    const id = await environment();
    const onPhone = await phone(id);
    const onLaptop = await laptop(id);
    await shellSize(onLaptop, 40, 120);

    onPhone.resize(50, 25);
    // The phone's tmux client takes the new size; the laptop's keeps its own.
    await shellSize(onPhone, 25, 50);
    expect(await clientSizes(id)).toEqual(['120x40', '50x25']);
    await shellSize(onLaptop, 40, 120);
    await shellSize(onPhone, 25, 50);
  });

  it('shows a read-only viewer the output, refuses its input with FORBIDDEN, and never gives it the window', async () => {
    const id = await environment();
    const onPhone = await phone(id);
    const onLaptop = await laptop(id);
    await shellSize(onLaptop, 40, 120);
    onLaptop.type('echo BEFORE_VIEWER_$((6*7))\r');
    await onLaptop.waitFor(/BEFORE_VIEWER_42/);

    const viewer = await phone(id, { cols: 60, rows: 15, readOnly: true });
    // Its first paint shows the screen, so tmux has attached it.
    await viewer.waitFor(/BEFORE_VIEWER_42/);
    expect(await eventually(() => clientSizes(id), ['120x40', '40x20', '60x15 ro'])).toEqual(['120x40', '40x20', '60x15 ro']);
    // Attaching to watch does not resize the writers' window to the viewer's size.
    expect(await windowSize(id)).toBe('120x40');

    await quiet(() => viewer.raw.length, 'the viewer');
    const beforeResize = viewer.raw.length;
    viewer.resize(70, 18);
    // tmux repaints a resized client: once that arrived, tmux has applied the resize.
    await viewer.waitUntil(() => viewer.raw.length > beforeResize, 'the repaint after the resize');
    expect(await eventually(() => clientSizes(id), ['120x40', '40x20', '70x18 ro'])).toEqual(['120x40', '40x20', '70x18 ro']);
    expect(await windowSize(id)).toBe('120x40');

    // It sees what the writers do.
    onPhone.type('echo FOR_VIEWER_$((6*7))\r');
    await viewer.waitFor(/FOR_VIEWER_42/);

    // Its keystrokes are refused and never reach the shell.
    viewer.type('echo FROM_VIEWER_$((6*7))\r');
    await viewer.waitUntil(() => viewer.errors.length > 0, 'an error event for the viewer’s input');
    expect(viewer.errors[0]).toMatchObject({ code: 'FORBIDDEN' });
    onLaptop.type('echo AFTER_VIEWER_$((6*7))\r');
    await onLaptop.waitFor(/AFTER_VIEWER_42/);
    expect(onLaptop.text).not.toMatch(/FROM_VIEWER_42/);

    // The writers keep their sizes: whoever of them types gets the window.
    await shellSize(onPhone, 20, 40);
    await shellSize(onLaptop, 40, 120);
    expect(await windowSize(id)).toBe('120x40');
  });
});
