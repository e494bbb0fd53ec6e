import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import type { SlipwayConfig } from '../../../src/config/schema.js';
import { DAYS } from '../../../src/domain/windows.js';
import { hostCalls } from '../../../src/sandbox/fleet.js';
import { apiClient, type ApiClient } from '../../support/api-client.js';
import { sharedFixture } from '../../support/fixtures.js';
import { newRelease, startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { startSlipwayInProcess, type InProcessSlipway } from '../../support/in-process.js';
import { startReceiver, type Receiver } from '../../support/receiver.js';

/**
 * A release lane (docs/windows.md): the harness's `lane` service has staging, production
 * (promoted from staging with a 4 s soak) and `frozen` (a freeze in force until 2099).
 */
describe('a release lane: promotion, deploy windows and freezes', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  const environment = async (env: string, api: ApiClient = h) => (await api.request('GET', `/v1/services/lane/environments/${env}`, undefined, TOKENS.reader)).body;
  const deploy = (env: string, sha: string, extra: object = {}, token = TOKENS.ci, api: ApiClient = h) => api.request('POST', '/v1/deployments', { service: 'lane', environment: env, sha, ...extra }, token);
  const envFile = (host: string) => readFileSync(join(h.host(host).stateDir, 'srv', 'lane', '.env'), 'utf8');

  describe('promotion', () => {
    let staged: string;
    it('refuses a deploy to production of a SHA never current in staging, and one that has not soaked, saying how long is left', async () => {
      const never = await newRelease(h);
      const refused = await deploy('production', never);
      assert.equal(refused.status, 409);
      assert.equal(refused.body.condition, 'never-current');
      assert.match(refused.body.detail, new RegExp(`${never.slice(0, 7)} has never been current and healthy in staging`));

      staged = await newRelease(h);
      const run = await h.waitForRun((await deploy('staging', staged)).body.id);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      const early = await h.request('POST', '/v1/promotions', { service: 'lane', from: 'staging', to: 'production' });
      assert.equal(early.status, 409);
      assert.equal(early.body.condition, 'soak');
      assert.match(early.body.detail, /has been current in staging for \d+s; the soak is 4s: \d+s left/);
      assert.ok(Number(early.headers.get('retry-after')) >= 1 && Number(early.headers.get('retry-after')) <= 4, `Retry-After: ${early.headers.get('retry-after')}`);
      const view = await environment('production');
      assert.equal(view.promotion.candidate.sha, staged);
      assert.equal(view.promotion.candidate.soaked, false);
    });

    it('promotes the very digests staging runs, even after the tag was pushed again', async () => {
      const source = (await environment('staging')).current;
      // The tag moves to other bits: a promotion must not resolve it again.
      await h.registry.push('acme/shop-backend', `sha-${staged.slice(0, 7)}`);
      await new Promise((r) => setTimeout(r, 4_000));
      // slipway promote --dry-run: the plan, with staging's digest. Not spawnSync: the API answering it runs in this process.
      const root = join(import.meta.dirname, '..', '..', '..');
      const cli = await promisify(execFile)(process.execPath, [join(root, 'bin', 'slipway.js'), 'promote', 'lane', '--from', 'staging', '--to', 'production', '--dry-run'], {
        cwd: root, env: { ...process.env, SLIPWAY_URL: h.api, SLIPWAY_TOKEN: TOKENS.ci }, encoding: 'utf8',
      });
      assert.match(cli.stdout, /^deploy of lane to production: dry run, nothing was touched\n/);
      assert.ok(cli.stdout.includes(`images    backend  ${source.images.backend}\n`), cli.stdout);
      const started = await h.request('POST', '/v1/promotions', { service: 'lane', from: 'staging', to: 'production', reason: 'soaked' });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      assert.deepEqual(started.body.promotedFrom, { environment: 'staging', runId: source.runId });
      const run = await h.waitForRun(started.body.id);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.equal(run.kind, 'deploy');
      assert.deepEqual(run.version.images, source.images, 'the same pinned digests');
      assert.ok(envFile('web-2').includes(`BACKEND_IMAGE=${source.images.backend}\n`), envFile('web-2'));
      const production = await environment('production');
      assert.deepEqual(production.history[0].promotedFrom, { environment: 'staging', runId: source.runId });
    });

    it('lets an admin override the condition, keeping the reason in the ledger; rollbacks are never refused', async () => {
      const unstaged = await newRelease(h);
      const notAdmin = await deploy('production', unstaged, { override: { reason: 'hotfix' } });
      assert.equal(notAdmin.status, 403);
      const started = await deploy('production', unstaged, { override: { reason: 'hotfix for the outage' } }, TOKENS.ops);
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const run = await h.waitForRun(started.body.id);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      const entry = (await environment('production')).history[0];
      assert.equal(entry.runId, run.id);
      assert.equal(entry.overrides[0].kind, 'promotion');
      assert.equal(entry.overrides[0].reason, 'hotfix for the outage');
      assert.equal(entry.overrides[0].by, 'ops');
      assert.match(entry.overrides[0].overrode, /has never been current and healthy in staging/);

      const rollback = await h.request('POST', '/v1/rollbacks', { service: 'lane', environment: 'production' });
      assert.equal(rollback.status, 202, JSON.stringify(rollback.body));
      assert.equal((await h.waitForRun(rollback.body.id)).status, 'succeeded');
    });
  });

  describe('a freeze in force', () => {
    it('holds a run queued, touching nothing and holding no lock, while another environment deploys; an admin override starts it', async () => {
      const since = Date.now();
      const sha = await newRelease(h);
      const held = await deploy('frozen', sha);
      assert.equal(held.status, 202, JSON.stringify(held.body));
      assert.equal(held.body.status, 'queued');
      assert.deepEqual(held.body.waitingFor, { kind: 'freeze', until: '2099-01-01T00:00:00.000Z', reason: 'the test freeze' });
      const second = await deploy('frozen', sha);

      // Another environment deploys meanwhile.
      const staging = await h.waitForRun((await deploy('staging', await newRelease(h))).body.id);
      assert.equal(staging.status, 'succeeded');
      const waiting = (await h.request('GET', `/v1/deployments/${held.body.id}`, undefined, TOKENS.reader)).body;
      assert.equal(waiting.status, 'queued');
      assert.equal(waiting.waitingFor.kind, 'freeze');
      const view = await environment('frozen');
      assert.equal(view.active, null, 'no lock held');
      assert.deepEqual(view.queue, [held.body.id, second.body.id]);
      assert.equal(view.windows.open, false);
      assert.equal(view.windows.freeze.reason, 'the test freeze');
      assert.deepEqual(hostCalls(h.host('web-3')).filter((c) => c.at >= since), [], 'nothing touched');

      const refused = await h.request('POST', `/v1/deployments/${held.body.id}/override`, { reason: 'customer emergency' });
      assert.equal(refused.status, 403, 'admin only');
      const overridden = await h.request('POST', `/v1/deployments/${held.body.id}/override`, { reason: 'customer emergency' }, TOKENS.ops);
      assert.equal(overridden.status, 202, JSON.stringify(overridden.body));
      const run = await h.waitForRun(held.body.id);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      assert.equal(run.overrides[0].reason, 'customer emergency');
      assert.match(run.overrides[0].overrode, /^freeze: the test freeze/);
      const entry = (await environment('frozen')).history.find((e: { runId: string }) => e.runId === run.id);
      assert.equal(entry.overrides[0].by, 'ops');

      // The one behind it still waits; an abort ends it like any queued run.
      assert.equal((await h.request('GET', `/v1/deployments/${second.body.id}`, undefined, TOKENS.reader)).body.waitingFor.kind, 'freeze');
      assert.equal((await h.request('POST', `/v1/deployments/${run.id}/override`, { reason: 'again' }, TOKENS.ops)).status, 409, 'nothing to override on a finished run');
      assert.equal((await h.request('POST', `/v1/deployments/${second.body.id}/abort`)).status, 202);
      assert.equal((await h.waitForRun(second.body.id)).status, 'aborted');
    });
  });

  describe('windows that open and freezes that end (a stack of their own, configured now)', () => {
    let stack: InProcessSlipway;
    let api: ApiClient;
    let receiver: Receiver;
    let thawsAt: number;
    // Kathmandu is UTC+05:45 all year.
    const kathmandu = (ms: number) => new Date(ms + (5 * 60 + 45) * 60_000);
    before(async () => {
      const config = structuredClone(h.config) as SlipwayConfig;
      const lane = config.services.lane!;
      thawsAt = Date.now() + 15_000;
      lane.environments.thawing!.windows = { allow: [], freezes: [{ from: '2020-01-01T00:00:00Z', to: new Date(thawsAt).toISOString(), reason: 'a short freeze' }], pauseBetweenBatches: false };
      const local = kathmandu(Date.now());
      const hour = local.getUTCHours();
      const hhmm = (h: number) => `${String(h).padStart(2, '0')}:00`;
      const today = DAYS[local.getUTCDay()]!;
      const tomorrow = DAYS[(local.getUTCDay() + 1) % 7]!;
      lane.environments.open = { ...lane.environments.thawing!, windows: { allow: [{ days: [today], from: hhmm(Math.max(hour - 1, 0)), to: hour + 2 >= 24 ? '24:00' : hhmm(hour + 2), timeZone: 'Asia/Kathmandu' }], freezes: [], pauseBetweenBatches: false } };
      lane.environments.closed = { ...lane.environments.thawing!, windows: { allow: [{ days: [tomorrow], from: '10:00', to: '11:00', timeZone: 'Asia/Kathmandu' }], freezes: [], pauseBetweenBatches: false } };
      receiver = await startReceiver({ token: null });
      config.notifications = [{ url: `${receiver.url}/lane`, format: 'json', events: ['waiting_for_window'], services: ['lane'] }];
      stack = await startSlipwayInProcess(h.temporal, config, 'lane');
      api = apiClient(stack.api);
    });
    after(async () => { await stack?.stop(); await receiver?.stop(); });

    it('starts runs held by a freeze by themselves when it ends, in the order asked', async () => {
      const [a, b] = [await newRelease(h), await newRelease(h)];
      const first = (await deploy('thawing', a, {}, TOKENS.ci, api)).body;
      const second = (await deploy('thawing', b, {}, TOKENS.ci, api)).body;
      assert.deepEqual(first.waitingFor, { kind: 'freeze', until: new Date(thawsAt).toISOString(), reason: 'a short freeze' });
      await new Promise((r) => setTimeout(r, 1_000));
      assert.equal((await api.request('GET', `/v1/deployments/${first.id}`, undefined, TOKENS.reader)).body.status, 'queued');
      const [runA, runB] = [await api.waitForRun(first.id, 40_000), await api.waitForRun(second.id, 40_000)];
      assert.equal(runA.status, 'succeeded', JSON.stringify(runA.error));
      assert.equal(runB.status, 'succeeded', JSON.stringify(runB.error));
      assert.ok(Date.parse(runA.updatedAt) >= thawsAt - 1_000, 'not before the freeze ended');
      const history = (await environment('thawing', api)).history.map((e: { runId: string }) => e.runId);
      assert.deepEqual(history.slice(0, 2), [second.id, first.id], 'newest first: the first asked ran first');
      // Each told its hooks it waits, and until when.
      const notices = receiver.calls.map((c) => JSON.parse(c.body)).filter((b) => b.event === 'waiting_for_window');
      assert.deepEqual(notices.map((b) => [b.run.id, b.run.waitingFor.until]).sort(), [[first.id, first.waitingFor.until], [second.id, first.waitingFor.until]].sort());
    });

    it('runs at once inside an allow window in another time zone, and waits for the next one outside it', async () => {
      const inside = await deploy('open', await newRelease(h), {}, TOKENS.ci, api);
      assert.equal(inside.status, 202);
      assert.equal(inside.body.waitingFor, undefined);
      assert.equal((await api.waitForRun(inside.body.id)).status, 'succeeded');

      const outside = await deploy('closed', await newRelease(h), {}, TOKENS.ci, api);
      const localMidnight = Math.floor(kathmandu(Date.now()).getTime() / 86_400_000) * 86_400_000;
      const opens = localMidnight + 86_400_000 + 10 * 3_600_000 - (5 * 60 + 45) * 60_000;
      assert.equal(outside.body.waitingFor.kind, 'window');
      assert.equal(outside.body.waitingFor.until, new Date(opens).toISOString(), 'tomorrow 10:00 in Kathmandu');
      const view = await environment('closed', api);
      assert.deepEqual(view.windows.window, { opens: new Date(opens).toISOString(), closes: new Date(opens + 3_600_000).toISOString() });
      assert.equal((await api.request('POST', `/v1/deployments/${outside.body.id}/abort`)).status, 202);
      assert.equal((await api.waitForRun(outside.body.id)).status, 'aborted');
    });
  });

  describe('a freeze that begins while a run goes', () => {
    let stack: InProcessSlipway | undefined;
    after(async () => { await stack?.stop(); });

    it('with pauseBetweenBatches, pauses the run before its next batch until the freeze ends', async () => {
      const config = structuredClone(h.config) as SlipwayConfig;
      const lane = config.services.lane!;
      // Room for the stack to start and the canary to go before the freeze, and for the bake to end inside it.
      const [begins, ends] = [Date.now() + 8_000, Date.now() + 20_000];
      lane.environments.pausing = {
        ...lane.environments.staging!,
        targets: [...lane.environments.staging!.targets, ...lane.environments.production!.targets],
        rollout: { ...lane.environments.staging!.rollout, canary: 1, batchSize: 1, bake: 10_000 },
        windows: { allow: [], freezes: [{ from: new Date(begins).toISOString(), to: new Date(ends).toISOString(), reason: 'a freeze mid-run' }], pauseBetweenBatches: true },
      };
      stack = await startSlipwayInProcess(h.temporal, config, 'lane-pause');
      const api = apiClient(stack.api);
      const since = Date.now();
      const started = await deploy('pausing', await newRelease(h), {}, TOKENS.ci, api);
      assert.equal(started.body.waitingFor, undefined, 'asked before the freeze: it starts at once');
      const paused = await api.waitFor(started.body.id, (r) => r.status === 'paused', 'paused at the freeze', 30_000);
      assert.deepEqual(paused.waitingFor, { kind: 'freeze', until: new Date(ends).toISOString(), reason: 'a freeze mid-run' });
      assert.deepEqual(paused.targets.map((t: { status: string }) => t.status), ['healthy', 'pending'], 'the canary is done, the next batch waits');
      const run = await api.waitForRun(started.body.id, 40_000);
      assert.equal(run.status, 'succeeded', JSON.stringify(run.error));
      const up = hostCalls(h.host('web-2')).filter((c) => c.at >= since && c.step === 'up');
      assert.equal(up.length, 1);
      assert.ok(up[0]!.at >= ends, 'the second batch went once the freeze had ended');
    });
  });
});
