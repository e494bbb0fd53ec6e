import { createAppAuth } from '@octokit/auth-app';
import { createRequire } from 'node:module';
import { Octokit } from '@octokit/rest';
import { z } from 'zod';
import type { GithubConfig } from '../config/schema.js';

// libsodium-wrappers' ESM build imports a file it does not ship: load its CommonJS build.
const sodium = createRequire(import.meta.url)('libsodium-wrappers') as typeof import('libsodium-wrappers');

/**
 * The GitHub calls of a deploy: the commit, its checks, and a Deployment with statuses.
 * Every answer is checked against the fields Slipway relies on.
 */
export type GithubErrorKind = 'auth' | 'not-found' | 'unavailable' | 'invalid' | 'rejected';

export class GithubError extends Error {
  constructor(readonly kind: GithubErrorKind, message: string, readonly status?: number) {
    super(message);
    this.name = 'GithubError';
  }
}

export type ChecksVerdict =
  | { state: 'success'; summary: string }
  | { state: 'pending'; summary: string }
  | { state: 'failure'; summary: string };

export type DeploymentState = 'in_progress' | 'success' | 'failure' | 'error' | 'inactive' | 'queued' | 'pending';

const commitAnswer = z.object({ sha: z.string().regex(/^[0-9a-f]{40}$/) });
const checkRunsAnswer = z.object({
  total_count: z.number(),
  check_runs: z.array(z.object({ name: z.string(), status: z.string(), conclusion: z.string().nullable() })),
});
const combinedStatusAnswer = z.object({
  state: z.string(),
  total_count: z.number(),
  statuses: z.array(z.object({ context: z.string(), state: z.string() })),
});
const deploymentAnswer = z.object({ id: z.number() });
const deploymentsAnswer = z.array(z.object({ id: z.number(), payload: z.union([z.record(z.string(), z.unknown()), z.string()]).nullish() }));
const publicKeyAnswer = z.object({ key_id: z.string().min(1), key: z.string().min(1) });

/** GitHub Actions secrets are sent sealed (libsodium's sealed box) to the repository's public key. */
export async function sealSecret(value: string, publicKeyBase64: string): Promise<string> {
  await sodium.ready;
  const key = sodium.from_base64(publicKeyBase64, sodium.base64_variants.ORIGINAL);
  if (key.length !== sodium.crypto_box_PUBLICKEYBYTES) throw new GithubError('invalid', 'the repository public key is not a 32-byte Curve25519 key');
  return sodium.to_base64(sodium.crypto_box_seal(sodium.from_string(value), key), sodium.base64_variants.ORIGINAL);
}

const GREEN_CONCLUSIONS = new Set(['success', 'neutral', 'skipped']);

export function splitRepo(repo: string): { owner: string; repo: string } {
  const [owner, name] = repo.split('/');
  return { owner: owner!, repo: name! };
}

/** Folds check runs and the combined status into one verdict, naming what is red or pending. */
export function judgeChecks(runs: z.infer<typeof checkRunsAnswer>['check_runs'], status: z.infer<typeof combinedStatusAnswer>): ChecksVerdict {
  const red = runs.filter((r) => r.status === 'completed' && !GREEN_CONCLUSIONS.has(r.conclusion ?? '')).map((r) => `${r.name} (${r.conclusion})`);
  const waiting = runs.filter((r) => r.status !== 'completed').map((r) => `${r.name} (${r.status})`);
  for (const s of status.statuses) {
    if (s.state === 'failure' || s.state === 'error') red.push(`${s.context} (${s.state})`);
    else if (s.state === 'pending') waiting.push(`${s.context} (pending)`);
  }
  if (red.length) return { state: 'failure', summary: `red: ${red.join(', ')}` };
  if (waiting.length) return { state: 'pending', summary: `waiting for: ${waiting.join(', ')}` };
  return { state: 'success', summary: `${runs.length} check runs and ${status.total_count} statuses green` };
}

function parse<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const result = schema.safeParse(data);
  if (!result.success) throw new GithubError('invalid', `GitHub gave a malformed answer for ${what}: ${result.error.issues[0]?.message ?? ''}`);
  return result.data;
}

export class GithubClient {
  private readonly octokit: Octokit;

  constructor(config: GithubConfig, fetchImpl: typeof fetch = fetch) {
    const auth = config.app
      ? { authStrategy: createAppAuth, auth: { appId: config.app.id, privateKey: config.app.privateKey, installationId: config.app.installationId } }
      : { auth: config.token };
    this.octokit = new Octokit({
      ...auth,
      baseUrl: config.apiUrl.replace(/\/$/, ''),
      userAgent: 'slipway',
      request: { fetch: fetchImpl, retries: 0 },
      // Plain JSON is what GitHub's description lists for every answer (and what Prism serves).
      headers: { accept: 'application/json' },
      log: { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined },
    });
  }

