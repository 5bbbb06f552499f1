import { describe, expect, it } from '@jest/globals';
import type { V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { observedState } from './kubernetes-state.js';

function statefulSet(replicas: number, deleting = false): V1StatefulSet {
  return {
    metadata: { name: 'dp-1', namespace: 'devpocket-1', ...(deleting ? { deletionTimestamp: new Date() } : {}) },
    spec: { replicas, selector: {}, serviceName: 'dp-1', template: {} },
  };
}

function pod(status: V1Pod['status'], deleting = false): V1Pod {
  return { metadata: { name: 'dp-1-0', namespace: 'devpocket-1', ...(deleting ? { deletionTimestamp: new Date() } : {}) }, status };
}

const running = { running: { startedAt: new Date() } };

describe(observedState.name, () => {
  it('is absent without a StatefulSet, or with one being deleted', () => {
    expect(observedState(undefined, undefined)).toEqual({ state: 'absent' });
    expect(observedState(statefulSet(1, true), pod({ phase: 'Running' }))).toEqual({ state: 'absent' });
  });

  it('is stopped when scaled to 0, whatever the pod does meanwhile', () => {
    expect(observedState(statefulSet(0), undefined)).toEqual({ state: 'stopped' });
    expect(observedState(statefulSet(0), pod({ phase: 'Running' }, true))).toEqual({ state: 'stopped' });
  });

  it('is provisioning before the pod exists, while it is pending, initializing or being replaced', () => {
    expect(observedState(statefulSet(1), undefined)).toEqual({ state: 'provisioning' });
    expect(observedState(statefulSet(1), pod({ phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'True' }] }))).toEqual({ state: 'provisioning' });
    const initializing = pod({
      phase: 'Pending',
      initContainerStatuses: [{ name: 'setup', image: 'x', imageID: '', ready: false, restartCount: 0, state: running }],
      containerStatuses: [{ name: 'environment', image: 'x', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
    });
    expect(observedState(statefulSet(1), initializing)).toEqual({ state: 'provisioning' });
    expect(observedState(statefulSet(1), pod({ phase: 'Running', conditions: [{ type: 'Ready', status: 'True' }] }, true))).toEqual({ state: 'provisioning' });
  });

  it('is installing while the container runs and the startup script has not made it ready', () => {
    const installing = pod({
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'False', reason: 'ContainersNotReady' }],
      containerStatuses: [{ name: 'environment', image: 'x', imageID: '', ready: false, restartCount: 0, state: running }],
    });
    expect(observedState(statefulSet(1), installing)).toEqual({ state: 'installing' });
  });

  it('is running once the pod is Ready', () => {
    const ready = pod({
      phase: 'Running',
      conditions: [{ type: 'Ready', status: 'True' }],
      containerStatuses: [{ name: 'environment', image: 'x', imageID: '', ready: true, restartCount: 0, state: running }],
    });
    expect(observedState(statefulSet(1), ready)).toEqual({ state: 'running' });
  });

  it('is an error with the kubelet message when the image cannot be pulled', () => {
    const pulling = pod({
      phase: 'Pending',
      containerStatuses: [
        { name: 'environment', image: 'does-not-exist', imageID: '', ready: false, restartCount: 0, state: { waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image "does-not-exist"' } } },
      ],
    });
    expect(observedState(statefulSet(1), pulling)).toEqual({
      state: 'error',
      reason: 'ImagePullBackOff',
      message: 'The image does-not-exist of container environment could not be pulled (ImagePullBackOff): Back-off pulling image "does-not-exist"',
    });
  });

  it('is an error with the last exit code when the container keeps crashing', () => {
    const crashing = pod({
      phase: 'Running',
      containerStatuses: [
        {
          name: 'environment',
          image: 'x',
          imageID: '',
          ready: false,
          restartCount: 3,
          lastState: { terminated: { exitCode: 1, reason: 'Error' } },
          state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=environment' } },
        },
      ],
    });
    expect(observedState(statefulSet(1), crashing)).toMatchObject({
      state: 'error',
      reason: 'CrashLoopBackOff',
      message: 'The container environment keeps crashing (CrashLoopBackOff); last exit code 1 (Error): back-off 40s restarting failed container=environment',
    });
  });

  it('names a failing init container', () => {
    const failing = pod({
      phase: 'Pending',
      initContainerStatuses: [{ name: 'setup', image: 'x', imageID: '', ready: false, restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } } }],
    });
    expect(observedState(statefulSet(1), failing).message).toMatch(/^The init container setup keeps crashing/);
  });

  it('is an error when no node can take the pod', () => {
    const unschedulable = pod({
      phase: 'Pending',
      conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message: '0/3 nodes are available: 3 Insufficient memory.' }],
    });
    expect(observedState(statefulSet(1), unschedulable)).toEqual({
      state: 'error',
      reason: 'Unschedulable',
      message: 'The pod cannot be scheduled (Unschedulable): 0/3 nodes are available: 3 Insufficient memory.',
    });
  });

  it('is an error when the pod has ended', () => {
    expect(observedState(statefulSet(1), pod({ phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' }))).toEqual({
      state: 'error',
      reason: 'Evicted',
      message: 'The pod ended (phase Failed): Evicted: The node was low on resource: memory.',
    });
  });
});
