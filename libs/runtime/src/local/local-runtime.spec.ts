import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { firstValueFrom, take, timeout, toArray } from 'rxjs';
import { RuntimeError, type RuntimeEnvironment, type RuntimeStatusEvent, type RuntimeTemplate, type TerminalStream } from '../environment-runtime.js';
import { screenOf, type Screen } from '../testing/terminal-screen.js';
import { LocalRuntime } from './local-runtime.js';

const execFileAsync = promisify(execFile);

const template: RuntimeTemplate = {
  name: 'ubuntu',
  image: 'ubuntu:24.04',
  defaultPort: 3000,
  environmentVariables: { GREETING: 'hello_from_template', PATH: '/container/only/bin' },
  startupCommands: ['touch "$HOME/startup-ran"'],
};
const resources = { cpu: '500m', memory: '1Gi', storage: '5Gi' };

function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

describe(LocalRuntime.name, () => {
  let root: string;
  let runtime: LocalRuntime;
  const runtimes: LocalRuntime[] = [];
  const terminals: TerminalStream[] = [];

  function newEnvironment(): RuntimeEnvironment {
    return { id: randomUUID(), userId: randomUUID(), name: 'playground' };
  }

  async function running(): Promise<RuntimeEnvironment> {
    const env = newEnvironment();
    await runtime.provision(env, template, resources);
    await runtime.start(env);
    return env;
  }

  async function open(env: RuntimeEnvironment, cols = 200, rows = 50, readOnly = false, on = runtime): Promise<{ terminal: TerminalStream; screen: Screen }> {
    const terminal = await on.openTerminal(env, { cols, rows, readOnly });
    terminals.push(terminal);
    return { terminal, screen: screenOf(terminal) };
  }

  beforeAll(async () => {
    // realpath: the shell reports the physical working directory.
    root = await realpath(await mkdtemp(join(tmpdir(), 'devpocket-local-runtime-')));
    runtime = new LocalRuntime({ dataDir: join(root, 'data') });
    runtimes.push(runtime);
  });

  afterAll(async () => {
    for (const terminal of terminals) terminal.close();
    for (const each of runtimes) {
      await each.killAllServers();
      await rm(each.socketDir, { recursive: true, force: true });
    }
    await rm(root, { recursive: true, force: true });
  });

  it('runs the shell in the environment home with the template variables, on a short tmux socket', async () => {
    // What the API process carries (its secrets, the tmux it may run in) must not reach the shell.
    const saved = { TMUX: process.env.TMUX, DEVPOCKET_SECRET: process.env.DEVPOCKET_SECRET };
    process.env.TMUX = '/tmp/some-other-tmux,1,0';
    process.env.DEVPOCKET_SECRET = 'not-for-shells';
    let env: RuntimeEnvironment;
    try {
      env = await running();
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
    const paths = runtime.paths(env);

    expect(await runtime.inspect(env)).toBe('running');
    expect(paths.home).toBe(join(root, 'data', 'environments', env.id, 'home'));
    expect(existsSync(paths.socket)).toBe(true);
    expect(paths.socket.startsWith(join(tmpdir(), `devpocket-${process.getuid?.()}`))).toBe(true);

    const { terminal, screen } = await open(env);
    terminal.write('echo "H_$((1+1)):$HOME:$(pwd):$GREETING:$TMUX_PANE"\r');
    const [, reported] = await screen.waitFor(/H_2:([^\r\n]*)/);
    // TMUX_PANE is tmux's own (a `%` pane id), not one leaked from the API process.
    expect(reported).toMatch(new RegExp(`^${literal(paths.home)}:${literal(paths.home)}:hello_from_template:%\\d+$`));
    terminal.write('echo "E_$((2+2)):$TERM:$LANG:${DEVPOCKET_SECRET:-none}:$TMUX"\r');
    const [, variables] = await screen.waitFor(/E_4:([^\r\n]*)/);
    expect(variables).toMatch(new RegExp(`^tmux-256color:C\\.UTF-8:none:${literal(paths.socket)},\\d+,\\d+$`));
  });

  it('returns the output of a command typed on the terminal', async () => {
    const env = await running();
    const { terminal, screen } = await open(env);

    terminal.write('printf "CMD_%s_%s\\n" $((6*7)) "$(printf abc | tr a-z A-Z)"\r');

    await expect(screen.waitFor(/CMD_42_ABC/)).resolves.toEqual(expect.arrayContaining(['CMD_42_ABC']));
  });

  it('resizes the shell when the terminal is resized', async () => {
    const env = await running();
    const { terminal, screen } = await open(env, 80, 24);
    terminal.write('stty size\r');
    await screen.waitFor(/24 80/);

    terminal.resize(100, 30);
    // The new size reaches the pane after tmux handles the client's SIGWINCH, an asynchronous
    // step: ask again until the shell sees it.
    const seen = screen.waitFor(/30 100/);
    const asking = setInterval(() => terminal.write('stty size\r'), 300);
    try {
      terminal.write('stty size\r');
      await seen;
    } finally {
      clearInterval(asking);
    }
  });

  it('shows two terminals of one environment the same shell', async () => {
    const env = await running();
    const first = await open(env);
    const second = await open(env);

    first.terminal.write('export SHARED_VALUE=shared_$((3+4)); echo EXPORTED_$((1+2))\r');
    await first.screen.waitFor(/EXPORTED_3/);
    second.terminal.write('echo SH_$((2*3))_$SHARED_VALUE\r');

    await second.screen.waitFor(/SH_6_shared_7/);
    await first.screen.waitFor(/SH_6_shared_7/);
  });

  it('detaches on close and keeps the shell for the next terminal', async () => {
    const env = await running();
    const first = await open(env);
    first.terminal.write('export FOO=bar_$((2+2)); echo SET_$((1+1))\r');
    await first.screen.waitFor(/SET_2/);

    first.terminal.close();
    first.terminal.close();
    await first.screen.exited;
    first.terminal.close();
    first.terminal.write('echo AFTER_CLOSE\r');

    expect(await runtime.inspect(env)).toBe('running');
    const second = await open(env);
    second.terminal.write('echo FOO_$((1+0))_$FOO\r');
    await second.screen.waitFor(/FOO_1_bar_4/);
    expect(second.screen.text()).not.toContain('AFTER_CLOSE');
  });

  it('ignores the keystrokes of a read-only terminal while showing it the shell', async () => {
    const env = await running();
    const writer = await open(env);
    const viewer = await open(env, 200, 50, true);
    // Until the tmux client has put its PTY in raw mode the kernel echoes keystrokes locally;
    // type once the viewer shows the shell.
    writer.terminal.write('echo READY_$((1+1))\r');
    await viewer.screen.waitFor(/READY_2/);

    viewer.terminal.write('echo RO_$((3*3))\r');
    writer.terminal.write('echo RW_$((4*4))\r');
    await writer.screen.waitFor(/RW_16/);
    await viewer.screen.waitFor(/RW_16/);
    // A second round trip through the shell: by then tmux has long read the viewer's keys.
    writer.terminal.write('echo RW_$((5*5))\r');
    await writer.screen.waitFor(/RW_25/);

    expect(writer.screen.text()).not.toContain('RO_');
    expect(viewer.screen.text()).not.toContain('RO_');
  });

  it('stops the environment: terminals end, it inspects as stopped and refuses new terminals', async () => {
    const env = await running();
    const { screen } = await open(env);
    const paths = runtime.paths(env);

    await runtime.stop(env);

    await screen.exited;
    expect(await runtime.inspect(env)).toBe('stopped');
    expect(existsSync(paths.socket)).toBe(false);
    expect(existsSync(paths.home)).toBe(true);
    const refused = await runtime.openTerminal(env, { cols: 80, rows: 24 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(RuntimeError);
    expect(refused).toMatchObject({ reason: 'NotRunning' });
    await expect(runtime.stop(env)).resolves.toBeUndefined();
    expect((await runtime.logs(env, { tail: 1 }))[0]).toMatch(/^\d{4}-\d\d-\d\dT\S+Z stop requested; tmux server was not running$/);
  });

  it('follows the log across appends that split a character, without re-reading what it sent', async () => {
    const env = newEnvironment();
    await runtime.provision(env, template, resources);
    const { logFile } = runtime.paths(env);
    const lines = firstValueFrom(runtime.followLogs(env, { tail: 0 }).pipe(take(2), toArray(), timeout(10_000)));
    // Let the first read (the tail) happen before appending.
    await new Promise((resolveWait) => setTimeout(resolveWait, 200));
    const accented = Buffer.from('caf\u00e9 ok\n', 'utf8');
    await appendFile(logFile, accented.subarray(0, 4)); // "caf" and the first byte of "é"
    await new Promise((resolveWait) => setTimeout(resolveWait, 100));
    await appendFile(logFile, Buffer.concat([accented.subarray(4), Buffer.from('second\n')]));
    expect(await lines).toEqual(['caf\u00e9 ok', 'second']);
  });

  it('destroys the environment: its directory and socket are gone', async () => {
    const env = await running();
    const paths = runtime.paths(env);

    await runtime.destroy(env);

    expect(await runtime.inspect(env)).toBe('absent');
    expect(existsSync(paths.dir)).toBe(false);
    expect(existsSync(paths.socket)).toBe(false);
    await expect(runtime.destroy(env)).resolves.toBeUndefined();
    await expect(runtime.openTerminal(env, { cols: 80, rows: 24 })).rejects.toMatchObject({ reason: 'NotRunning' });
    expect(await runtime.logs(env, { tail: 10 })).toEqual([]);
  });

  it('keeps the tmux socket path short under a very deep data directory', async () => {
    const deepDataDir = join(root, 'a-rather-long-directory-name-for-the-data'.repeat(4), 'data');
    expect(deepDataDir.length).toBeGreaterThan(150);
    const deep = new LocalRuntime({ dataDir: deepDataDir });
    runtimes.push(deep);
    const env = newEnvironment();

    await deep.provision(env, template, resources);
    await deep.start(env);

    const paths = deep.paths(env);
    expect(paths.dir.startsWith(deepDataDir)).toBe(true);
    expect(Buffer.byteLength(paths.socket)).toBeLessThanOrEqual(103);
    expect(deep.socketDir).not.toBe(runtime.socketDir);
    expect(await deep.inspect(env)).toBe('running');
    const { terminal, screen } = await open(env, 200, 50, false, deep);
    terminal.write('echo DEEP_$((6*7))\r');
    await screen.waitFor(/DEEP_42/);
  });

  it('emits running, stopped and absent as the environment starts, stops and is destroyed', async () => {
    const env = newEnvironment();
    const events = firstValueFrom(runtime.observe(env).pipe(take(4), toArray(), timeout(10_000)));
    const otherEnv = newEnvironment();
    await runtime.provision(otherEnv, template, resources);

    await runtime.provision(env, template, resources);
    await runtime.start(env);
    await runtime.start(otherEnv);
    await runtime.start(env);
    await runtime.stop(env);
    await runtime.start(env);
    await runtime.destroy(env);

    const received: RuntimeStatusEvent[] = await events;
    expect(received).toEqual([
      { environmentId: env.id, state: 'running' },
      { environmentId: env.id, state: 'stopped' },
      { environmentId: env.id, state: 'running' },
      { environmentId: env.id, state: 'stopped' },
    ]);
  });

  it('emits absent after destroy', async () => {
    const destroyed = await running();
    const absent = firstValueFrom(runtime.observe(destroyed).pipe(take(2), toArray(), timeout(10_000)));
    await runtime.destroy(destroyed);
    expect((await absent).map((event) => event.state)).toEqual(['stopped', 'absent']);
  });

  it('starts a fresh shell on the next terminal after the user exits the last one', async () => {
    const env = await running();
    const first = await open(env);
    first.terminal.write('export GONE=yes; exit\r');
    await first.screen.exited;
    expect(await runtime.inspect(env)).toBe('running');

    const second = await open(env);
    second.terminal.write('echo "gone=[${GONE:-unset}] $((6*7))"\r');
    await second.screen.waitFor(/gone=\[unset\] 42/);
    second.terminal.close();
  });

  it('keeps shells running across a restart of the API process', async () => {
    const env = await running();
    const paths = runtime.paths(env);
    const first = await open(env);
    first.terminal.write('export KEPT=kept_$((8+1)); echo KEPT_SET_$((1+1))\r');
    await first.screen.waitFor(/KEPT_SET_2/);
    first.terminal.close();
    await first.screen.exited;

    // The server is a daemon in a session of its own, not a child of this process.
    const { stdout: serverPid } = await execFileAsync('tmux', ['-S', paths.socket, 'display-message', '-p', '#{pid}']);
    const { stdout: server } = await execFileAsync('ps', ['-o', 'ppid=', '-o', 'sess=', '-p', serverPid.trim()]);
    const { stdout: self } = await execFileAsync('ps', ['-o', 'sess=', '-p', String(process.pid)]);
    const [serverParent, serverSession] = server.trim().split(/\s+/).map(Number);
    expect(serverParent).not.toBe(process.pid);
    expect(serverSession).toBe(Number(serverPid.trim()));
    expect(serverSession).not.toBe(Number(self.trim()));

    // A new driver instance on the same data directory is what a restarted API process has.
    const restarted = new LocalRuntime({ dataDir: join(root, 'data') });
    expect(await restarted.inspect(env)).toBe('running');
    await restarted.start(env);
    const second = await open(env, 200, 50, false, restarted);
    second.terminal.write('echo KEPT_$((3*3))_$KEPT\r');
    await second.screen.waitFor(/KEPT_9_kept_9/);
  });

  it('logs provisioning and does not run the template startup commands on the host', async () => {
    const env = await running();
    const paths = runtime.paths(env);
    const { terminal, screen } = await open(env);
    terminal.write('echo PATH_$((2+3)):$PATH\r');
    const [, shellPath] = await screen.waitFor(/PATH_5:([^\r\n]*)/);

    const lines = await runtime.logs(env, { tail: 100 });
    expect(existsSync(join(paths.home, 'startup-ran'))).toBe(false);
    expect(shellPath).not.toContain('/container/only/bin');
    expect(lines.join('\n')).toContain('provisioned from template ubuntu (image ubuntu:24.04 is not used by the local runtime');
    expect(lines.join('\n')).toContain('template variables PATH are set by the local runtime and were ignored');
    expect(lines.join('\n')).toContain('1 startup command(s) target the container image and were not run on the host');
    expect(lines.at(-1)).toMatch(/ started tmux server on /);
    expect(await runtime.logs(env, { tail: 1 })).toEqual([lines.at(-1)]);
  });

  it('refuses to start an environment that was never provisioned', async () => {
    const env = newEnvironment();

    await expect(runtime.start(env)).rejects.toMatchObject({ name: 'RuntimeError', reason: 'NotProvisioned' });
    expect(await runtime.inspect(env)).toBe('absent');
  });

  it('refuses environment ids that would escape the data directory', async () => {
    const outside = join(root, 'outside');
    await mkdir(join(outside, 'keep'), { recursive: true });
    const env: RuntimeEnvironment = { id: '../../outside', userId: randomUUID(), name: 'evil' };

    await expect(runtime.destroy(env)).rejects.toMatchObject({ reason: 'InvalidEnvironmentId' });
    expect(existsSync(join(outside, 'keep'))).toBe(true);
    expect(dirname(runtime.paths({ id: randomUUID() }).dir)).toBe(join(root, 'data', 'environments'));
  });
});