  private async call<T>(what: string, request: () => Promise<{ data: unknown }>, schema: z.ZodType<T>): Promise<T> {
    try {
      return parse(schema, (await request()).data, what);
    } catch (error) {
      if (error instanceof GithubError) throw error;
      const status = (error as { status?: number }).status;
      if (status === undefined) throw new GithubError('unavailable', `GitHub did not answer ${what}: ${(error as Error).message}`);
      const rateLimited = status === 429 || (status === 403 && /rate limit/i.test((error as Error).message));
      if (status >= 500 || rateLimited) throw new GithubError('unavailable', `GitHub answered ${status} for ${what}`, status);
      if (status === 401) throw new GithubError('auth', `GitHub refused the credentials (401) for ${what}`, status);
      if (status === 403) throw new GithubError('auth', `GitHub denied ${what} (403): the token lacks a permission`, status);
      if (status === 404) throw new GithubError('not-found', `GitHub does not know ${what} (404)`, status);
      throw new GithubError('rejected', `GitHub rejected ${what} (${status})`, status);
    }
  }

  /** The full SHA of a commit, branch or tag; throws `not-found` when the repository has no such ref. */
  async resolveCommit(repo: string, ref: string): Promise<string> {
    try {
      const commit = await this.call(`commit ${ref} in ${repo}`, () => this.octokit.rest.repos.getCommit({ ...splitRepo(repo), ref, per_page: 1 }), commitAnswer);
      return commit.sha;
    } catch (error) {
      // GitHub answers 422 "No commit found for SHA" for a well-formed SHA it does not have.
      if (error instanceof GithubError && error.status === 422) throw new GithubError('not-found', `GitHub does not know commit ${ref} in ${repo}`, 422);
      throw error;
    }
  }

  async checks(repo: string, sha: string): Promise<ChecksVerdict> {
    const runs: z.infer<typeof checkRunsAnswer>['check_runs'] = [];
    for (let page = 1; ; page++) {
      const answer = await this.call(`check runs of ${sha}`, () => this.octokit.rest.checks.listForRef({ ...splitRepo(repo), ref: sha, per_page: 100, page }), checkRunsAnswer);
      runs.push(...answer.check_runs);
      if (answer.check_runs.length < 100 || runs.length >= answer.total_count) break;
    }
    const status = await this.call(`combined status of ${sha}`, () => this.octokit.rest.repos.getCombinedStatusForRef({ ...splitRepo(repo), ref: sha, per_page: 100 }), combinedStatusAnswer);
    return judgeChecks(runs, status);
  }

  /**
   * The GitHub Deployment of run `runId`: the one made by an earlier attempt (its answer lost
   * on the way back) when GitHub has it, else a new one. The run id rides in its payload.
   */
  async createDeployment(repo: string, sha: string, environment: string, description: string, runId: string): Promise<number> {
    const existing = await this.call(`deployments of ${sha} to ${environment}`, () => this.octokit.rest.repos.listDeployments({
      ...splitRepo(repo), sha, environment, per_page: 100,
    }), deploymentsAnswer);
    const made = existing.find((d) => typeof d.payload === 'object' && d.payload !== null && d.payload.slipwayRunId === runId);
    if (made) return made.id;
    const deployment = await this.call(`a deployment of ${sha} to ${environment}`, () => this.octokit.rest.repos.createDeployment({
      ...splitRepo(repo), ref: sha, environment, description: description.slice(0, 140), payload: { slipwayRunId: runId },
      auto_merge: false, required_contexts: [], production_environment: /^prod/i.test(environment),
    }), deploymentAnswer);
    return deployment.id;
  }

  /** Sets an Actions secret of the repository; the value leaves this process sealed only. */
  async setActionsSecret(repo: string, name: string, value: string): Promise<void> {
    const publicKey = await this.call(`the Actions public key of ${repo}`, () => this.octokit.rest.actions.getRepoPublicKey(splitRepo(repo)), publicKeyAnswer);
    const encrypted = await sealSecret(value, publicKey.key);
    await this.call(`the Actions secret ${name} of ${repo}`, () => this.octokit.rest.actions.createOrUpdateRepoSecret({
      ...splitRepo(repo), secret_name: name, encrypted_value: encrypted, key_id: publicKey.key_id,
    }), z.unknown());
  }

  async setDeploymentStatus(repo: string, deploymentId: number, state: DeploymentState, description: string, logUrl?: string): Promise<void> {
    await this.call(`the status of deployment ${deploymentId}`, () => this.octokit.rest.repos.createDeploymentStatus({
      ...splitRepo(repo), deployment_id: deploymentId, state, description: description.slice(0, 140),
      ...(logUrl ? { log_url: logUrl } : {}), auto_inactive: state === 'success',
    }), z.object({ id: z.number() }));
  }
}
