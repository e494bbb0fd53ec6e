import type { DryRunPlan } from '../api/dry-run.js';
import type { RotationView } from '../domain/rotation.js';
import { FINISHED_STATUSES, type Run } from '../domain/run.js';
import type { StepRecord } from '../step-logs/store.js';

/**
 * What `slipway … --wait` follows, as pure functions of the run the API answers: the lines a
 * change makes (CI logs), the board a terminal redraws, and the verdict once there is one.
 */
export type Watched = Run | RotationView;

export const isRotation = (w: Watched): w is RotationView => 'steps' in w;

/** Exit codes (README, "The slipway CLI"). */
export const EXIT = { succeeded: 0, endedOtherwise: 1, usage: 2, awaitingDecision: 3, interrupted: 130 } as const;

function title(w: Watched): string {
  if (isRotation(w)) return `${w.kind} rotation${w.recipe ? ` ${w.recipe}` : ''} of ${w.service} in ${w.environment}`;
  const version = w.version.sha ? w.version.sha.slice(0, 7) : Object.values(w.version.images)[0] ?? 'a tag';
  return `${w.kind} of ${w.service} ${version} to ${w.environment}`;
}

function statusText(w: Watched): string {
  if (isRotation(w)) return w.status === 'failed' && !w.finishedAt ? 'failed, waiting for an operator (retry or abort)' : w.status;
  if (w.waitingFor) return `${w.status}, waiting for ${w.waitingFor.kind === 'freeze' ? 'the end of a freeze' : 'its deploy window'} until ${w.waitingFor.until} (${w.waitingFor.reason})`;
  const waiting = w.awaitingOperator && w.status !== 'awaiting_operator' ? ', waiting for an operator (retry or abort)' : '';
  return `${w.status}${waiting}${FINISHED_STATUSES.includes(w.status) ? '' : `, phase ${w.phase}`}`;
}

/** Everything a user follows, keyed so that two snapshots can be compared line by line. */
function snapshot(w: Watched): Map<string, string> {
  const lines = new Map<string, string>([['status', `${title(w)}: ${statusText(w)}`]]);
  if (isRotation(w)) {
    w.steps.forEach((s, i) => lines.set(`step ${i}`, `${s.target ? `${s.target}: ` : ''}${s.name}: ${s.status}${s.error ? ` (${s.error})` : ''}`));
  } else {
    for (const t of w.targets) lines.set(`target ${t.id}`, `${t.name}${t.batch ? ` (batch ${t.batch})` : ''}: ${t.status}${t.step ? `: ${t.step}` : ''}${t.error ? ` (${t.error})` : ''}`);
    (w.hooks ?? []).forEach((h, i) => lines.set(`hook ${i}`, `${h.target}: ${h.command}: ${h.status}${h.error ? ` (${h.error})` : ''}`));
  }
  return lines;
}

/** The lines that changed since `before` (all of them the first time). */
export function changes(before: Watched | undefined, after: Watched): string[] {
  const old = before ? snapshot(before) : new Map<string, string>();
  return [...snapshot(after)].filter(([key, line]) => old.get(key) !== line).map(([, line]) => line);
}

const MARK: Record<string, string> = {
  healthy: '✔', succeeded: '✔', compensated: '↺', rolled_back: '↺', failed: '✖', updating: '…', running: '…', compensating: '…', pending: ' ',
};

/** What a terminal shows and redraws: the phase, each batch, each host, its state and the step it is on. */
export function board(w: Watched): string {
  const out = [`${title(w)}: ${statusText(w)}`];
  if (isRotation(w)) {
    for (const s of w.steps) out.push(`  ${MARK[s.status] ?? ' '} ${s.target ? `${s.target}: ` : ''}${s.name} ${s.status}`);
    return out.join('\n');
  }
  const hooks = (before: boolean) => {
    const listed = (w.hooks ?? []).filter((h) => (h.hook === 'beforeDeploy') === before);
    if (listed.length) out.push('  hooks', ...listed.map((h) => `    ${MARK[h.status] ?? ' '} ${h.target}: ${h.command} ${h.status}${h.error ? `: ${h.error.split('\n')[0]}` : ''}`));
  };
  hooks(true);
  const batches = new Map<number, Run['targets']>();
  for (const t of w.targets) batches.set(t.batch ?? 0, [...batches.get(t.batch ?? 0) ?? [], t]);
  for (const [batch, targets] of [...batches].sort(([a], [b]) => a - b)) {
    if (batch) out.push(`  batch ${batch}${batch === 1 && batches.size > 1 ? ' (canary)' : ''}`);
    for (const t of targets) out.push(`    ${MARK[t.status] ?? ' '} ${t.name} ${t.status}${t.step ? `: ${t.step}` : ''}${t.error ? `: ${t.error.split('\n')[0]}` : ''}`);
  }
  hooks(false);
  return out.join('\n');
}

export interface Verdict {
  code: number;
  lines: string[];
}

/**
 * How waiting ends: succeeded (0); ended any other way (1), naming the failing step, host and
 * error; or, with `untilDecision`, waiting for an operator (3). Undefined while neither.
 */
