import { condition, defineQuery, defineUpdate, setHandler, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { composeRecreate } from '../commands/compose.js';
import { restartUnit } from '../commands/systemd.js';
import type { Target } from '../domain/plan.js';
import {
  queuedRotation, type EnvSecretPlan, type RotationStatus, type RotationStep, type RotationView, type SecretSource,
} from '../domain/rotation.js';
import { planBatches } from '../domain/rollout.js';
import { SEARCH_ATTRIBUTES } from '../domain/search-attributes.js';
import { renderTemplate, targetTemplateValues, type TemplateValues } from '../domain/templates.js';
import { apiSteps, hostSteps, summary } from './activity-options.js';
import { grantSignal } from './deploy.js';
import { describeFailure } from './failure-details.js';
import { checkHealth } from './update-target.js';

export interface RotationInput {
  plan: EnvSecretPlan;
  createdAt: string;
  stepTimeoutMs: number;
  heartbeatTimeoutMs?: number | undefined;
}

export const rotationQuery = defineQuery<RotationView>('rotation');
/** After a compensation failed and an operator fixed its cause: try what is left again. */
export const rotationRetryUpdate = defineUpdate<RotationView>('retry');

/** One undo of the saga, run in reverse order of the steps that made it necessary. */
interface Compensation {
  /** Undone in this order: GitHub first, then the files, then the restarts on the old values. */
  undoes: 'github' | 'file' | 'restart';
  step: RotationStep;
  undo: () => Promise<void>;
  /** Said to the operator when the undo fails. */
  byHand: string;
}

type GeneratedSpec = Extract<SecretSource, { generate: unknown }>['generate'];

/**
 * `env-secret` (SPEC §4): new values written to the env file on every host, the services
 * restarted canary first and health-gated, then the GitHub Actions secrets updated. A
 * failure restores the old values (from a backup the rotation made on each host, so they
 * never pass through history), restarts what was restarted, and puts the GitHub secrets back.
 */
export async function rotation(input: RotationInput): Promise<RotationView> {
  const { plan } = input;
  const now = () => new Date().toISOString();
  const view = queuedRotation(workflowInfo().workflowId, plan, input.createdAt);
  let granted = false;
  let retryRequested = false;
  setHandler(rotationQuery, () => view);
  setHandler(grantSignal, () => { granted = true; });
  setHandler(rotationRetryUpdate, () => { retryRequested = true; return view; }, {
    validator: () => { if (view.status !== 'failed') throw new Error(`the rotation is ${view.status}: retry applies to a rotation whose compensation failed`); },
  });

  const setStatus = (status: RotationStatus) => {
    view.status = status;
    view.updatedAt = now();
    upsertSearchAttributes([{ key: SEARCH_ATTRIBUTES.status, value: status }]);
  };
  const addStep = (name: string, target?: string): RotationStep => {
    const step: RotationStep = { name, ...(target ? { target } : {}), status: 'pending' };
    view.steps.push(step);
    return step;
  };
  const perform = async (step: RotationStep, work: () => Promise<unknown>) => {
    step.status = 'running';
    view.updatedAt = now();
    try {
      await work();
      step.status = 'succeeded';
    } catch (error) {
      step.status = 'failed';
      step.error = describeFailure(error).message;
      throw error;
    }
  };

  const steps = hostSteps(input.stepTimeoutMs, input.heartbeatTimeoutMs);
  const base: TemplateValues = { service: plan.service, environment: plan.environment };
  const valuesFor = (t: Target) => targetTemplateValues(t, base);
  const dirOf = (t: Target) => renderTemplate(plan.runtime.dir, valuesFor(t));
  const envFile = plan.runtime.envFile;
  const backup = `${envFile}.slipway-rotation-${view.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  // The env file is per host (systemd instances on one host share it).
  const hosts = plan.targets.filter((t, i) => plan.targets.findIndex((o) => o.hostName === t.hostName) === i);
  const names = Object.keys(plan.variables);

  const restart = async (t: Target) => {
    const dir = dirOf(t);
    const command = plan.runtime.kind === 'compose' ? composeRecreate(plan.runtime, dir) : restartUnit(dir, renderTemplate(plan.runtime.unit, valuesFor(t)));
    await steps.runOnHost.executeWithOptions(summary(`${t.name}: ${command.label}`), [t.host, command]);
    await checkHealth(t, dir, plan.health, valuesFor(t), input.stepTimeoutMs, input.heartbeatTimeoutMs);
  };

  await condition(() => granted);
  setStatus('running');
  const compensations: Compensation[] = [];
  const restarted: Target[] = [];
  try {
    const supplied = Object.fromEntries(Object.entries(plan.variables).flatMap(([n, s]) => ('value' in s ? [[n, s.value]] : [])));
    const toGenerate = Object.fromEntries(Object.entries(plan.variables).flatMap(([n, s]) => ('generate' in s ? [[n, s.generate]] : []))) as Record<string, GeneratedSpec>;
    let values: Record<string, string> = supplied;
    if (Object.keys(toGenerate).length) {
      await perform(addStep(`generate ${Object.keys(toGenerate).join(', ')}`), async () => {
        values = { ...supplied, ...await apiSteps.generateSecrets.executeWithOptions(summary(`generate ${Object.keys(toGenerate).join(', ')}`), [toGenerate]) };
      });
    }

    const writes = hosts.map((t) => ({ t, step: addStep(`write ${names.join(', ')} to ${envFile}`, t.hostName) }));
    const restarts = plan.targets.map((t) => ({ t, step: addStep('restart and check health', t.name) }));
    const secrets = Object.entries(plan.githubSecrets).map(([variable, secret]) => ({ variable, secret, step: addStep(`update GitHub secret ${secret}`) }));

    for (const { t, step } of writes) {
      compensations.push({
        undoes: 'file',
        step,
        undo: () => steps.restoreEnvSecrets.executeWithOptions(summary(`${t.hostName}: restore ${names.join(', ')} in ${envFile}`), [t.host, dirOf(t), envFile, backup, names]).then(() => undefined),
        byHand: `restore ${names.join(', ')} in ${dirOf(t)}/${envFile} on ${t.hostName} from ${backup}`,
      });
      await perform(step, () => steps.writeEnvSecrets.executeWithOptions(summary(`${t.hostName}: write ${names.join(', ')} to ${envFile}`), [t.host, dirOf(t), envFile, backup, values]));
    }
    for (const batch of planBatches(plan.targets, plan.canary, plan.batchSize)) {
      const results = await Promise.allSettled(batch.map((t) => {
        restarted.push(t);
        return perform(restarts.find((r) => r.t === t)!.step, () => restart(t));
      }));
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    const source = hosts[0]!;
    for (const { variable, secret, step } of secrets) {
      compensations.push({
        undoes: 'github',
        step,
        undo: () => apiSteps.restoreGithubSecret.executeWithOptions(summary(`restore GitHub secret ${secret}`), [plan.repo!, secret, source.host, dirOf(source), backup, variable]).then(() => undefined),
        byHand: `set the GitHub Actions secret ${secret} of ${plan.repo} back to the old ${variable} (in ${backup} on ${source.hostName})`,
      });
      await perform(step, () => apiSteps.setGithubSecret.executeWithOptions(summary(`update GitHub secret ${secret}`), [plan.repo!, secret, values[variable]!]));
    }
    await removeBackups();
    view.finishedAt = now();
    setStatus('succeeded');
    return view;
  } catch (error) {
    const failure = describeFailure(error);
    const failedStep = view.steps.find((s) => s.status === 'failed');
    view.error = { type: failure.type, step: failedStep?.name ?? 'rotation', target: failedStep?.target ?? failure.target, message: failure.message };
  }

  // The saga unwinds: GitHub secrets, then the restarts (on the old values), then the files.
  setStatus('compensating');
  for (const t of [...restarted].reverse()) {
    const step = view.steps.find((s) => s.name === 'restart and check health' && s.target === t.name)!;
    compensations.push({ undoes: 'restart', step, undo: () => restart(t), byHand: `restart ${t.name} once its env file holds the old values` });
  }
  const ordered = (['github', 'file', 'restart'] as const).flatMap((undoes) => {
    const these = compensations.filter((c) => c.undoes === undoes);
    return undoes === 'restart' ? these : these.reverse();
  });
  let pending = ordered.filter((c) => c.step.status !== 'pending');
  for (;;) {
    const failedUndos: Compensation[] = [];
    for (const c of pending) {
      c.step.status = 'compensating';
      view.updatedAt = now();
      try {
        await c.undo();
        c.step.status = 'compensated';
        c.step.error = undefined;
      } catch (error) {
        c.step.status = 'failed';
        c.step.error = describeFailure(error).message;
        failedUndos.push(c);
      }
    }
    if (!failedUndos.length) break;
    view.leftToFix = failedUndos.map((c) => c.byHand);
    retryRequested = false;
    setStatus('failed');
    await condition(() => retryRequested);
    view.leftToFix = undefined;
    setStatus('compensating');
    pending = failedUndos;
  }
  await removeBackups();
  view.finishedAt = now();
  setStatus('compensated');
  return view;

  /** The backups hold old secrets: they go once the rotation has ended either way. */
  async function removeBackups(): Promise<void> {
    for (const t of hosts) {
      try {
        await steps.removeHostFile.executeWithOptions({ ...summary(`${t.hostName}: remove ${backup}`), retry: { maximumAttempts: 3 } }, [t.host, dirOf(t), backup]);
      } catch {
        // Left behind on an unreachable host, readable by its owner only, like the env file.
      }
    }
  }
}
