import { composeRecreate, imageEnvironment } from '../../commands/compose.js';
import { releaseValues } from '../../domain/release.js';
import { restartUnit } from '../../commands/systemd.js';
import type { Target } from '../../domain/plan.js';
import { placeholders, stringsIn, type RecipeValues } from '../../domain/recipe.js';
import type { EnvironmentRef, RecipeCommand, RecipeSpec, RecipeValue, RecipeWrite, RotationStep } from '../../domain/rotation.js';
import { planBatches } from '../../domain/rollout.js';
import { renderTemplate, targetTemplateValues, type TemplateValues } from '../../domain/templates.js';
import { drainSteps } from '../../domain/traffic.js';
import { apiSteps, hostSteps, summary } from '../activity-options.js';
import type { HostJob } from '../contract.js';
import type { Compensation, RotationSaga, Saga } from './saga.js';

type Generate = Extract<RecipeValue, { generate: unknown }>['generate'];

/**
 * A recipe (docs/rotations.md, "Rotation recipes"), and `env-secret` as the simplest one. In order:
 * the values (the old ones read first where `{old:X}` needs them, then generated, then
 * provisioned by commands); the env files of every write, each environment's targets
 * restarted canary first and health-gated; GitHub secrets; HTTP steps; then `finally`, whose
 * failure undoes nothing. A failure before `finally` runs the `undo` commands, restores the
 * env files from backups kept on each host (old values never pass through history), restarts
 * what was restarted, and puts GitHub secrets back.
 */
