/**
 * The failure types workflows branch on. Activities raise them as `ApplicationFailure`s of
 * this `type`; the permanent ones are also listed in every retry policy as non-retryable, so
 * a fault that cannot heal by retrying goes straight to the gate logic.
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
  /** Workflow code itself threw: a bug, reported as the run's failure instead of a workflow task retried forever. */
  WorkflowError: 'WorkflowError',
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Every type except the transient ones that activities throw as plain (retryable) errors. */
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

/** What a workflow learns of a failed step: its type and message, and where it failed. */
export interface FailureDetails {
  type: string;
  message: string;
  step?: string | undefined;
  /** The target the failure names (health checks, bake gates). */
  target?: string | undefined;
  /** false when the step never reached its host (no command was sent): nothing to undo there. */
  hostReached?: boolean | undefined;
  /** A target's update that failed before any of its steps reached the host: the target is as it was. */
  untouched?: boolean | undefined;
  /** A target's update: the step (index into its steps) it failed at, where a retry starts. */
  stepIndex?: number | undefined;
}
