import base from '../../jest.config.js';

/** The opt-in suite against a real cluster: only `*.cluster-spec.ts`, no database needed. */
export default {
  ...base,
  rootDir: '../..',
  testMatch: ['<rootDir>/test/cluster/**/*.cluster-spec.ts'],
  globalSetup: undefined,
  globalTeardown: undefined,
  maxWorkers: 1,
};
