import { log, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import { describeFailure } from './failure-details.js';
import type { AfterHealthyInput } from './contract.js';
import { summary } from './activity-options.js';

/**
 * What nothing waits for once a batch is healthy (an image prune on each host), abandoned by
 * its run so that it holds no batch up. A failure is logged and in the target's step log;
 * it changes no run's outcome.
 */
export async function afterHealthy({ hosts, stepTimeoutMs }: AfterHealthyInput): Promise<void> {
  const steps = proxyActivities<Activities>({ startToCloseTimeout: stepTimeoutMs + 60_000, retry: { maximumAttempts: 3 } });
  await Promise.all(hosts.map(async ({ target, commands, log: stepLog }) => {
    try {
      await steps.runAfterHealthy.executeWithOptions(summary(`${target.name}: ${commands.map((c) => c.label).join(' → ')}`), [target.host, commands, stepLog]);
    } catch (error) {
      log.warn('a step after healthy failed', { target: target.name, error: describeFailure(error).message });
    }
  }));
}
