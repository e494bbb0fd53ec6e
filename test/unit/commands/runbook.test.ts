import assert from 'node:assert/strict';
import type { ComposeRuntime } from '../../../src/commands/compose.js';
import { afterHealthySteps, targetRunbook, updateSegments, updateSteps } from '../../../src/commands/runbook.js';

const runtime: ComposeRuntime = {
  kind: 'compose', dir: '/opt/shop', file: 'docker-compose.prod.yml', envFile: '.env.production',
  imageVars: { BACKEND_IMAGE: 'backend', WORKER_IMAGE: 'backend' }, migrate: { service: 'backend', command: 'alembic upgrade head' }, prune: true, keepReleases: 5,
};
const pinned = { backend: 'ghcr.io/acme/shop-backend:sha-abc1234@sha256:' + 'a'.repeat(64) };

/** A target's runbook as data: its steps in order, and how they are cut into activities. */
describe('a target\'s runbook', () => {
  it('lists a target\'s runbook in order: pin, pull, migrate once on the first target only, up, prune; systemd builds once per host', () => {
    const labels = (migrate: boolean) => targetRunbook({ runtime, pinned, values: {}, dir: '/opt/shop', migrate, build: false })
      .map((s) => (s.kind === 'pin' ? s.label : `${s.command.label}${s.onceStep ? ` [once: ${s.onceStep}]` : ''}`));
    assert.deepEqual(labels(true), ['pin images in .env.production', 'docker compose pull', 'migrate: alembic upgrade head [once: migrate]', 'docker compose up -d', 'keep the images of 1 release', 'docker image prune']);
    assert.deepEqual(labels(false), ['pin images in .env.production', 'docker compose pull', 'docker compose up -d', 'keep the images of 1 release', 'docker image prune']);
    const systemd = { kind: 'systemd' as const, dir: '/srv/bot', unit: 'bot@{instance}.service', build: ['git checkout --force {sha}', 'npm ci'], envFile: '.env' };
    const steps = (build: boolean) => targetRunbook({ runtime: systemd, pinned: {}, values: { instance: '2', sha: 'abc' }, dir: '/srv/bot', migrate: false, build })
      .map((s) => (s.kind === 'run' ? [s.command.label, s.onceStep ?? null] : [s.label, null]));
    assert.deepEqual(steps(true), [['git checkout --force abc', 'build/0'], ['npm ci', 'build/1'], ['systemctl restart bot@2.service', null]]);
    assert.deepEqual(steps(false), [['systemctl restart bot@2.service', null]]);
  });

  it('keeps the images of this release and the newest known-good ones, keepReleases in all, before the prune', () => {
    const release = (digit: string) => ({ backend: `ghcr.io/acme/shop-backend:sha-${digit.repeat(7)}@sha256:${digit.repeat(64)}` });
    const kept = (keepReleases: number, keep: Array<Record<string, string>>) => {
      const step = targetRunbook({ runtime: { ...runtime, keepReleases }, pinned: release('c'), values: { service: 'shop', environment: 'production' }, dir: '/opt/shop', migrate: false, build: false, keep })
        .find((s) => s.kind === 'run' && s.command.label.startsWith('keep'));
      return step?.kind === 'run' ? [...step.command.script!.matchAll(/docker tag (\S+)/g)].map((m) => m[1]!.slice(-3)) : [];
    };
    assert.deepEqual(kept(2, [release('b'), release('a')]), ['ccc', 'bbb'], 'this release and the newest known-good one');
    assert.deepEqual(kept(5, [release('c'), release('b'), release('c'), release('a')]), ['ccc', 'bbb', 'aaa'], 'each release once');
    assert.deepEqual(kept(1, [release('b')]), ['ccc']);
    const prune = targetRunbook({ runtime: { ...runtime, prune: false }, pinned: release('c'), values: {}, dir: '/opt/shop', migrate: false, build: false, keep: [release('b')] });
    assert.ok(!prune.some((s) => s.kind === 'run' && s.afterHealthy), 'without prune, nothing is tagged or removed');
  });

  it('splits a target\'s update into activities: the idempotent steps share one, a run-once step is its own; prune waits for healthy', () => {
    const label = (s: ReturnType<typeof updateSteps>[number]) => (s.kind === 'run' ? s.command.label : s.label);
    const compose = (migrate: boolean) => updateSteps(targetRunbook({ runtime, pinned, values: {}, dir: '/opt/shop', migrate, build: false }), 2);
    assert.deepEqual(compose(false).map(label), ['pin images in .env.production', 'docker compose pull', 'docker compose up -d', 'health checks (2)'], 'no prune on the way to healthy');
    assert.deepEqual(updateSegments(compose(false)), [{ from: 0, to: 4 }], 'one activity, one connection');
    assert.deepEqual(updateSegments(compose(true)), [{ from: 0, to: 2 }, { from: 2, to: 3 }, { from: 3, to: 5 }], 'the migration alone');
    assert.deepEqual(updateSegments(compose(true), 3), [{ from: 3, to: 5 }], 'a retry from up');
    assert.deepEqual(updateSegments(compose(true), 2), [{ from: 2, to: 3 }, { from: 3, to: 5 }], 'a retry from the migration');
    assert.deepEqual(afterHealthySteps(targetRunbook({ runtime, pinned, values: {}, dir: '/opt/shop', migrate: false, build: false })).map((c) => c.label), ['keep the images of 1 release', 'docker image prune']);
    const systemd = { kind: 'systemd' as const, dir: '/srv/bot', unit: 'bot@{instance}.service', build: ['git checkout --force {sha}', 'npm ci'], envFile: '.env' };
    const bot = updateSteps(targetRunbook({ runtime: systemd, pinned: {}, values: { instance: '1', sha: 'abc' }, dir: '/srv/bot', migrate: false, build: true }), 0);
    assert.deepEqual(updateSegments(bot), [{ from: 0, to: 1 }, { from: 1, to: 2 }, { from: 2, to: 3 }], 'each build step alone, then the restart');
  });
});
