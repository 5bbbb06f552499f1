#!/usr/bin/env node
// `npm run test:cluster`: the real-cluster suite, run only when asked for with both variables.
import { spawnSync } from 'node:child_process';

if (process.env.DEVPOCKET_E2E_CLUSTER !== '1' || !process.env.KUBECONFIG) {
  console.log('test:cluster skipped: set KUBECONFIG to a cluster (kind, k3d, ...) and DEVPOCKET_E2E_CLUSTER=1 to run it (README "Testing against a real cluster").');
  process.exit(0);
}
const result = spawnSync('npx', ['jest', '--config', 'test/cluster/jest.cluster.config.js'], {
  stdio: 'inherit',
  env: { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules`.trim() },
});
process.exit(result.status ?? 1);
