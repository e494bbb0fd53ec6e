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
} as const;
export type FailureType = (typeof FailureType)[keyof typeof FailureType];

/** Every type except the transient ones that activities throw as plain (retryable) errors. */
export const NON_RETRYABLE_FAILURES: FailureType[] = Object.values(FailureType);
