import assert from 'node:assert/strict';
import { checkAnswer, documentedOperation } from '../../support/contract.js';

/** The response validator every API answer of the suite goes through can tell a wrong answer. */
describe('the OpenAPI response validator', () => {
  const run = {
    id: 'deploy-web-fleet-1', kind: 'deploy', service: 'web', environment: 'fleet', version: { sha: 'abc1234', images: {} }, previous: null,
    status: 'running', phase: 'canary', targets: [{ id: 'web-1', name: 'web-1', status: 'updating', batch: 1 }],
    createdAt: '2026-11-24T10:00:00.000Z', updatedAt: '2026-11-24T10:00:01.000Z', links: { self: '/v1/deployments/deploy-web-fleet-1', ui: 'http://localhost:8233/x' },
  };
  const answer = (body: unknown, status = 200, path = '/v1/deployments/deploy-web-fleet-1', contentType = 'application/json; charset=utf-8') =>
    () => checkAnswer({ method: 'GET', path, status, contentType, body });

  it('accepts an answer as documented', () => {
    answer(run)();
    answer({ type: 'about:blank', title: 'Not found', status: 404, detail: 'no deployment x' }, 404, '/v1/deployments/x', 'application/problem+json')();
  });

  it('refuses a property the schema does not list, a missing one, or a wrong value', () => {
    assert.throws(answer({ ...run, secret: 'x' }), /must NOT have additional properties/);
    const { links: _links, ...withoutLinks } = run;
    assert.throws(answer(withoutLinks), /must have required property 'links'/);
    assert.throws(answer({ ...run, status: 'exploded' }), /status must be equal to one of the allowed values/);
    assert.throws(answer({ ...run, createdAt: 'yesterday' }), /must match format "date-time"/);
  });

  it('refuses an undocumented status, content type or route', () => {
    assert.throws(answer(run, 418), /documented statuses are 200, 400, 401, 403, 404, 413/);
    assert.throws(answer(run, 200, '/v1/deployments/x', 'text/html'), /content type text\/html/);
    assert.throws(answer({ items: [] }, 200, '/v1/nothing-here'), /no documented route matches/);
  });

  it('finds the most literal path', () => {
    assert.equal(documentedOperation('POST', '/v1/rotations/r-1/retry')!.template, '/v1/rotations/{id}/{action}');
    assert.equal(documentedOperation('GET', '/v1/deployments/d-1/targets/web-1?x=1')!.template, '/v1/deployments/{id}/targets/{target}');
    assert.equal(documentedOperation('POST', '/v1/deployments/d-1/approve')!.template, '/v1/deployments/{id}/{action}');
  });
});
