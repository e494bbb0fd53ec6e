/**
 * The failure types workflows branch on: faults that retrying cannot heal. Activities raise
 * them as non-retryable `ApplicationFailure`s of this `type` (`permanentFailure`), and every
 * retry policy lists them as non-retryable, so they go straight to the gate logic.
 */
export const FailureType = {
  /** The host presented a key that differs from the pinned one in known_hosts. */
  HostKeyMismatch: 'HostKeyMismatch',
  /** The host is not in known_hosts at all. */
  HostKeyUnknown: 'HostKeyUnknown',
  SshAuthFailed: 'SshAuthFailed',
  /** Connection refused, reset or timed out for longer than `ssh.retryFor`. */
  HostUnreachable: 'HostUnreachable',
  CommandFailed: 'CommandFailed',
  CommandTimedOut: 'CommandTimedOut',
  HealthCheckFailed: 'HealthCheckFailed',
  /** A metric gate (`analysis`) failed during the bake. */
  AnalysisFailed: 'AnalysisFailed',
  HostOutputInvalid: 'HostOutputInvalid',
  RegistryAuthFailed: 'RegistryAuthFailed',
  ImageNotFound: 'ImageNotFound',
  ImageTimeout: 'ImageTimeout',
  RegistryAnswerInvalid: 'RegistryAnswerInvalid',
  GithubAuthFailed: 'GithubAuthFailed',
  CommitNotFound: 'CommitNotFound',
  ChecksFailed: 'ChecksFailed',
  ChecksTimeout: 'ChecksTimeout',
  GithubAnswerInvalid: 'GithubAnswerInvalid',
  GithubRejected: 'GithubRejected',
  InvalidInput: 'InvalidInput',
  /** A recipe's HTTP step got an answer outside `expect`, or none for longer than its `retryFor`. */
  HttpStepFailed: 'HttpStepFailed',
  /** The credential store would not outlive the worker (its container's layer, tmpfs), or is missing or read-only. */
  CredentialStoreNotPersistent: 'CredentialStoreNotPersistent',
  /** Another ssh-key rotation is rotating this login (a host shared by two environments). */
  LoginLocked: 'LoginLocked',
  /** A template in the plan uses a variable that has no value for this run (`{sha}` when deploying by tag, …). */
  TemplateUnresolved: 'TemplateUnresolved',
  /** The release to apply lacks an image the config names (a rollback to a release from before the image existed). */
  ReleaseIncomplete: 'ReleaseIncomplete',
  /**
   * The load balancer refused a change, or has no such backend or server, or would be left
   * with no server taking requests: nothing retrying can heal.
   */
  LoadBalancerRefused: 'LoadBalancerRefused',
  /** Workflow code itself threw: a bug, reported as the run's failure instead of a workflow task retried forever. */
  WorkflowError: 'WorkflowError',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/**
 * Faults worth another attempt: activities raise them as retryable (`transientFailure`), and
 * the retry policy backs off between attempts.
 */
export const TransientFailureType = {
  /** A connection refused, reset or dropped, within `ssh.retryFor`. */
  SshTransient: 'SshTransient',
  HostUnreachableTransient: 'HostUnreachableTransient',
  /** The registry answered 5xx or 429, or not at all. */
  RegistryUnavailable: 'RegistryUnavailable',
  /** GitHub answered 5xx or 429, or not at all. */
  GithubUnavailable: 'GithubUnavailable',
  HttpStepTransient: 'HttpStepTransient',
  NotificationTransient: 'NotificationTransient',
  /** The load balancer's admin API did not answer (refused, dropped, or silent). */
  LoadBalancerUnreachable: 'LoadBalancerUnreachable',
  /** The worker is shutting down between two steps of a target's update: another worker goes on. */
  WorkerStopping: 'WorkerStopping',
} as const;
export type TransientFailureType = (typeof TransientFailureType)[keyof typeof TransientFailureType];

/**
 * Every retry policy's `nonRetryableErrorTypes`: all the permanent types. A transient type has
 * a list of its own, and the two builders of failures (`src/activities/failure.ts`) take one
 * list each, so no type can be both.
 */
export const NON_RETRYABLE_FAILURES: FailureType[] = Object.values(FailureType);

/** Failures of the plan itself: retrying the same step cannot help, so no run waits for a retry of them. */
export const PLAN_FAILURES: string[] = [FailureType.TemplateUnresolved, FailureType.ReleaseIncomplete, FailureType.WorkflowError];

/**
 * An error of workflow code that names its failure type: a plan that cannot be carried out.
 * Its `name` is the type, which is what Temporal records when it fails a workflow with it.
 */
export class PlanError extends Error {
  constructor(readonly type: typeof FailureType.TemplateUnresolved | typeof FailureType.ReleaseIncomplete, message: string) {
    super(message);
    this.name = type;
  }
}

/**
 * What a failed step says besides its type and message. An activity attaches it to its
 * failure (`src/activities/failure.ts`); a workflow reads it back (`describeFailure`).
 */
export interface FailureContext {
  /** The step that failed, as its label reads. */
  step?: string | undefined;
  /** The target the failure names (health checks, bake gates). */
  target?: string | undefined;
  /** false when the step never reached its host (no command was sent): nothing to undo there. */
  hostReached?: boolean | undefined;
  /** A target's update: the step (index into its steps) it failed at, where a retry starts. */
  stepIndex?: number | undefined;
  /** Evidence for whoever reads the failure in the Temporal UI; the workflows do not branch on it. */
  evidence?: {
    host?: string | undefined;
    exitCode?: number | null | undefined;
    check?: string | undefined;
    gate?: string | undefined;
    observed?: string | undefined;
    attempts?: number | undefined;
    status?: number | undefined;
    image?: string | undefined;
  } | undefined;
}

/** What a workflow learns of a failed step: its type and message, and where it failed. */
export interface FailureDetails extends Omit<FailureContext, 'evidence'> {
  type: string;
  message: string;
}
