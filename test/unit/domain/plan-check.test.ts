import assert from 'node:assert/strict';
import { unfillableTemplates, whyMissing } from '../../../src/domain/plan-check.js';
import type { DeployPlan, Target } from '../../../src/domain/plan.js';

/** The templates a deploy could not fill, found before anything runs (the API answers 400 naming them). */
const target = (name: string, instance?: string): Target => ({
  id: instance ? `${name}#${instance}` : name, name: instance ? `${name}#${instance}` : name, hostName: name,
  host: { address: '10.0.0.1', port: 22, user: 'deploy' }, ...(instance ? { instance } : {}),
});

function plan(overrides: Partial<DeployPlan> = {}): DeployPlan {
  return {
    service: 'shop', environment: 'production', ref: { sha: 'abcdef1234567' }, requireChecks: false,
    images: [{ name: 'backend', repository: 'ghcr.io/acme/shop' }], tagTemplate: 'sha-{sha7}', analysis: [],
    targets: [target('web-1'), target('web-2')],
    runtime: { kind: 'compose', dir: '/srv/{service}', file: 'docker-compose.yml', envFile: '.env', imageVars: {}, prune: false, keepReleases: 5 },
    health: { timeoutMs: 1_000, intervalMs: 100, checks: [{ http: { url: 'http://{host}:8000/{sha7}', status: 200 } }] },
    rollout: { canary: 1, batchSize: 1, bakeMs: 0, autoRollback: true, approval: false, imageTimeoutMs: 1_000 },
    ...overrides,
  };
}

describe('templates a deploy could not fill', () => {
  it('finds none in a deploy by SHA whose templates all have values', () => {
    assert.deepEqual(unfillableTemplates(plan()), []);
  });

  it('finds {sha} and {sha7} in a deploy by tag of a service without a repo: no commit is ever known', () => {
    const found = unfillableTemplates(plan({ ref: { tag: 'v1.2.0' } }));
    assert.deepEqual(found, [{ field: 'health.checks[0].http.url', template: 'http://{host}:8000/{sha7}', variables: ['sha7'], target: 'web-1' }]);
    assert.match(whyMissing('sha7', found[0]!.field), /no commit is known/);
  });

  it('knows the commit of a deploy by tag when the service has a repo (GitHub resolves the tag)', () => {
    assert.deepEqual(unfillableTemplates(plan({ ref: { tag: 'v1.2.0' }, repo: 'acme/shop' })), []);
  });

  it('finds a tag template that names a host: the tag is resolved once per deploy', () => {
    const found = unfillableTemplates(plan({ tagTemplate: '{name}-{sha7}' }));
    assert.deepEqual(found.map((f) => [f.field, f.variables]), [['tag', ['name']]]);
    assert.match(whyMissing('name', 'tag'), /once per deploy, not per host/);
  });

  it('names the first target an {instance} template fails for', () => {
    const found = unfillableTemplates(plan({
      targets: [target('bot-1', '1'), target('bot-2')],
      runtime: { kind: 'systemd', dir: '/opt/bot', unit: 'bot@{instance}.service', build: [], envFile: '.env' },
      health: { timeoutMs: 1_000, intervalMs: 100, checks: [] },
    }));
    assert.deepEqual(found, [{ field: 'runtime.unit', template: 'bot@{instance}.service', variables: ['instance'], target: 'bot-2' }]);
    assert.match(whyMissing('instance', 'runtime.unit'), /no instances/);
  });

  it('looks at every template a deploy renders: build steps, body checks, commands and gates', () => {
    const tagOnly = plan({
      ref: { tag: 'v1' },
      runtime: { kind: 'systemd', dir: '/opt/bot', unit: 'bot.service', build: ['git checkout {sha}'], envFile: '.env' },
      health: { timeoutMs: 1_000, intervalMs: 100, checks: [{ http: { url: 'http://{host}/', status: 200, bodyContains: '{sha7}' } }, { command: 'check {sha}' }] },
      analysis: [{ name: 'errors', scrape: { url: 'http://{host}/{sha}', metric: 'errors_total' }, expect: 'no-increase' }, { name: 'ratio', prometheus: { url: 'http://127.0.0.1:9090', query: 'x{v="{sha7}"}' }, max: 1 }],
    });
    assert.deepEqual(unfillableTemplates(tagOnly).map((f) => f.field), [
      'runtime.build[0]', 'health.checks[0].http.bodyContains', 'health.checks[1].command', 'analysis[0].scrape.url', 'analysis[1].prometheus.query',
    ]);
  });
});