export function recipeRotation(spec: RecipeSpec, saga: Saga): RotationSaga {
  const steps = hostSteps(saga.stepTimeoutMs, saga.heartbeatTimeoutMs);
  const values: RecipeValues = { new: {}, old: {} };
  let valuesMade = false;
  const own = (ref: EnvironmentRef) => ref.service === spec.service && ref.environment === spec.environment;
  /** Targets of the rotation's own environment by name; others with their service and environment. */
  const label = (ref: EnvironmentRef, name: string) => (own(ref) ? name : `${ref.service}/${ref.environment} ${name}`);

  // Checks and units that name the version ({sha}) are filled with the release running there now.
  const valuesFor = (w: RecipeWrite, t: Target): TemplateValues => {
    const sha = saga.ledgerOf(w).current?.sha;
    return targetTemplateValues(t, releaseValues(w, sha));
  };
  const dirOf = (w: RecipeWrite, t: Target) => renderTemplate(w.runtime.dir, valuesFor(w, t));
  const backupOf = (w: RecipeWrite) => `${w.runtime.envFile}.slipway-rotation-${saga.id.replace(/[^A-Za-z0-9_.-]/g, '_')}`;
  // The env file is per host (systemd instances on one host share it).
  const hostsOf = (w: RecipeWrite) => w.targets.filter((t, i) => w.targets.findIndex((o) => o.hostName === t.hostName) === i);
  const commandDir = (c: RecipeCommand) => renderTemplate(c.dir, targetTemplateValues(c.target, { service: c.service, environment: c.environment }));

  /** Undone in the order `unwind` gives: files, restarts on the old values, GitHub. */
  const undos: { github: Compensation[]; file: Compensation[] } = { github: [], file: [] };
  const restarted: { w: RecipeWrite; t: Target }[] = [];
  const restartSteps = new Map<Target, RotationStep>();
  const provisioned: { c: RecipeCommand; once: string }[] = [];
  const wroteTo = new Map<RotationStep, { w: RecipeWrite; t: Target }>();

  const restart = (w: RecipeWrite, t: Target, together: Target[] = [t]): HostJob => {
    const dir = dirOf(w, t);
    // The images of the release running there, pinned as a deploy pins them: whatever the env
    // file says, a rotation's restart never changes which image runs.
    const release = saga.ledgerOf(w).current;
    const command = w.runtime.kind === 'compose'
      ? composeRecreate(w.runtime, dir, release ? imageEnvironment(w.runtime, release.images) : {})
      : restartUnit(dir, renderTemplate(w.runtime.unit, valuesFor(w, t)));
    return {
      calls: [{ activity: 'runOnHost', args: [t.host, command], summary: `${t.name}: ${command.label}` }],
      health: { target: t, dir, plan: w.health, values: valuesFor(w, t) },
      drain: drainSteps(w.traffic, together, releaseValues(w, release?.sha), w.targets.length).get(t.id),
    };
  };
  const runCommand = (c: RecipeCommand, once: string) =>
    steps.runRecipeCommand.executeWithOptions(summary(`${c.target.hostName}: ${c.command}`), [c.target.host, commandDir(c), c.command, values, once]);

  /** `{old:X}` names, each read from the first write that holds it. */
  const oldNames = [...new Set([
    ...spec.http.flatMap((h) => [h.url, ...Object.values(h.headers), ...stringsIn(h.body)]),
    ...[...spec.finally, ...spec.undo].map((c) => c.command),
  ].flatMap((text) => placeholders(text).filter((p) => p.which === 'old').map((p) => p.name)))];
  const oldReads = spec.writes.map((w) => ({ w, names: oldNames.filter((n) => spec.writes.find((x) => x.variables.includes(n)) === w) })).filter((r) => r.names.length);

  let finallySteps: { c: RecipeCommand; step: RotationStep }[] = [];
  return {
    async run() {
      for (const v of spec.values) if ('supplied' in v) values.new[v.supplied.name] = v.supplied.value;
      saga.hide(Object.values(values.new));
      const generate = Object.fromEntries(spec.values.flatMap((v) => ('generate' in v ? [[v.generate.name, { bytes: v.generate.bytes, encoding: v.generate.encoding }]] : []))) as Record<string, Omit<Generate, 'name'>>;
      const provisions = spec.values.flatMap((v) => ('provision' in v ? [v.provision] : []));

      const readSteps = oldReads.map((r) => ({ ...r, step: saga.addStep(`read the old ${r.names.join(', ')} from ${r.w.runtime.envFile}`, label(r.w, r.w.targets[0]!.hostName)) }));
      const generateStep = Object.keys(generate).length ? saga.addStep(`generate ${Object.keys(generate).join(', ')}`) : undefined;
      const provisionSteps = provisions.map((p, i) => ({ p, once: `${saga.onceScope}/provision/${i}`, step: saga.addStep(`provision ${p.names.join(', ')} with "${p.command}"`, label(p, p.target.hostName)) }));
      const writes = spec.writes.map((w) => ({
        w,
        files: hostsOf(w).map((t) => ({ t, step: saga.addStep(`write ${w.variables.join(', ')} to ${w.runtime.envFile}`, label(w, t.hostName)) })),
        restarts: w.targets.map((t) => { const step = saga.addStep('restart and check health', label(w, t.name)); restartSteps.set(t, step); return t; }),
      }));
      const secrets = Object.entries(spec.githubSecrets).map(([variable, secret]) => ({ variable, secret, step: saga.addStep(`update GitHub secret ${secret}`) }));
      const calls = spec.http.map((h) => ({ h, step: saga.addStep(`${h.method} ${h.url}`) }));
      finallySteps = spec.finally.map((c) => ({ c, step: saga.addStep(`finally: ${c.command}`, label(c, c.target.hostName)) }));

      for (const { w, names, step } of readSteps) {
        const t = w.targets[0]!;
        await saga.perform(step, async () => {
          Object.assign(values.old, await steps.readOldValues.executeWithOptions(summary(`${t.hostName}: read the old ${names.join(', ')}`), [t.host, dirOf(w, t), w.runtime.envFile, names]));
        });
      }
      saga.hide(Object.values(values.old));
      if (generateStep) {
        await saga.perform(generateStep, async () => {
          Object.assign(values.new, await apiSteps.generateSecrets.executeWithOptions(summary(`generate ${Object.keys(generate).join(', ')}`), [generate]));
        });
        saga.hide(Object.values(values.new));
      }
      for (const { p, once, step } of provisionSteps) {
        provisioned.push({ c: p, once });
        await saga.perform(step, async () => {
          Object.assign(values.new, await steps.provisionValues.executeWithOptions(summary(`${p.target.hostName}: ${p.command}`), [p.target.host, commandDir(p), p.command, p.names, once]));
        });
        saga.hide(Object.values(values.new));
      }
      valuesMade = true;

      for (const { w, files, restarts } of writes) {
        const backup = backupOf(w);
        const written = Object.fromEntries(w.variables.map((name) => [name, values.new[name]!]));
        await saga.onHosts(files.map(({ t, step }) => {
          wroteTo.set(step, { w, t });
          undos.file.push({
            step,
            job: { calls: [{ activity: 'restoreEnvSecrets', args: [t.host, dirOf(w, t), w.runtime.envFile, backup, w.variables], summary: `${t.hostName}: restore ${w.variables.join(', ')} in ${w.runtime.envFile}` }] },
            byHand: `restore ${w.variables.join(', ')} in ${dirOf(w, t)}/${w.runtime.envFile} on ${t.hostName} from ${backup}`,
          });
          return { step, job: { calls: [{ activity: 'writeEnvSecrets', args: [t.host, dirOf(w, t), w.runtime.envFile, backup, written], summary: `${t.hostName}: write ${w.variables.join(', ')} to ${w.runtime.envFile}` }] } };
        }), 'in-turn');
        for (const batch of planBatches(restarts, w.canary, w.batchSize)) {
          restarted.push(...batch.map((t) => ({ w, t })));
          await saga.onHosts(batch.map((t) => ({ step: restartSteps.get(t)!, job: restart(w, t, batch) })), 'together');
        }
      }

      for (const { variable, secret, step } of secrets) {
        // The old value is in the backup of the first write that holds it; without one, Slipway never knew it.
        const source = spec.writes.find((w) => w.variables.includes(variable));
        if (source) {
          const t = hostsOf(source)[0]!;
          undos.github.push({
            step,
            undo: () => apiSteps.restoreGithubSecret.executeWithOptions(summary(`restore GitHub secret ${secret}`), [spec.repo!, secret, t.host, dirOf(source, t), backupOf(source), variable]),
            byHand: `set the GitHub Actions secret ${secret} of ${spec.repo} back to the old ${variable} (in ${backupOf(source)} on ${t.hostName})`,
          });
        }
        await saga.perform(step, () => apiSteps.setGithubSecret.executeWithOptions(summary(`update GitHub secret ${secret}`), [spec.repo!, secret, values.new[variable]!]));
      }

      for (const { h, step } of calls) {
        await saga.perform(step, () => apiSteps.callHttp.executeWithOptions(summary(`${h.method} ${h.url}`), [h, values]));
      }
    },

    finishing: spec.finally.length ? {
      async run() {
        for (const [i, { c, step }] of finallySteps.entries()) await saga.perform(step, () => runCommand(c, `${saga.onceScope}/finally/${i}`));
      },
      leftToFix() {
        const where = (c: RecipeCommand) => `${c.target.hostName} (${c.service}/${c.environment})`;
        const source = spec.writes[0];
        const kept = source ? ` The old values are kept in ${backupOf(source)} on ${hostsOf(source)[0]!.hostName} for this; remove it afterwards.` : '';
        return finallySteps.filter(({ step }) => step.status !== 'succeeded')
          .map(({ c }) => `the new values are in use, but "${c.command}" did not complete on ${where(c)}: run it by hand.${kept}`);
      },
    } : undefined,

    unwind() {
      const restarts = [...restarted].reverse().map(({ w, t }): Compensation => ({
        step: restartSteps.get(t)!, job: restart(w, t), byHand: `restart ${t.name} once its env file holds the old values${w.traffic ? ', and put it back in its load balancer once healthy' : ''}`,
      }));
      const files = [...undos.file].reverse();
      const github = [...undos.github].reverse();
      // {new:X} of a value that was never made cannot be filled: an undo runs once all exist.
      const retire = valuesMade ? spec.undo.map((c, i): Compensation => ({
        step: saga.addStep(`undo: ${c.command}`, label(c, c.target.hostName)),
        undo: () => runCommand(c, `${saga.onceScope}/undo/${i}`),
        byHand: `"${c.command}" did not complete on ${c.target.hostName} (${c.service}/${c.environment}): retry the rotation once its cause is fixed, or retire the new credential by hand`,
        always: true,
      })) : [];
      return [...retire, ...files, ...restarts, ...github];
    },

    /** The backups and the provisioning output hold secrets: they go once the rotation has ended either way. */
    async cleanup(keepBackups = false) {
      const tidy = async (work: () => Promise<unknown>) => {
        try {
          await work();
        } catch {
          // Left behind on an unreachable host, readable by its owner only, like the env file.
        }
      };
      for (const { c, once } of provisioned) {
        await tidy(() => steps.forgetProvisioned.executeWithOptions({ ...summary(`${c.target.hostName}: remove the kept output of "${c.command}"`), retry: { maximumAttempts: 3 } }, [c.target.host, once]));
      }
      if (keepBackups) return;
      // Only hosts the write may have reached have a backup.
      await saga.hostJobs([...wroteTo].filter(([step]) => saga.mayHaveRun(step)).map(([, { w, t }]) => ({
        calls: [{ activity: 'removeHostFile', args: [t.host, dirOf(w, t), backupOf(w)], summary: `${t.hostName}: remove ${backupOf(w)}`, attempts: 3 }],
      })));
    },
  };
}
