import assert from 'node:assert/strict';
import { hookId, notificationsFor } from '../../../src/config/notifications.js';
import { headline, slackMessage } from '../../../src/domain/notification.js';
import { configProblems } from '../../support/config.js';

const BASE = `
ssh: { privateKey: "k", knownHosts: /etc/known_hosts }
services:
  shop:
    runtime: { kind: compose, dir: /srv/shop }
    environments: { production: { targets: [ { name: a, address: 10.0.0.1 } ] } }
`;

describe('notifications: config and messages', () => {
  it('names the path of a hook that is wrong', () => {
    const problems = configProblems(`${BASE}notifications:
  - { url: "hooks.example.com", events: [started] }
  - { url: "https://hooks.slack.com/services/T/B/X", format: slack, secret: "a-long-enough-secret", events: [succeeded] }
  - { url: "https://example.com/hook", events: [deployed] }
`, {});
    assert.deepEqual(problems.map((p) => p.split(':')[0]), ['notifications[0].url', 'notifications[1].secret', 'notifications[2].events[0]']);
    const unknown = configProblems(`${BASE}notifications:\n  - { url: "https://example.com/hook", events: [started], services: [shop, nope] }\n`, {});
    assert.deepEqual(unknown, ['notifications[0].services[1]: unknown service "nope"']);
  });

  it('gives each hook only the events it asked for, of the kind of run and the services it names', () => {
    const hooks = [
      { url: 'https://a', format: 'json' as const, events: ['started' as const, 'rotation.failed' as const] },
      { url: 'https://b', format: 'json' as const, events: ['succeeded' as const], services: ['web'] },
      { url: 'https://c', format: 'slack' as const, events: ['rotation.succeeded' as const] },
    ];
    const links = { self: '/v1/deployments/x', ui: 'http://ui/x' };
    const [a, , c] = hooks.map(hookId);
    assert.deepEqual(notificationsFor(hooks, 'shop', 'run', links), { hooks: [{ hook: a, events: ['started'] }], links });
    assert.deepEqual(notificationsFor(hooks, 'shop', 'rotation', links)?.hooks, [{ hook: a, events: ['rotation.failed'] }, { hook: c, events: ['rotation.succeeded'] }]);
    assert.equal(new Set(hooks.map(hookId)).size, 3, 'each hook its own id');
    assert.equal(notificationsFor(hooks.slice(1), 'shop', 'run', links), undefined, 'no hook: the run starts no notifier');
  });

  it('writes a Slack message a person can act on', () => {
    const run = { id: 'deploy-shop-production-1', kind: 'deploy', service: 'shop', environment: 'production', status: 'rolled_back', version: { sha: 'abc1234def' },
      error: { step: 'batch 1', target: 'web-2', message: 'health check failed\nmore' }, links: { ui: 'http://ui/runs/1' } };
    assert.equal(headline('rolled_back', run), 'shop/production: deploy of abc1234 was rolled back');
    assert.deepEqual(slackMessage('rolled_back', run).blocks, [{ type: 'section', text: { type: 'mrkdwn', text: '*shop/production: deploy of abc1234 was rolled back*\nbatch 1 on web-2: health check failed\n<http://ui/runs/1|deploy-shop-production-1>' } }]);
  });
});
