import assert from 'node:assert/strict';
import { githubDeploymentsLink } from '../../../src/domain/links.js';
import { parsePinnedReference } from '../../../src/domain/pinned-reference.js';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

describe('pinned references and links the console shows', () => {
  it('splits a pinned reference into its repository, the tag it was pinned from, and its digest', () => {
    assert.deepEqual(parsePinnedReference(`127.0.0.1:5000/acme/shop:sha-abc1234@${DIGEST}`), { repository: '127.0.0.1:5000/acme/shop', tag: 'sha-abc1234', digest: DIGEST });
    assert.deepEqual(parsePinnedReference(`ghcr.io/acme/shop@${DIGEST}`), { repository: 'ghcr.io/acme/shop', digest: DIGEST });
    assert.equal(parsePinnedReference('ghcr.io/acme/shop:latest'), undefined, 'not pinned by digest');
  });

  it('links a repository\'s deployments on GitHub, or on GitHub Enterprise', () => {
    assert.equal(githubDeploymentsLink('https://api.github.com', 'acme/shop'), 'https://github.com/acme/shop/deployments');
    assert.equal(githubDeploymentsLink('https://ghe.example.com/api/v3/', 'acme/shop'), 'https://ghe.example.com/acme/shop/deployments');
  });
});
