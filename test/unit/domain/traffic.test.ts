import assert from 'node:assert/strict';
import { parseConfig } from '../../../src/config/load.js';
import { buildDeployPlan, buildRotationPlan } from '../../../src/config/plan.js';
import { drainSteps, trafficTarget } from '../../../src/domain/traffic.js';
import { configProblems } from '../../support/config.js';

const config = (traffic: string) => `
ssh: { privateKey: k, knownHosts: /kh }
services:
  shop:
    runtime: { kind: compose, dir: /srv/shop }
    rotatable: { variables: [API_KEY] }
    environments:
      production:
        targets: [ { name: web-1, address: 10.0.0.1 }, { name: web-2, address: 10.0.0.2 }, { name: web-3, address: 10.0.0.3 } ]
        rollout: { canary: 1, batchSize: 2 }
        traffic: ${traffic}
`;

describe('traffic: the load balancer in front of an environment', () => {
  it('reads HAProxy behind SSH with its defaults, and renders each target\'s server', () => {
    const parsed = parseConfig(config('{ haproxy: { runtimeApi: /run/haproxy/admin.sock, via: { address: 10.0.0.5, user: deploy }, backend: shop, server: "{name}-app" } }'), { env: {} });
    const svc = parsed.services.shop!;
    const plan = buildDeployPlan('shop', svc, 'production', svc.environments.production!, { sha: 'abc1234' });
    assert.deepEqual(plan.traffic, { kind: 'haproxy', drainTimeoutMs: 30_000, runtimeApi: '/run/haproxy/admin.sock', via: { address: '10.0.0.5', user: 'deploy', port: 22 }, backend: 'shop', server: '{name}-app' });
    assert.deepEqual(trafficTarget(plan.traffic!, plan.targets[1]!, {}), { kind: 'haproxy', runtimeApi: '/run/haproxy/admin.sock', via: { address: '10.0.0.5', user: 'deploy', port: 22 }, backend: 'shop', server: 'web-2-app' });
    // A rotation's restarts leave the balancer too.
    const rotation = buildRotationPlan(parsed, 'shop', 'production', { kind: 'env-secret', variables: { API_KEY: { value: 'x' } } });
    assert.deepEqual(rotation.traffic, plan.traffic);
  });

  it('drains a batch together: each target knows the others, and whether it is the environment\'s only one', () => {
    const parsed = parseConfig(config('{ haproxy: { runtimeApi: "10.0.0.5:9999", backend: shop }, drainTimeout: 5s }'), { env: {} });
    const svc = parsed.services.shop!;
    const plan = buildDeployPlan('shop', svc, 'production', svc.environments.production!, { sha: 'abc1234' });
    const steps = drainSteps(plan.traffic, plan.targets.slice(1), {}, plan.targets.length);
    assert.deepEqual([...steps.keys()], ['web-2', 'web-3']);
    assert.deepEqual(steps.get('web-3'), { at: { kind: 'haproxy', runtimeApi: '10.0.0.5:9999', via: undefined, backend: 'shop', server: 'web-3' }, drainTimeoutMs: 5_000, together: ['web-2', 'web-3'], onlyTarget: false });
    assert.equal(drainSteps(plan.traffic, plan.targets.slice(0, 1), {}, 1).get('web-1')!.onlyTarget, true);
    assert.equal(drainSteps(undefined, plan.targets, {}, 3).size, 0, 'no traffic: no drain');
  });

  it('runs the command kind on the target itself unless told where, with the template variables', () => {
    const parsed = parseConfig(config('{ command: { drain: "lb-drain {name} {host}", ready: "lb-ready {name}" } }'), { env: {} });
    const svc = parsed.services.shop!;
    const plan = buildDeployPlan('shop', svc, 'production', svc.environments.production!, { sha: 'abc1234' });
    assert.deepEqual(trafficTarget(plan.traffic!, plan.targets[0]!, {}), { kind: 'command', drain: 'lb-drain web-1 10.0.0.1', ready: 'lb-ready web-1', on: { address: '10.0.0.1', port: 22, user: 'root' } });
    const elsewhere = parseConfig(config('{ command: { drain: "d {name}", ready: "r {name}", on: { address: lb.internal, port: 2222 } } }'), { env: {} }).services.shop!;
    const onBalancer = buildDeployPlan('shop', elsewhere, 'production', elsewhere.environments.production!, { sha: 'abc1234' }).traffic!;
    assert.deepEqual(trafficTarget(onBalancer, plan.targets[0]!, {}), { kind: 'command', drain: 'd web-1', ready: 'r web-1', on: { address: 'lb.internal', port: 2222, user: 'root' } });
  });

  it('names what is wrong in a traffic block, by path', () => {
    const path = 'services.shop.environments.production.traffic';
    assert.deepEqual(configProblems(config('{ drainTimeout: 5s }'), {}), [`${path}: expected exactly one of haproxy or command`]);
    assert.deepEqual(configProblems(config('{ haproxy: { runtimeApi: "10.0.0.5:9999", backend: shop }, command: { drain: a, ready: b } }'), {}), [`${path}: expected exactly one of haproxy or command`]);
    assert.deepEqual(configProblems(config('{ haproxy: { runtimeApi: "10.0.0.5", backend: "shop;shutdown" } }'), {}), [
      `${path}.haproxy.runtimeApi: expected host:port or a unix socket path`,
      `${path}.haproxy.backend: expected a name HAProxy allows (letters, digits, "_", ".", ":", "-")`,
    ]);
    assert.deepEqual(configProblems(config('{ haproxy: { runtimeApi: "10.0.0.5:9999", backend: shop, server: "{nme}" } }'), {}), [`${path}.haproxy.server: unknown template variable {nme}`]);
    assert.deepEqual(configProblems(config('{ command: { drain: "x" }, drainTimeout: soon }'), {}), [
      `${path}.command.ready: required (string)`,
      `${path}.drainTimeout: expected a duration like 500ms, 30s, 5m, 2h (got "soon")`,
    ]);
  });
});
