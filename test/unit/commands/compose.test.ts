import assert from 'node:assert/strict';
import { composeMigrate, composePull, composeRecreate, composeUp, imageEnvironment, imagePrune, keepReleaseImages, keepTag, type ComposeRuntime } from '../../../src/commands/compose.js';
import { dockerManifestCommand } from '../../../src/commands/docker.js';
import { toShell } from '../../../src/commands/shell.js';

const runtime: ComposeRuntime = {
  kind: 'compose', dir: '/opt/shop', file: 'docker-compose.prod.yml', envFile: '.env.production',
  imageVars: { BACKEND_IMAGE: 'backend', WORKER_IMAGE: 'backend' }, migrate: { service: 'backend', command: 'alembic upgrade head' }, prune: true, keepReleases: 5,
};
const pinned = { backend: 'ghcr.io/acme/shop-backend:sha-abc1234@sha256:' + 'a'.repeat(64) };

/** The `compose` runtime's commands, pinned images in their environment. */
describe('compose commands', () => {
  it('builds the compose steps with the pinned images in the environment', () => {
    const env = imageEnvironment(runtime, pinned);
    assert.deepEqual(env, { BACKEND_IMAGE: pinned.backend, WORKER_IMAGE: pinned.backend });
    assert.equal(toShell(composePull(runtime, '/opt/shop', env)),
      `cd /opt/shop && env BACKEND_IMAGE=${pinned.backend} WORKER_IMAGE=${pinned.backend} docker compose -f docker-compose.prod.yml --env-file .env.production pull --policy missing`);
    assert.deepEqual(composeUp(runtime, '/opt/shop', env).argv,
      ['docker', 'compose', '-f', 'docker-compose.prod.yml', '--env-file', '.env.production', 'up', '-d', '--remove-orphans']);
    assert.equal(toShell(composeMigrate(runtime, '/opt/shop', {})!),
      'cd /opt/shop || exit 1\ndocker compose -f docker-compose.prod.yml --env-file .env.production run --rm backend alembic upgrade head');
    assert.equal(composeMigrate({ ...runtime, migrate: undefined }, '/opt/shop', {}), undefined);
    assert.deepEqual(imagePrune('/opt/shop').argv, ['docker', 'image', 'prune', '-f']);
    assert.throws(() => imageEnvironment(runtime, {}), /no pinned reference for image "backend"/);
  });

  it('names a keep tag per service, environment and digest, and drops only that environment\'s stale ones', () => {
    const scope = { service: 'shop', environment: 'production' };
    assert.equal(keepTag(pinned.backend, scope), `ghcr.io/acme/shop-backend:slipway.shop.production.${'a'.repeat(12)}`);
    assert.equal(keepTag(`127.0.0.1:5000/acme/app@sha256:${'b'.repeat(64)}`, scope), `127.0.0.1:5000/acme/app:slipway.shop.production.${'b'.repeat(12)}`, 'a registry port is not a tag');
    assert.throws(() => keepTag('ghcr.io/acme/shop-backend:latest', scope), /not pinned by digest/);
    const script = toShell(keepReleaseImages('/opt/shop', [pinned, { frontend: 'ghcr.io/acme/shop-frontend:sha-abc1234' }], scope)!);
    assert.ok(!script.includes('shop-frontend'), 'an image not pinned by digest (a dry run\'s missing one) is not kept');
    assert.equal(keepReleaseImages('/opt/shop', [{ frontend: 'ghcr.io/acme/shop-frontend:sha-abc1234' }], scope), undefined);
    assert.match(script, /grep -F :slipway\.shop\.production\./);
    assert.match(script, new RegExp(`grep -vxF -e ghcr.io/acme/shop-backend:slipway.shop.production.${'a'.repeat(12)}`));
  });

  it('reads a pinned image\'s manifest by its digest alone, --insecure only for an insecure registry', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    assert.deepEqual(dockerManifestCommand(pinned.backend, false).argv, ['docker', 'manifest', 'inspect', `ghcr.io/acme/shop-backend@${digest}`]);
    assert.deepEqual(dockerManifestCommand(`127.0.0.1:5000/acme/app:sha-1@${digest}`, true).argv, ['docker', 'manifest', 'inspect', '--insecure', `127.0.0.1:5000/acme/app@${digest}`]);
  });

  it('recreates the compose services after a rotation so they read the new env file, on the pinned images', () => {
    const env = imageEnvironment(runtime, pinned);
    assert.equal(toShell(composeRecreate(runtime, '/opt/shop', env)),
      `cd /opt/shop && env BACKEND_IMAGE=${pinned.backend} WORKER_IMAGE=${pinned.backend} docker compose -f docker-compose.prod.yml --env-file .env.production up -d --force-recreate --remove-orphans`);
  });
});
