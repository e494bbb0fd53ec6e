import assert from 'node:assert/strict';
import { composeMigrate, composePull, composeRecreate, composeUp, imageEnvironment, imagePrune, type ComposeRuntime } from '../../../src/commands/compose.js';
import { toShell } from '../../../src/commands/shell.js';

const runtime: ComposeRuntime = {
  kind: 'compose', dir: '/opt/shop', file: 'docker-compose.prod.yml', envFile: '.env.production',
  imageVars: { BACKEND_IMAGE: 'backend', WORKER_IMAGE: 'backend' }, migrate: { service: 'backend', command: 'alembic upgrade head' }, prune: true,
};
const pinned = { backend: 'ghcr.io/acme/shop-backend:sha-abc1234@sha256:' + 'a'.repeat(64) };

/** The `compose` runtime's commands, pinned images in their environment. */
describe('compose commands', () => {
  it('builds the compose steps with the pinned images in the environment', () => {
    const env = imageEnvironment(runtime, pinned);
    assert.deepEqual(env, { BACKEND_IMAGE: pinned.backend, WORKER_IMAGE: pinned.backend });
    assert.equal(toShell(composePull(runtime, '/opt/shop', env)),
      `cd /opt/shop && env BACKEND_IMAGE=${pinned.backend} WORKER_IMAGE=${pinned.backend} docker compose -f docker-compose.prod.yml --env-file .env.production pull`);
    assert.deepEqual(composeUp(runtime, '/opt/shop', env).argv,
      ['docker', 'compose', '-f', 'docker-compose.prod.yml', '--env-file', '.env.production', 'up', '-d', '--remove-orphans']);
    assert.equal(toShell(composeMigrate(runtime, '/opt/shop', {})!),
      'cd /opt/shop || exit 1\ndocker compose -f docker-compose.prod.yml --env-file .env.production run --rm backend alembic upgrade head');
    assert.equal(composeMigrate({ ...runtime, migrate: undefined }, '/opt/shop', {}), undefined);
    assert.deepEqual(imagePrune('/opt/shop').argv, ['docker', 'image', 'prune', '-f']);
    assert.throws(() => imageEnvironment(runtime, {}), /no pinned reference for image "backend"/);
  });

  it('recreates the compose services after a rotation so they read the new env file, on the pinned images', () => {
    const env = imageEnvironment(runtime, pinned);
    assert.equal(toShell(composeRecreate(runtime, '/opt/shop', env)),
      `cd /opt/shop && env BACKEND_IMAGE=${pinned.backend} WORKER_IMAGE=${pinned.backend} docker compose -f docker-compose.prod.yml --env-file .env.production up -d --force-recreate --remove-orphans`);
  });
});
