import { createHash, randomBytes } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { DeployPlan } from '../domain/plan.js';
import type { Run, RunStatus } from '../domain/run.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import type { DeployInput } from '../workflows/deploy.js';
import { HttpProblem } from './problem.js';

export interface RunsOptions {
  taskQueue: string;
  namespace: string;
  stepTimeoutMs: number;
  /** The Temporal UI's base URL, for `links.ui`. */
  uiUrl: string;
}

export type RunView = Run & { links: { self: string; ui: string } };

const QUERY_TIMEOUT_MS = 3_000;

/** Runs are Temporal workflows: this starts them and reads them back for the API. */
export class Runs {
  constructor(private readonly client: Client, private readonly options: RunsOptions) {}

  uiLink(id: string): string {
    return `${this.options.uiUrl.replace(/\/$/, '')}/namespaces/${encodeURIComponent(this.options.namespace)}/workflows/${encodeURIComponent(id)}`;
  }

  view(run: Run): RunView {
    return { ...run, links: { self: `/v1/deployments/${encodeURIComponent(run.id)}`, ui: this.uiLink(run.id) } };
  }

  async startDeploy(plan: DeployPlan, body: unknown, idempotency?: { key: string; principal: string }): Promise<{ run: RunView; created: boolean }> {
    const requestHash = createHash('sha256').update(JSON.stringify(body)).digest('hex');
    const workflowId = idempotency
      ? `deploy-${plan.service}-${plan.environment}-${createHash('sha256').update(`${idempotency.principal}\n${idempotency.key}`).digest('hex').slice(0, 24)}`
      : `deploy-${plan.service}-${plan.environment}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
    const now = new Date().toISOString();
    const initial: Run = {
      id: workflowId, kind: 'deploy', service: plan.service, environment: plan.environment,
      version: { sha: 'sha' in plan.ref ? plan.ref.sha : null, images: {} }, previous: null,
      status: 'queued', phase: 'preflight',
      targets: plan.targets.map((t) => ({ id: t.id, name: t.name, status: 'pending' })),
      reason: plan.reason, createdAt: now, updatedAt: now,
    };
    const input: DeployInput = { plan, stepTimeoutMs: this.options.stepTimeoutMs, createdAt: now, uiUrl: this.uiLink(workflowId) };
    try {
      await this.client.workflow.start('deploy', {
        taskQueue: this.options.taskQueue,
        workflowId,
        args: [input],
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        memo: { run: initial, requestHash },
        staticSummary: `deploy ${plan.service} ${'sha' in plan.ref ? plan.ref.sha.slice(0, 7) : plan.ref.tag} to ${plan.environment}`,
        typedSearchAttributes: [
          { key: SEARCH_ATTRIBUTES.service, value: plan.service },
          { key: SEARCH_ATTRIBUTES.environment, value: plan.environment },
          { key: SEARCH_ATTRIBUTES.version, value: 'sha' in plan.ref ? plan.ref.sha : plan.ref.tag },
          { key: SEARCH_ATTRIBUTES.status, value: 'queued' },
        ],
      });
      return { run: this.view(initial), created: true };
    } catch (error) {
      if (!(error instanceof WorkflowExecutionAlreadyStartedError) || !idempotency) throw error;
      const description = await this.client.workflow.getHandle(workflowId).describe();
      if (description.memo?.requestHash !== requestHash) {
        throw new HttpProblem(409, 'Conflict', `Idempotency-Key "${idempotency.key}" was already used for a different request`);
      }
      return { run: (await this.get(workflowId))!, created: false };
    }
  }

  async get(id: string): Promise<RunView | undefined> {
    const handle: WorkflowHandle = this.client.workflow.getHandle(id);
    let description;
    try {
      description = await handle.describe();
    } catch (error) {
      if (error instanceof WorkflowNotFoundError) return undefined;
      throw error;
    }
    if (description.type !== 'deploy') return undefined;
    const stored = description.memo?.run as Run | undefined;
    const fallback = (status: RunStatus, message?: string): RunView => this.view({
      ...stored!,
      status,
      ...(message ? { error: { type: 'WorkflowClosed', step: 'workflow', message } } : {}),
      ...(description.closeTime ? { finishedAt: description.closeTime.toISOString() } : {}),
    });
    switch (description.status.name) {
      case 'RUNNING': {
        const live = await Promise.race([
          handle.query<Run>('run').catch(() => undefined),
          new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), QUERY_TIMEOUT_MS)),
        ]);
        if (live) return this.view(live);
        // No worker answered: show what was stored at the start, with the last status.
        const status = description.searchAttributes?.SlipwayStatus?.[0] as RunStatus | undefined;
        return fallback(status ?? 'queued');
      }
      case 'COMPLETED': return this.view(await handle.result() as Run);
      case 'TERMINATED': return fallback('aborted', 'the workflow was terminated');
      case 'CANCELLED': return fallback('aborted', 'the workflow was cancelled');
      default: return fallback('failed', `the workflow ended as ${description.status.name}`);
    }
  }

  async list(filter: { service?: string | undefined; environment?: string | undefined; status?: string | undefined; limit: number; next?: string | undefined }): Promise<{ items: RunView[]; next?: string }> {
    const clauses = [`WorkflowType = 'deploy'`];
    if (filter.service) clauses.push(`SlipwayService = ${quoteValue(filter.service)}`);
    if (filter.environment) clauses.push(`SlipwayEnvironment = ${quoteValue(filter.environment)}`);
    if (filter.status) clauses.push(`SlipwayStatus = ${quoteValue(filter.status)}`);
    const answer = await this.client.workflowService.listWorkflowExecutions({
      namespace: this.options.namespace,
      query: clauses.join(' AND '),
      pageSize: filter.limit,
      nextPageToken: filter.next ? Buffer.from(filter.next, 'base64url') : undefined,
    });
    const ids = (answer.executions ?? []).map((e) => e.execution?.workflowId).filter((id): id is string => !!id);
    const items = (await Promise.all(ids.map((id) => this.get(id)))).filter((r): r is RunView => !!r);
    const token = answer.nextPageToken?.length ? Buffer.from(answer.nextPageToken).toString('base64url') : undefined;
    return token ? { items, next: token } : { items };
  }
}

function quoteValue(value: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(value)) throw new HttpProblem(400, 'Invalid request', `invalid filter value ${JSON.stringify(value)}`, [{ field: 'query', message: 'letters, digits, "_", "." and "-" only' }]);
  return `'${value}'`;
}