export function verdict(w: Watched, untilDecision: boolean): Verdict | undefined {
  const waitingForOperator = isRotation(w) ? w.status === 'failed' && !w.finishedAt : w.status === 'awaiting_approval' || w.status === 'awaiting_operator' || !!w.awaitingOperator;
  const ended = isRotation(w) ? ['succeeded', 'compensated'].includes(w.status) || (w.status === 'failed' && !!w.finishedAt) : FINISHED_STATUSES.includes(w.status) && !w.awaitingOperator;
  if (ended && w.status === 'succeeded') return { code: EXIT.succeeded, lines: [`${title(w)}: succeeded`] };
  if (ended || (waitingForOperator && untilDecision)) {
    const lines = [`${title(w)}: ${statusText(w)}`];
    if (w.error) lines.push(`  failed step: ${w.error.step}${w.error.target ? ` on ${w.error.target}` : ''} (${w.error.type})`, ...w.error.message.split('\n').map((l) => `  ${l}`));
    const left = w.leftToFix ?? [];
    if (left.length) lines.push('  left to fix:', ...left.map((l) => `    ${typeof l === 'string' ? l : `${l.target} (on ${l.version}): ${l.error}`}`));
    if (!ended) lines.push(`  decide with: ${decisions(w).map((d) => `slipway ${d} ${w.id}`).join(', ').replace(/, ([^,]*)$/, ', or $1')}`);
    return { code: ended ? EXIT.endedOtherwise : EXIT.awaitingDecision, lines };
  }
  return undefined;
}

/** What an operator may answer a run waiting for one: a failed gate may also be rolled back. */
function decisions(w: Watched): string[] {
  if (w.status === 'awaiting_approval') return ['approve', 'abort'];
  if (w.status === 'awaiting_operator') return ['retry', 'rollback', 'abort'];
  return ['retry', 'abort'];
}

/** A dry run as a person reads it: the release, then batch by batch, each host's commands and checks. */
export function planTable(plan: DryRunPlan): string {
  const out = [`${plan.kind} of ${plan.service} to ${plan.environment}: dry run, nothing was touched`];
  const row = (label: string, text: string) => out.push(`${label.padEnd(10)}${text}`);
  row('commit', `${plan.commit.sha ?? '(none: deployed by tag)'}  (${plan.commit.ref})`);
  row('checks', `${plan.checks.state}: ${plan.checks.summary}`);
  const width = Math.max(0, ...plan.images.map((i) => i.name.length));
  plan.images.forEach((image, i) => row(i ? '' : 'images', `${image.name.padEnd(width)}  ${image.pinned === 'missing' ? `MISSING ${image.repository}:${image.tag}` : image.pinned}`));
  if (plan.queuedBehind) row('waits for', [plan.queuedBehind.active, ...plan.queuedBehind.queue].filter(Boolean).join(', '));
  const hooks = (names: string[], when: string) => {
    const listed = (plan.hooks ?? []).filter((h) => names.includes(h.hook));
    if (listed.length) out.push('', when, ...listed.map((h) => `  ${h.hook} on ${h.on}\n    $ ${h.command.replace(/\n/g, '\n      ')}`));
  };
  hooks(['beforeDeploy'], 'before any target changes:');
  if (plan.schema) out.push('', `schema: ${plan.schema.from} → ${plan.schema.to}`, plan.schema.command ? `    $ ${plan.schema.command}` : '    (no downgrade configured: the schema stays at the newer revision)');
  plan.batches.forEach((names, index) => {
    out.push('', `batch ${index + 1}${index === 0 && plan.batches.length > 1 ? ' (canary)' : ''}: ${names.join(', ')}`);
    for (const target of plan.targets.filter((t) => t.batch === index + 1)) {
      out.push(`  ${target.name}`, ...target.commands.map((c) => `    $ ${c.replace(/\n/g, '\n      ')}`));
      out.push(...target.health.map((check) => `    health: ${JSON.stringify(check)}`));
    }
    if (index === 0 && plan.batches.length > 1) {
      if (plan.bakeMs) out.push(`  bake ${Math.round(plan.bakeMs / 1000)} s${plan.gates.length ? `, gates: ${plan.gates.map((g) => `${g.name} on ${g.on} (${g.check}, ${g.expect})`).join('; ')}` : ''}`);
      if (plan.approval) out.push('  then wait for approval');
    }
  });
  hooks(['afterDeploy'], 'once every target is healthy:');
  hooks(['afterRollback'], plan.kind === 'rollback' ? 'once rolled back:' : 'if it rolls back, after the rollback:');
  return out.join('\n');
}

/** What `GET /v1/deployments/:id/targets/:target` answers. */
export interface TargetSteps {
  run: string;
  target: Run['targets'][number];
  steps: StepRecord[];
  keptFor: string;
}

/** `slipway logs`: a target's steps, each with its time, duration, exit code and output tail. */
export function stepLogText({ target, steps }: TargetSteps): string {
  const out = [`${target.name}  ${target.status}${target.batch ? `  batch ${target.batch}` : ''}${target.version ? `  ${target.version}` : ''}`];
  if (!steps.length) out.push('  (no steps logged)');
  for (const step of steps) {
    const time = step.startedAt.slice(11, 19);
    const took = step.durationMs === undefined ? '' : `, ${(step.durationMs / 1000).toFixed(1)} s`;
    const exit = step.exitCode === undefined ? '' : `  exit ${step.exitCode ?? 'none (killed or disconnected)'}`;
    const retry = step.attempt > 1 ? `  attempt ${step.attempt}` : '';
    out.push(`  ${time}  ${step.phase === 'rollback' ? 'rollback: ' : ''}${step.label}  ${step.status}${took}${exit}${retry}`);
    out.push(...step.output.map((line) => `    | ${line}`));
  }
  return out.join('\n');
}
