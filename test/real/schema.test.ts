import assert from 'node:assert/strict';
import { TOKENS } from '../support/api-client.js';
import { useRealStack, WEB_PORTS, type RealStack } from '../support/real-stack.js';

/**
 * A rollback across a migration on real containers: the real tier's `web` service runs the
 * test app's `migrate`, `revision` and `downgrade` (a schema revision kept in its volume) with
 * `docker compose run --rm`, behind HAProxy.
 */
describe('schema revisions on a real Docker Engine', function () {
  this.timeout(300_000);
  let s: RealStack;
  before(async function () { s = await useRealStack(this); });

  const schemaOf = async (address: string) => (await (await fetch(`http://${address}:${WEB_PORTS.web}/version`)).json()) as { version: string; schema: string; migrations: number };
  async function deploy(sha: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const started = await s.request('POST', '/v1/deployments', { service: 'web', environment: 'production', sha });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return s.waitForRun(started.body.id, 180_000);
  }

  it('takes the schema down with the newer image, once, before the failed canary goes back', async () => {
    const good = await s.release({ version: 's1', revision: 's1' });
    const first = await deploy(good.sha);
    assert.equal(first.status, 'succeeded', JSON.stringify(first.error));
    assert.equal(first.version.revision, 's1');
    const canary = s.hosts[0]!;
    const before = await schemaOf(canary.address);
    assert.equal(before.schema, 's1');

    const bad = await s.release({ version: 's2', revision: 's2', healthy: false });
    const since = Math.floor(Date.now() / 1000);
    const run = await deploy(bad.sha);
    assert.equal(run.status, 'rolled_back', JSON.stringify(run));
    assert.equal(run.schemaRevision, 's1');
    const after = await schemaOf(canary.address);
    assert.deepEqual([after.version, after.schema, after.migrations - before.migrations], ['s1', 's1', 2], 'migrated up to s2 once, down to s1 once');
    // The one-off containers of the run: its migration, its revision read and the downgrade, all on the newer image.
    const oneOffs = (await s.docker(['events', '--since', String(since), '--until', String(Math.ceil(Date.now() / 1000)),
      '--filter', 'type=container', '--filter', 'event=create', '--filter', 'label=com.docker.compose.oneoff=True',
      '--filter', `label=com.docker.compose.project=slipway-real-${canary.name}-web`, '--format', '{{.Actor.Attributes.image}}'])).split('\n').filter(Boolean);
    assert.equal(oneOffs.length, 3, oneOffs.join('\n'));
    assert.ok(oneOffs.every((image) => image.includes(bad.digest)), `with the newer release's image: ${oneOffs.join(', ')}`);
    const env = (await s.request('GET', '/v1/services/web/environments/production', undefined, TOKENS.reader)).body;
    assert.equal(env.schemaRevision, 's1');
    assert.equal(env.current.revision, 's1');
  });
});
