import type { V1ContainerStatus, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import { ENVIRONMENT_CONTAINER } from '@devpocket/kubernetes';
import type { RuntimeState } from '../environment-runtime.js';

/** An environment's state as read from its StatefulSet and pod, with a readable message for `error`. */
export interface ObservedState {
  state: RuntimeState;
  /** For `error`: what went wrong, with the kubelet's or scheduler's reason and message. */
  message?: string;
  /** For `error`: the Kubernetes reason (`ImagePullBackOff`, `Unschedulable`, …). */
  reason?: string;
}

/**
 * Waiting reasons the kubelet reports for a container that will not start by itself
 * (kubelet `images` and `kuberuntime` packages): the environment is in `error`.
 */
export const FAILURE_REASONS: ReadonlySet<string> = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'CrashLoopBackOff',
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
]);

/**
 * Maps an environment's StatefulSet and pod (as the API server reports them: pod phase,
 * conditions, init and app container states) to a {@link RuntimeState}:
 * - no StatefulSet, or one being deleted → `absent`;
 * - `spec.replicas` 0 → `stopped` (the volume is kept; the pod may still be terminating);
 * - a container waiting with a reason of {@link FAILURE_REASONS}, `PodScheduled=False` with
 *   reason `Unschedulable`, or phase `Failed`/`Succeeded` → `error` with a readable message;
 * - no pod yet, a pod being deleted, or phase `Pending` (scheduling, init container, image pull)
 *   → `provisioning`;
 * - container `environment` running but the pod not Ready (startup.sh still at work) → `installing`;
 * - pod condition `Ready=True` → `running`.
 */
export function observedState(statefulSet: V1StatefulSet | undefined, pod: V1Pod | undefined): ObservedState {
  if (!statefulSet || statefulSet.metadata?.deletionTimestamp) return { state: 'absent' };
  if ((statefulSet.spec?.replicas ?? 1) === 0) return { state: 'stopped' };
  if (!pod || pod.metadata?.deletionTimestamp) return { state: 'provisioning' };
  const failure = podFailure(pod);
  if (failure) return { state: 'error', ...failure };
  if (pod.status?.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True')) return { state: 'running' };
  const main = pod.status?.containerStatuses?.find((status) => status.name === ENVIRONMENT_CONTAINER);
  if (pod.status?.phase === 'Running' && main?.state?.running) return { state: 'installing' };
  return { state: 'provisioning' };
}

/** The reason a pod cannot run, or undefined while it may still get there. */
export function podFailure(pod: V1Pod): { message: string; reason: string } | undefined {
  const scheduled = pod.status?.conditions?.find((condition) => condition.type === 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return { reason: 'Unschedulable', message: `The pod cannot be scheduled (Unschedulable): ${scheduled.message ?? 'no node fits it'}` };
  }
  const statuses: Array<{ status: V1ContainerStatus; init: boolean }> = [
    ...(pod.status?.initContainerStatuses ?? []).map((status) => ({ status, init: true })),
    ...(pod.status?.containerStatuses ?? []).map((status) => ({ status, init: false })),
  ];
  for (const { status, init } of statuses) {
    const waiting = status.state?.waiting;
    if (!waiting?.reason || !FAILURE_REASONS.has(waiting.reason)) continue;
    return { reason: waiting.reason, message: describeWaiting(status, init, waiting.reason, waiting.message) };
  }
  const phase = pod.status?.phase;
  if (phase === 'Failed' || phase === 'Succeeded') {
    const detail = [pod.status?.reason, pod.status?.message].filter(Boolean).join(': ');
    return { reason: pod.status?.reason ?? phase, message: `The pod ended (phase ${phase})${detail ? `: ${detail}` : ''}` };
  }
  return undefined;
}

function describeWaiting(status: V1ContainerStatus, init: boolean, reason: string, message: string | undefined): string {
  const container = `${init ? 'init container' : 'container'} ${status.name}`;
  const detail = message ? `: ${message}` : '';
  switch (reason) {
    case 'ImagePullBackOff':
    case 'ErrImagePull':
    case 'ErrImageNeverPull':
      return `The image ${status.image} of ${container} could not be pulled (${reason})${detail}`;
    case 'InvalidImageName':
      return `The image ${status.image} of ${container} is not a valid image name (${reason})${detail}`;
    case 'CrashLoopBackOff': {
      const last = status.lastState?.terminated;
      const exit = last ? `; last exit code ${last.exitCode}${last.reason ? ` (${last.reason})` : ''}` : '';
      return `The ${container} keeps crashing (${reason})${exit}${detail}`;
    }
    default:
      return `The ${container} could not be started (${reason})${detail}`;
  }
}
