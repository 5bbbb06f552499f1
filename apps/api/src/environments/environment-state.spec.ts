import { describe, expect, it } from '@jest/globals';
import { allowedStatuses, canPerform, canTransition, ENVIRONMENT_STATUSES, predecessorsOf, statusOnRequest } from './environment-state.js';

describe('environment state machine', () => {
  it('starts only from stopped or error', () => {
    expect(ENVIRONMENT_STATUSES.filter((status) => canPerform('start', status))).toEqual(['stopped', 'error']);
  });

  it('stops only from running or installing', () => {
    expect(ENVIRONMENT_STATUSES.filter((status) => canPerform('stop', status))).toEqual(['installing', 'running']);
  });

  it('restarts only from running', () => {
    expect(ENVIRONMENT_STATUSES.filter((status) => canPerform('restart', status))).toEqual(['running']);
  });

  it('accepts delete in every status', () => {
    expect(ENVIRONMENT_STATUSES.every((status) => canPerform('delete', status))).toBe(true);
    expect(allowedStatuses('delete')).toBeUndefined();
  });

  it('puts an environment in the status of the request at once', () => {
    expect(statusOnRequest('start')).toBe('provisioning');
    expect(statusOnRequest('stop')).toBe('stopping');
    expect(statusOnRequest('restart')).toBe('restarting');
    expect(statusOnRequest('delete')).toBe('terminating');
  });

  it('lets every request status reach its target through server transitions', () => {
    expect(canTransition('creating', 'provisioning')).toBe(true);
    expect(canTransition('provisioning', 'running')).toBe(true);
    expect(canTransition('provisioning', 'installing')).toBe(true);
    expect(canTransition('installing', 'running')).toBe(true);
    expect(canTransition('stopping', 'stopped')).toBe(true);
    expect(canTransition('restarting', 'running')).toBe(true);
  });

  it('never leaves a transitional status without a way to error', () => {
    for (const status of ['creating', 'provisioning', 'installing', 'stopping', 'restarting', 'terminating'] as const) {
      expect(canTransition(status, 'error')).toBe(true);
    }
  });

  it('refuses transitions that skip the lifecycle', () => {
    expect(canTransition('stopped', 'running')).toBe(false);
    expect(canTransition('creating', 'running')).toBe(false);
    expect(canTransition('terminating', 'running')).toBe(false);
    expect(canTransition('error', 'stopped')).toBe(false);
  });

  it('lists the statuses a transition may come from', () => {
    expect(predecessorsOf('stopped')).toEqual(['running', 'stopping']);
    expect(predecessorsOf('running')).toEqual(['provisioning', 'installing', 'restarting']);
  });

  it('offers a request from every status an environment can rest in', () => {
    const resting = ['running', 'stopped', 'error'] as const;
    for (const status of resting) {
      expect((['start', 'stop', 'restart'] as const).some((action) => canPerform(action, status))).toBe(true);
    }
  });
});
