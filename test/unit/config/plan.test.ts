import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load.js';
import { buildDeployPlan, expandTargets } from '../../../src/config/plan.js';
import { renderHealth } from '../../../src/domain/health.js';

const config = parseConfig(`
ssh: { privateKey: k, knownHosts: /kh }
services:
  bot:
    runtime: { kind: systemd, dir: "/opt/{name}", unit: "bot@{instance}.service" }
    health: { checks: [ { http: { url: "http://{host}:310{instance}/", bodyContains: "{sha7}" } }, { command: "curl -f localhost:{instance}" } ] }
    environments:
      production:
        targets: [ { name: bot-1, address: 10.0.0.1, instances: [1, 2] }, { name: bot-2, address: 10.0.0.2 } ]
        rollout: { canary: "50%", bake: 5m }
`, { env: {} });

describe('deploy plan', () => {
  const svc = config.services.bot!;
  const env = svc.environments.production!;

  it('makes one target per systemd instance, named after its host', () => {
    assert.deepEqual(expandTargets(env).map((t) => [t.id, t.name, t.hostName, t.instance]), [
      ['bot-1-1', 'bot-1#1', 'bot-1', '1'], ['bot-1-2', 'bot-1#2', 'bot-1', '2'], ['bot-2', 'bot-2', 'bot-2', undefined],
    ]);
    assert.deepEqual(expandTargets(env)[0]!.host, { address: '10.0.0.1', port: 22, user: 'root' });
  });

  it('lets a request override the rollout for one run, and lowercases the SHA', () => {
    const plan = buildDeployPlan('bot', svc, 'production', env, { sha: 'ABCDEF1', rollout: { bake: 1000, canary: undefined } });
    assert.deepEqual(plan.ref, { sha: 'abcdef1' });
    assert.equal(plan.rollout.bakeMs, 1000);
    assert.equal(plan.rollout.canary, '50%');
    assert.deepEqual(buildDeployPlan('bot', svc, 'production', env, { tag: 'v1.2.3' }).ref, { tag: 'v1.2.3' });
  });

  it('renders health checks per target', () => {
    const plan = buildDeployPlan('bot', svc, 'production', env, { sha: 'abcdef1234' });
    const health = renderHealth(plan.health, { host: '10.0.0.1', instance: '2', sha7: 'abcdef1' });
    assert.deepEqual(health.checks, [
      { http: { url: 'http://10.0.0.1:3102/', status: 200, bodyContains: 'abcdef1' } },
      { command: 'curl -f localhost:2' },
    ]);
    assert.throws(() => renderHealth(plan.health, { host: 'x' }), /uses \{instance\}, which has no value in this run/);
  });
});
