import assert from 'node:assert/strict';
import { hookCommand } from '../../../src/commands/hooks.js';
import { toShell } from '../../../src/commands/shell.js';
import { parseConfig } from '../../../src/config/load.js';
import { buildDeployPlan } from '../../../src/config/plan.js';
import { hookBatches, hookValues } from '../../../src/domain/hooks.js';
import { renderTemplate } from '../../../src/domain/templates.js';
import { configProblems } from '../../support/config.js';

const config = (serviceHooks: string, productionHooks = '') => `
ssh: { privateKey: k, knownHosts: /kh }
services:
  shop:
    runtime: { kind: compose, dir: /srv/shop }
    hooks: ${serviceHooks}
    environments:
      staging:
        targets: [ { name: web-1, address: 10.0.0.1 } ]
      production:
        targets: [ { name: web-1, address: 10.0.0.1 }, { name: web-2, address: 10.0.0.2 }, { name: web-3, address: 10.0.0.3 } ]
        rollout: { canary: 1, batchSize: 2 }
        ${productionHooks}
`;

const plan = (text: string, environment: string) => {
  const svc = parseConfig(text, { env: {} }).services.shop!;
  return buildDeployPlan('shop', svc, environment, svc.environments[environment]!, { sha: 'abc1234def' });
};

describe('hooks: the runbook\'s steps around a deploy', () => {
  const hooks = '{ beforeDeploy: [{ command: "backup {sha7} {previousSha}" }], afterDeploy: [{ command: "smoke {name}", on: all }], afterRollback: [{ command: "page {service} {environment}" }] }';

  it('reads the service\'s hooks, on the first target by default; an environment\'s list replaces the service\'s, even empty', () => {
    assert.deepEqual(plan(config(hooks), 'staging').hooks, {
      beforeDeploy: [{ command: 'backup {sha7} {previousSha}', on: 'first' }],
      afterDeploy: [{ command: 'smoke {name}', on: 'all' }],
      afterRollback: [{ command: 'page {service} {environment}', on: 'first' }],
    });
    const production = plan(config(hooks, 'hooks: { afterDeploy: [], afterRollback: [{ command: "quiet" }] }'), 'production').hooks!;
    assert.deepEqual(production.beforeDeploy, [{ command: 'backup {sha7} {previousSha}', on: 'first' }], 'a list the environment does not give stays the service\'s');
    assert.deepEqual(production.afterDeploy, []);
    assert.deepEqual(production.afterRollback, [{ command: 'quiet', on: 'first' }]);
  });

  it('runs a hook on the first target, or on every target in the run\'s batches', () => {
    const p = plan(config(hooks), 'production');
    const names = (batches: { name: string }[][]) => batches.map((b) => b.map((t) => t.name));
    assert.deepEqual(names(hookBatches(p.hooks!.beforeDeploy[0]!, p.targets, p.rollout)), [['web-1']]);
    assert.deepEqual(names(hookBatches(p.hooks!.afterDeploy[0]!, p.targets, p.rollout)), [['web-1'], ['web-2', 'web-3']]);
  });

  it('renders {previousSha}, empty when there is no release before, and runs the command as written in the directory', () => {
    assert.equal(renderTemplate('backup {sha7} {previousSha}', hookValues({ sha: 'abc1234def', sha7: 'abc1234' }, '0123456789')), 'backup abc1234 0123456789');
    assert.equal(renderTemplate('backup {sha7} [{previousSha}]', hookValues({ sha: 'abc1234def', sha7: 'abc1234' }, null)), 'backup abc1234 []');
    const command = hookCommand('afterDeploy', 'caddy validate --config /etc/caddy/Caddyfile &&\nsystemctl reload caddy', '/srv/shop');
    assert.equal(command.label, 'afterDeploy: caddy validate --config /etc/caddy/Caddyfile && …');
    assert.equal(toShell(command), 'cd /srv/shop || exit 1\ncaddy validate --config /etc/caddy/Caddyfile &&\nsystemctl reload caddy');
  });

  it('names what is wrong in a hook, by path', () => {
    const path = 'services.shop.hooks';
    assert.deepEqual(configProblems(config('{ afterDeploy: [{ command: "smoke", on: some }] }'), {}), [`${path}.afterDeploy[0].on: expected first (the run's first target) or all (every target, in batches)`]);
    assert.deepEqual(configProblems(config('{ beforeDeploy: [{ command: "backup {commit}" }] }'), {}), [`${path}.beforeDeploy[0].command: unknown template variable {commit}`]);
    assert.deepEqual(configProblems(config('{ afterDeploy: [] }', 'hooks: { beforeRollback: [] }'), {}), ['services.shop.environments.production.hooks: Unrecognized key: "beforeRollback"']);
    // {previousSha} is a hook's alone.
    assert.deepEqual(configProblems(config('{}').replace('dir: /srv/shop', 'dir: "/srv/{previousSha}"'), {}), ['services.shop.runtime.dir: unknown template variable {previousSha}']);
  });
});
