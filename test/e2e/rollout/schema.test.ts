import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostCalls } from '../../../src/sandbox/fleet.js';
import { sharedFixture } from '../../support/fixtures.js';
import { newRelease, startHarness, TOKENS, type Harness } from '../../support/harness.js';

/**
 * Releases that know their schema (docs/runs.md, "Schema revisions"): the harness's `schema`
 * service runs alembic (as the stand-in docker does it, against one database file the hosts
 * share) with `revision` and `downgrade`. One environment's life, each test from where the
 * last left it.
 */
describe('schema revisions: a rollback takes the schema down first', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  const releases: Record<string, string> = {};
  const revisionOf = (name: string) => `r${releases[name]!.slice(0, 7)}`;
  const database = () => readFileSync(join(h.fleet.dir, 'databases', 'schema-production'), 'utf8').trim();
  const stateFile = (host: string, name: string) => join(h.host(host).stateDir, name);
  const environment = async () => (await h.request('GET', '/v1/services/schema/environments/production', undefined, TOKENS.reader)).body;
  const calls = (host: string, step: string, since: number) => hostCalls(h.host(host)).filter((c) => c.step === step && c.at >= since);
  async function deploy(name: string): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    releases[name] ??= await newRelease(h);
    const started = await h.request('POST', '/v1/deployments', { service: 'schema', environment: 'production', sha: releases[name] });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return h.waitForRun(started.body.id);
  }
  afterEach(() => { for (const host of ['web-1', 'web-2']) for (const f of ['bad-versions', 'fail-downgrade']) rmSync(stateFile(host, f), { force: true }); });

  it('reads the revision after the migration and keeps it with the release', async () => {
    await deploy('v1');
    const run = await deploy('v2');
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    assert.equal(run.version.revision, revisionOf('v2'));
    assert.equal(run.schemaRevision, revisionOf('v2'));
    const env = await environment();
    assert.equal(env.current.revision, revisionOf('v2'));
    assert.deepEqual(env.knownGood.map((r: { revision: string }) => r.revision), [revisionOf('v2'), revisionOf('v1')]);
    assert.equal(env.schemaRevision, revisionOf('v2'));
    const log = await h.request('GET', `/v1/deployments/${run.id}/targets/web-1`, undefined, TOKENS.reader);
    const steps = log.body.steps as Array<{ label: string; output: string[] }>;
    const labels = steps.map((s) => s.label);
    assert.ok(labels.indexOf('revision: alembic current') === labels.indexOf('migrate: alembic upgrade head') + 1, labels.join(' → '));
    assert.ok(steps.find((s) => s.label === 'revision: alembic current')!.output.includes(`slipway: the schema is at revision ${revisionOf('v2')}`));
  });

  it('downgrades once, with the new image, before the old image is back anywhere, when a canary fails after its migration', async () => {
    releases.bad = await newRelease(h);
    writeFileSync(stateFile('web-1', 'bad-versions'), `sha-${releases.bad.slice(0, 7)}`);
    const since = Date.now();
    const run = await deploy('bad');
    assert.equal(run.status, 'rolled_back', JSON.stringify(run));
    const downgrades = calls('web-1', 'downgrade', since);
    assert.equal(downgrades.length, 1, 'once');
    assert.match(downgrades[0]!.env.BACKEND_IMAGE!, new RegExp(`:sha-${releases.bad.slice(0, 7)}@`), 'with the newer release\'s image');
    assert.deepEqual(downgrades[0]!.args.slice(-3), ['alembic', 'downgrade', revisionOf('v2')]);
    const rollbackUp = calls('web-1', 'up', since).find((c) => c.env.BACKEND_IMAGE?.includes(`:sha-${releases.v2!.slice(0, 7)}@`));
    assert.ok(rollbackUp && rollbackUp.at >= downgrades[0]!.at, 'the old image came back after the downgrade');
    assert.equal(database(), revisionOf('v2'), 'the schema is back at the old revision');
    assert.equal(run.schemaRevision, revisionOf('v2'));
    assert.equal((await environment()).schemaRevision, revisionOf('v2'));
  });

  it('goes down to a release two revisions back with one downgrade', async () => {
    assert.equal((await deploy('v3')).status, 'succeeded');
    const dry = await h.request('POST', '/v1/rollbacks', { service: 'schema', environment: 'production', sha: releases.v1, dryRun: true }, TOKENS.ci);
    assert.equal(dry.status, 200, JSON.stringify(dry.body));
    assert.equal(dry.body.schema.from, revisionOf('v3'));
    assert.equal(dry.body.schema.to, revisionOf('v1'));
    assert.match(dry.body.schema.command, new RegExp(`export BACKEND_IMAGE='?\\S+:sha-${releases.v3!.slice(0, 7)}@[\\s\\S]*run --rm backend alembic downgrade '?${revisionOf('v1')}'?   # on web-1, once, before any target changes$`));
    const since = Date.now();
    const started = await h.request('POST', '/v1/rollbacks', { service: 'schema', environment: 'production', sha: releases.v1 }, TOKENS.ci);
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const run = await h.waitForRun(started.body.id);
    assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
    const downgrades = calls('web-1', 'downgrade', since);
    assert.equal(downgrades.length, 1);
    assert.deepEqual(downgrades[0]!.args.slice(-3), ['alembic', 'downgrade', revisionOf('v1')]);
    assert.match(downgrades[0]!.env.BACKEND_IMAGE!, new RegExp(`:sha-${releases.v3!.slice(0, 7)}@`), 'with the image of the release it leaves');
    assert.equal(database(), revisionOf('v1'));
    assert.equal((await environment()).schemaRevision, revisionOf('v1'));
  });

  it('changes no target when the downgrade fails, waits for an operator, and goes on after a retry', async () => {
    assert.equal((await deploy('v4')).status, 'succeeded');
    releases.bad2 = await newRelease(h);
    writeFileSync(stateFile('web-1', 'bad-versions'), `sha-${releases.bad2.slice(0, 7)}`);
    writeFileSync(stateFile('web-1', 'fail-downgrade'), 'FAILED: Can\'t locate revision identified by \'nope\'\n');
    const started = await h.request('POST', '/v1/deployments', { service: 'schema', environment: 'production', sha: releases.bad2 });
    const waiting = await h.waitFor(started.body.id, (r) => r.status === 'awaiting_operator', 'awaiting an operator');
    assert.match(waiting.error.message, new RegExp(`the schema could not go down to ${revisionOf('v4')} before the rollback, so no target was changed`));
    assert.equal(waiting.error.step, 'web-1: downgrade: alembic downgrade ' + revisionOf('v4'));
    const envFile = readFileSync(join(h.host('web-1').stateDir, 'srv', 'schema-production', '.env'), 'utf8');
    assert.match(envFile, new RegExp(`BACKEND_IMAGE=\\S+:sha-${releases.bad2.slice(0, 7)}@`), 'the canary is still on the new release');
    rmSync(stateFile('web-1', 'fail-downgrade'));
    assert.equal((await h.request('POST', `/v1/deployments/${started.body.id}/retry`, undefined, TOKENS.ci)).status, 202);
    const run = await h.waitForRun(started.body.id);
    assert.equal(run.status, 'rolled_back', JSON.stringify(run));
    assert.equal(database(), revisionOf('v4'));
  });

  it('without downgrade, rolls back and says the schema stayed at the newer revision', async () => {
    const deployExpand = async (sha: string) => {
      const started = await h.request('POST', '/v1/deployments', { service: 'expand', environment: 'production', sha });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      return h.waitForRun(started.body.id);
    };
    const good = await newRelease(h);
    assert.equal((await deployExpand(good)).status, 'succeeded');
    const bad = await newRelease(h);
    writeFileSync(stateFile('web-1', 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    const since = Date.now();
    const run = await deployExpand(bad);
    assert.equal(run.status, 'rolled_back', JSON.stringify(run));
    assert.equal(calls('web-1', 'downgrade', since).length, 0, 'no downgrade configured, none run');
    assert.equal(run.schemaRevision, `r${bad.slice(0, 7)}`, 'the run says the schema stayed at the newer revision');
    const env = (await h.request('GET', '/v1/services/expand/environments/production', undefined, TOKENS.reader)).body;
    assert.equal(env.current.revision, `r${good.slice(0, 7)}`);
    assert.equal(env.schemaRevision, `r${bad.slice(0, 7)}`, 'and so does the ledger');
    assert.equal(readFileSync(join(h.fleet.dir, 'databases', 'expand'), 'utf8').trim(), `r${bad.slice(0, 7)}`);
  });
});
