import assert from 'node:assert/strict';
import { enforceRolloutPolicy } from '../../../src/api/policy.js';
import { HttpProblem } from '../../../src/api/problem.js';
import type { EnvironmentConfig, RolloutOverride } from '../../../src/config/schema.js';

/** A request's `rollout` may only make a run safer than its environment's policy, unless an admin sends it. */
const env: EnvironmentConfig = {
  requireChecks: false,
  targets: ['a', 'b', 'c', 'd'].map((name) => ({ name, address: '10.0.0.1', user: 'deploy', port: 22 })),
  rollout: { canary: 1, batchSize: '50%', bake: 60_000, autoRollback: true, approval: false, imageTimeout: 900_000 },
};
const ci = { name: 'ci', scopes: ['deploy:shop/*'] };
const admin = { name: 'ops', scopes: ['admin'] };

function refusal(override: RolloutOverride, principal = ci): HttpProblem | undefined {
  try {
    enforceRolloutPolicy(override, env, principal);
    return undefined;
  } catch (error) {
    assert.ok(error instanceof HttpProblem);
    return error;
  }
}

describe('the rollout override policy', () => {
  it('lets anyone make a run safer, or ask for what the environment already says', () => {
    assert.equal(refusal({ canary: 1, batchSize: 1, bake: 300_000, approval: true }), undefined);
    assert.equal(refusal({ batchSize: 2, bake: 60_000, autoRollback: true, imageTimeout: 900_000 }), undefined, '50% of 4 targets is 2');
  });

  it('refuses with 403 what would make it less safe, naming each field and why', () => {
    const problem = refusal({ canary: 2, batchSize: '100%', bake: 1_000, autoRollback: false, imageTimeout: 60_000 });
    assert.equal(problem?.status, 403);
    assert.deepEqual(problem.errors?.map((e) => e.field), ['rollout.canary', 'rollout.batchSize', 'rollout.bake', 'rollout.autoRollback', 'rollout.imageTimeout']);
    assert.match(problem.errors![0]!.message, /2 is more than the environment's 1 \(2 > 1 of 4 targets\): only an admin may/);
    assert.match(problem.errors![2]!.message, /1s is shorter than the environment's 1m/);
    assert.match(problem.detail, /less safe than the environment's policy/);
  });

  it('refuses turning off an approval the environment requires', () => {
    const requiring = { ...env, rollout: { ...env.rollout, approval: true } };
    assert.throws(() => enforceRolloutPolicy({ approval: false }, requiring, ci), (e: HttpProblem) => e.errors?.[0]?.field === 'rollout.approval');
  });

  it('counts systemd instances as targets when it resolves a percentage', () => {
    const instances = { ...env, targets: [{ name: 'bot', address: '10.0.0.9', user: 'deploy', port: 22, instances: [1, 2, 3, 4] }] };
    assert.doesNotThrow(() => enforceRolloutPolicy({ batchSize: 2 }, instances, ci), '50% of 4 instances is 2');
    assert.throws(() => enforceRolloutPolicy({ batchSize: 3 }, instances, ci));
  });

  it('lets an admin override anything', () => {
    assert.equal(refusal({ canary: 4, autoRollback: false, bake: 0 }, admin), undefined);
  });
});
