import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { emptyLedger } from '../../src/domain/ledger.js';
import { environmentWorkflowId } from '../../src/workflows/contract.js';
import { newRelease, TOKENS, type Harness } from './harness.js';

/** The statuses a run ends in. */
export const FINAL = ['succeeded', 'failed', 'rolled_back', 'aborted'];

/**
 * What the tests of runs on the harness's fleet do again and again: start a run, act on it,
 * read it and its environment back, and clear the faults they injected on the hosts. `harness`
 * is read when a helper is called, so a suite can make them before its `before` has run.
 */
export function runHelpers(harness: () => Harness) {
  const file = (host: string, name: string) => join(harness().host(host).stateDir, name);
  const environment = async (service: string, env: string) => (await harness().request('GET', `/v1/services/${service}/environments/${env}`, undefined, TOKENS.reader)).body;
  return {
    release: () => newRelease(harness()),
    file,
    /** Removes the faults and call logs of every host. */
    clear: () => { for (const host of harness().fleet.hosts) for (const f of ['calls.jsonl', 'bad-versions', 'delay-pull', 'fail-pull']) rmSync(file(host.name, f), { force: true }); },
    get: async (id: string) => (await harness().request('GET', `/v1/deployments/${id}`, undefined, TOKENS.reader)).body,
    act: (id: string, action: string, token = TOKENS.ci) => harness().request('POST', `/v1/deployments/${id}/${action}`, undefined, token),
    environment,
    deploy: async (env: string, sha: string, extra: Record<string, unknown> = {}, token = TOKENS.ci) => {
      const answer = await harness().request('POST', '/v1/deployments', { service: 'web', environment: env, sha, ...extra }, token);
      assert.equal(answer.status, 202, JSON.stringify(answer.body));
      return answer.body;
    },
    waitFor: (id: string, predicate: (run: any) => boolean, what: string) => harness().waitFor(id, predicate, what), // eslint-disable-line @typescript-eslint/no-explicit-any
    /** The environment once it has recorded the end of `runId` (a moment after the run itself ends). */
    async settled(service: string, env: string, runId: string) {
      for (let i = 0; ; i++) {
        const view = await environment(service, env);
        if (view.active === null && view.history.some((e: { runId: string }) => e.runId === runId)) return view;
        if (i > 100) assert.fail(`${service}/${env} never recorded ${runId}: ${JSON.stringify(view)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    /** The environment's workflow started afresh with `state` (terminating the one running, if any). */
    async restartEnvironment(service: string, env: string, state: Record<string, unknown>) {
      const h = harness();
      const workflowId = environmentWorkflowId(service, env);
      await h.temporal.client.workflow.getHandle(workflowId).terminate('test: starting over').catch(() => undefined);
      return h.temporal.client.workflow.start('environment', { workflowId, taskQueue: h.taskQueue, args: [{ service, environment: env, ledger: emptyLedger(), ...state }] });
    },
    webEnv: (host: string) => readFileSync(join(harness().host(host).stateDir, 'srv', 'web', '.env'), 'utf8'),
  };
}
