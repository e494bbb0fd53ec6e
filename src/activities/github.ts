import { FailureType, TransientFailureType } from '../domain/failures.js';
import { GithubClient, GithubError, type DeploymentState } from '../github/client.js';
import { readEnvValues } from '../commands/envfile.js';
import type { HostRef } from '../domain/plan.js';
import { hidingSecrets, permanentFailure, transientFailure } from './failure.js';
import type { RotatedCredentials, StoredSecret } from './credentials.js';
import type { HostRunner } from '../ssh/runner.js';
import { callingWorkflowId, firstScheduledMs, heartbeat, pause } from './context.js';

export interface GithubDeps {
  github: GithubClient | undefined;
  /** Reads a rotation's backup on a host, to put a GitHub secret back to its old value. */
  runner: HostRunner;
  credentials: RotatedCredentials;
  /** How often to look again at checks that are still running. */
  checksPollMs: number;
}

function classify(error: unknown, notFound: () => Error): Error {
  if (!(error instanceof GithubError)) return error as Error;
  switch (error.kind) {
    case 'auth': return permanentFailure(FailureType.GithubAuthFailed, error.message);
    case 'not-found': return notFound();
    case 'invalid': return permanentFailure(FailureType.GithubAnswerInvalid, error.message);
    case 'rejected': return permanentFailure(FailureType.GithubRejected, error.message);
    default: return transientFailure(TransientFailureType.GithubUnavailable, error.message);
  }
}

export function githubActivities({ github, runner, credentials, checksPollMs }: GithubDeps) {
  const client = () => {
    if (!github) throw permanentFailure(FailureType.InvalidInput, 'this service names a GitHub repo, but the worker has no github section in its config');
    return github;
  };
  const putSecret = (repo: string, name: string, value: string) => hidingSecrets([value], async () => {
    try {
      await client().setActionsSecret(repo, name, value);
    } catch (error) {
      throw classify(error, () => permanentFailure(FailureType.GithubRejected, `GitHub does not know ${repo}, or its Actions secrets`));
    }
  });
  return {
    /** The full SHA of the requested commit (or tag); fails when GitHub does not know it. */
    async verifyCommit(repo: string, ref: string): Promise<string> {
      try {
        return await client().resolveCommit(repo, ref);
      } catch (error) {
        throw classify(error, () => permanentFailure(FailureType.CommitNotFound, `commit ${ref} does not exist in ${repo}`));
      }
    },

    /** Waits while checks are pending (up to `timeoutMs`); fails when any is red. */
    async awaitGreenChecks(repo: string, sha: string, timeoutMs: number): Promise<string> {
      const deadline = firstScheduledMs() + timeoutMs;
      try {
        for (;;) {
          const verdict = await client().checks(repo, sha);
          if (verdict.state === 'success') return verdict.summary;
          if (verdict.state === 'failure') throw permanentFailure(FailureType.ChecksFailed, `CI is red on ${sha.slice(0, 7)} in ${repo}: ${verdict.summary}`);
          if (Date.now() + checksPollMs > deadline) throw permanentFailure(FailureType.ChecksTimeout, `CI on ${sha.slice(0, 7)} in ${repo} still pending after ${Math.round(timeoutMs / 1000)} s: ${verdict.summary}`);
          heartbeat({ checks: verdict.summary });
          await pause(checksPollMs);
        }
      } catch (error) {
        throw classify(error, () => permanentFailure(FailureType.CommitNotFound, `commit ${sha} does not exist in ${repo}`));
      }
    },

    async createGithubDeployment(repo: string, sha: string, environment: string, description: string): Promise<number> {
      try {
        // Retries of this step find the deployment their run already made.
        return await client().createDeployment(repo, sha, environment, description, callingWorkflowId());
      } catch (error) {
        throw classify(error, () => permanentFailure(FailureType.CommitNotFound, `GitHub does not know ${repo} or ${sha}`));
      }
    },

    async setGithubDeploymentStatus(repo: string, deploymentId: number, state: DeploymentState, description: string, logUrl?: string): Promise<void> {
      try {
        await client().setDeploymentStatus(repo, deploymentId, state, description, logUrl);
      } catch (error) {
        throw classify(error, () => permanentFailure(FailureType.GithubRejected, `GitHub does not know deployment ${deploymentId} of ${repo}`));
      }
    },

    /** Sets a GitHub Actions secret of the repository (sealed to its public key). */
    async setGithubSecret(repo: string, name: string, value: string): Promise<void> {
      await putSecret(repo, name, value);
    },

    /** Sets a secret to a credential read on the worker (a new SSH key, an old token), never passed through history. */
    async setGithubSecretFromStore(repo: string, name: string, source: StoredSecret): Promise<void> {
      await putSecret(repo, name, await credentials.secret(source));
    },

    /**
     * A rotation's compensation: the secret gets the value `variable` had before the rotation,
     * read from the rotation's backup on a host, so the old value never passes through history.
     */
    async restoreGithubSecret(repo: string, name: string, host: HostRef, dir: string, backup: string, variable: string): Promise<{ restored: boolean }> {
      const text = await runner.withSession(host, (session, signal) => runner.readText(session, dir, backup, signal));
      const old = readEnvValues(text)[variable];
      if (old === undefined) return { restored: false };
      await putSecret(repo, name, old);
      return { restored: true };
    },
  };
}
