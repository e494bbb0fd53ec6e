import { composeRecreate } from '../../commands/compose.js';
import { restartUnit } from '../../commands/systemd.js';
import type { Target } from '../../domain/plan.js';
import type { EnvSecretPlan, SecretSource } from '../../domain/rotation.js';
import { planBatches } from '../../domain/rollout.js';
import { renderTemplate, targetTemplateValues, type TemplateValues } from '../../domain/templates.js';
import { apiSteps, hostSteps, summary } from '../activity-options.js';
import { checkHealth } from '../update-target.js';
import type { Compensation, RotationSaga, Saga } from './saga.js';

type GeneratedSpec = Extract<SecretSource, { generate: unknown }>['generate'];

/**
 * `env-secret` (SPEC §4): new values written to the env file on every host, the services
 * restarted canary first and health-gated, then the GitHub Actions secrets updated. A
 * failure restores the old values (from a backup the rotation made on each host, so they
 * never pass through history), restarts what was restarted, and puts the GitHub secrets back.
 */
export function envSecretRotation(plan: EnvSecretPlan, saga: Saga): RotationSaga {
  const steps = hostSteps(saga.stepTimeoutMs, saga.heartbeatTimeoutMs);
  // Checks and units that name the version ({sha}) are filled with the release running now.
  const base = (): TemplateValues => {
    const sha = saga.ledger.current?.sha;
    return { service: plan.service, environment: plan.environment, ...(sha ? { sha, sha7: sha.slice(0, 7) } : {}) };
  };
  const valuesFor = (t: Target) => targetTemplateValues(t, base());
  const dirOf = (t: Target) => renderTemplate(plan.runtime.dir, valuesFor(t));
  const envFile = plan.runtime.envFile;
  const backup = `${envFile}.slipway-rotation-${saga.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  // The env file is per host (systemd instances on one host share it).
  const hosts = plan.targets.filter((t, i) => plan.targets.findIndex((o) => o.hostName === t.hostName) === i);
  const names = Object.keys(plan.variables);
  /** Undone in this order: GitHub first, then the files, then the restarts on the old values. */
  const undos: { github: Compensation[]; file: Compensation[] } = { github: [], file: [] };
  const restarted: Target[] = [];
  const restartSteps = new Map<Target, ReturnType<Saga['addStep']>>();

  const restart = async (t: Target) => {
    const dir = dirOf(t);
    const command = plan.runtime.kind === 'compose' ? composeRecreate(plan.runtime, dir) : restartUnit(dir, renderTemplate(plan.runtime.unit, valuesFor(t)));
    await steps.runOnHost.executeWithOptions(summary(`${t.name}: ${command.label}`), [t.host, command]);
    saga.tookEffect(restartSteps.get(t)!);
    await checkHealth(t, dir, plan.health, valuesFor(t), saga.stepTimeoutMs, saga.heartbeatTimeoutMs);
  };

  return {
    async run() {
      const supplied = Object.fromEntries(Object.entries(plan.variables).flatMap(([n, s]) => ('value' in s ? [[n, s.value]] : [])));
      const toGenerate = Object.fromEntries(Object.entries(plan.variables).flatMap(([n, s]) => ('generate' in s ? [[n, s.generate]] : []))) as Record<string, GeneratedSpec>;
      let values: Record<string, string> = supplied;
      saga.hide(Object.values(supplied));
      if (Object.keys(toGenerate).length) {
        await saga.perform(saga.addStep(`generate ${Object.keys(toGenerate).join(', ')}`), async () => {
          values = { ...supplied, ...await apiSteps.generateSecrets.executeWithOptions(summary(`generate ${Object.keys(toGenerate).join(', ')}`), [toGenerate]) };
        });
        saga.hide(Object.values(values));
      }

      const writes = hosts.map((t) => ({ t, step: saga.addStep(`write ${names.join(', ')} to ${envFile}`, t.hostName) }));
      for (const t of plan.targets) restartSteps.set(t, saga.addStep('restart and check health', t.name));
      const secrets = Object.entries(plan.githubSecrets).map(([variable, secret]) => ({ variable, secret, step: saga.addStep(`update GitHub secret ${secret}`) }));

      for (const { t, step } of writes) {
        undos.file.push({
          step,
          undo: () => steps.restoreEnvSecrets.executeWithOptions(summary(`${t.hostName}: restore ${names.join(', ')} in ${envFile}`), [t.host, dirOf(t), envFile, backup, names]),
          byHand: `restore ${names.join(', ')} in ${dirOf(t)}/${envFile} on ${t.hostName} from ${backup}`,
        });
        await saga.perform(step, () => steps.writeEnvSecrets.executeWithOptions(summary(`${t.hostName}: write ${names.join(', ')} to ${envFile}`), [t.host, dirOf(t), envFile, backup, values]));
      }
      for (const batch of planBatches(plan.targets, plan.canary, plan.batchSize)) {
        const results = await Promise.allSettled(batch.map((t) => {
          restarted.push(t);
          return saga.perform(restartSteps.get(t)!, () => restart(t));
        }));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
      const source = hosts[0]!;
      for (const { variable, secret, step } of secrets) {
        undos.github.push({
          step,
          undo: () => apiSteps.restoreGithubSecret.executeWithOptions(summary(`restore GitHub secret ${secret}`), [plan.repo!, secret, source.host, dirOf(source), backup, variable]),
          byHand: `set the GitHub Actions secret ${secret} of ${plan.repo} back to the old ${variable} (in ${backup} on ${source.hostName})`,
        });
        await saga.perform(step, () => apiSteps.setGithubSecret.executeWithOptions(summary(`update GitHub secret ${secret}`), [plan.repo!, secret, values[variable]!]));
      }
    },

    unwind() {
      const restarts = [...restarted].reverse().map((t): Compensation => ({
        step: restartSteps.get(t)!, undo: () => restart(t), byHand: `restart ${t.name} once its env file holds the old values`,
      }));
      return [...[...undos.github].reverse(), ...[...undos.file].reverse(), ...restarts];
    },

    /** The backups hold old secrets: they go once the rotation has ended either way. */
    async cleanup() {
      // Only hosts the write may have reached have a backup.
      const written = new Set(undos.file.filter((u) => saga.mayHaveRun(u.step)).map((u) => u.step.target));
      for (const t of hosts.filter((h) => written.has(h.hostName))) {
        try {
          await steps.removeHostFile.executeWithOptions({ ...summary(`${t.hostName}: remove ${backup}`), retry: { maximumAttempts: 3 } }, [t.host, dirOf(t), backup]);
        } catch {
          // Left behind on an unreachable host, readable by its owner only, like the env file.
        }
      }
    },
  };
}
