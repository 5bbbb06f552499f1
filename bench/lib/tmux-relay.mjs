#!/usr/bin/env node
// A second process between tmux and the benchmark, and nothing else: it opens the same PTY +
// tmux floor as tmuxPtyTerminal() and relays its output to stdout and stdin to the terminal,
// unframed. Measures what one process hop costs, which any server (WeTTY's, DevPocket's) pays.
import { tmuxPtyTerminal } from './peers.mjs';

const term = await tmuxPtyTerminal({ name: 'relay' });
term.onData((data) => process.stdout.write(data));
process.stdin.setEncoding('utf8');
process.stdin.on('data', (data) => term.write(data));
process.stdin.on('end', async () => {
  await term.close();
  process.exit(0);
});
