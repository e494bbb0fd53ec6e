import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyLedger } from '../../src/domain/ledger.js';
import { hostCalls } from '../../src/sandbox/fleet.js';
import { environmentWorkflowId } from '../../src/workflows/contract.js';
import { sharedFixture } from '../support/fixtures.js';
import { newRelease, startHarness, TOKENS, type Harness } from '../support/harness.js';
import { callStack, rawHistoryText, startSealedStack, waitForRotation, type SealedStack } from '../support/sealed.js';

const FINAL = ['succeeded', 'failed', 'rolled_back', 'aborted'];

/** Nothing hangs, nothing slips past (issue 7): runs that always end, rollbacks that finish, policy that holds. */
describe('hardened runs', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });

  const release = () => newRelease(h);
  const file = (host: string, name: string) => join(h.host(host).stateDir, name);
  const clear = () => { for (const host of h.fleet.hosts) for (const f of ['calls.jsonl', 'bad-versions', 'delay-pull', 'fail-pull']) rmSync(file(host.name, f), { force: true }); };
  const get = async (id: string) => (await h.request('GET', `/v1/deployments/${id}`, undefined, TOKENS.reader)).body;
  const act = (id: string, action: string, token = TOKENS.ci) => h.request('POST', `/v1/deployments/${id}/${action}`, undefined, token);
  const environment = async (service: string, env: string) => (await h.request('GET', `/v1/services/${service}/environments/${env}`, undefined, TOKENS.reader)).body;
  const deploy = async (environment: string, sha: string, extra: Record<string, unknown> = {}, token = TOKENS.ci) => {
    const answer = await h.request('POST', '/v1/deployments', { service: 'web', environment, sha, ...extra }, token);
    assert.equal(answer.status, 202, JSON.stringify(answer.body));
    return answer.body;
  };
  const waitFor = (id: string, predicate: (run: any) => boolean, what: string) => h.waitFor(id, predicate, what); // eslint-disable-line @typescript-eslint/no-explicit-any
  /** The environment once it has recorded the end of `runId` (a moment after the run itself ends). */
  async function settled(service: string, env: string, runId: string) {
    for (let i = 0; ; i++) {
      const view = await environment(service, env);
      if (view.active === null && view.history.some((e: { runId: string }) => e.runId === runId)) return view;
      if (i > 100) assert.fail(`${service}/${env} never recorded ${runId}: ${JSON.stringify(view)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  /** The environment's workflow started afresh with `state` (terminating the one running, if any). */
  async function restartEnvironment(service: string, env: string, state: Record<string, unknown>) {
    const workflowId = environmentWorkflowId(service, env);
    await h.temporal.client.workflow.getHandle(workflowId).terminate('test: starting over').catch(() => undefined);
    return h.temporal.client.workflow.start('environment', { workflowId, taskQueue: h.taskQueue, args: [{ service, environment: env, ledger: emptyLedger(), ...state }] });
  }
  const webEnv = (host: string) => readFileSync(join(h.host(host).stateDir, 'srv', 'web', '.env'), 'utf8');
  beforeEach(clear);
  afterEach(clear);

  describe('a run always ends', () => {
    it('refuses at POST a deploy whose templates cannot be filled, naming the template and the variable', async () => {
      const byTag = await h.request('POST', '/v1/deployments', { service: 'tagonly', environment: 'production', tag: 'v1.2.3' }, TOKENS.ops);
      assert.equal(byTag.status, 400, JSON.stringify(byTag.body));
      assert.deepEqual(byTag.body.errors.map((e: { field: string }) => e.field), ['services.tagonly.health.checks[0].http.bodyContains']);
      assert.match(byTag.body.detail, /template "\{sha7\}" uses \{sha7\}.*no commit is known when a service without a repo is deployed by tag/);
      const env = await environment('tagonly', 'production');
      assert.equal(env.active, null, 'nothing was enqueued');
      assert.deepEqual(env.history, []);
    });

    it('fails a rollback to a release that lacks an image the config names, with a named type, and lets the next run go', async () => {
      // The ledger says the known-good release ran without the backend image (an older config).
      const old = { sha: 'a1a1a1a'.padEnd(40, '0'), images: {}, runId: 'deploy-before-backend', deployedAt: new Date().toISOString() };
      await restartEnvironment('web', 'lacking', { ledger: { ...emptyLedger(), current: old, knownGood: [old] } });
      const bad = await release();
      writeFileSync(file('web-1', 'bad-versions'), `sha-${bad.slice(0, 7)}`);
      const first = await deploy('lacking', bad);
      const good = await release();
      const second = await deploy('lacking', good);
      const failed = await h.waitForRun(first.id);
      assert.equal(failed.status, 'failed', JSON.stringify(failed));
      assert.deepEqual(failed.leftToFix.map((l: { target: string; type: string }) => [l.target, l.type]), [['web-1', 'ReleaseIncomplete']]);
      assert.match(failed.leftToFix[0].error, /no pinned reference for image "backend"/);
      assert.ok(!failed.awaitingOperator, 'a retry could not help: the run does not hold the environment');
      rmSync(file('web-1', 'bad-versions'));
      const next = await h.waitForRun(second.id);
      assert.equal(next.status, 'succeeded', 'the next run in the queue got the environment');
    });
  });

  describe('rollbacks that finish', () => {
    it('rolls back batch by batch, last first and in parallel; a host that cannot come back waits for retry without stopping the others', async () => {
      const good = await h.waitForRun((await deploy('stuck', await release())).id);
      assert.equal(good.status, 'succeeded');
      clear();
      const bad = await release();
      writeFileSync(file('web-2', 'bad-versions'), `sha-${bad.slice(0, 7)}`);
      const started = await deploy('stuck', bad);
      // web-3 is healthy on the new version; from now on it cannot pull.
      await waitFor(started.id, (r) => r.targets[2].status === 'healthy', 'web-3 healthy');
      writeFileSync(file('web-3', 'fail-pull'), 'registry: connection refused\n');
      const queued = await deploy('stuck', good.version.sha);
      const stuck = await waitFor(started.id, (r) => r.status === 'failed', 'failed');
      assert.equal(stuck.awaitingOperator, true);
      assert.deepEqual(stuck.leftToFix.map((l: { target: string }) => l.target), ['web-3']);
      assert.match(stuck.leftToFix[0].error, /connection refused/);
      assert.deepEqual(stuck.targets.map((t: { status: string }) => t.status), ['rolled_back', 'rolled_back', 'failed']);
      for (const host of ['web-1', 'web-2']) assert.ok(webEnv(host).includes(`BACKEND_IMAGE=${good.version.images.backend}\n`), `${host} is back`);
      // The second batch went back together, before the canary.
      const rollbackPull = (host: string) => hostCalls(h.host(host)).filter((c) => c.step === 'pull').at(-1)!.at;
      const lastUp = (host: string) => hostCalls(h.host(host)).filter((c) => c.step === 'up').at(-1)!.at;
      assert.ok(rollbackPull('web-3') < lastUp('web-2'), 'web-2 and web-3 were rolled back in parallel');
      assert.ok(lastUp('web-2') <= rollbackPull('web-1'), 'the canary last');
      assert.equal((await get(queued.id)).status, 'queued', 'the environment is held until the operator decides');

      rmSync(file('web-3', 'fail-pull'));
      assert.equal((await act(started.id, 'retry')).status, 202);
      const done = await h.waitForRun(started.id);
      assert.equal(done.status, 'rolled_back', JSON.stringify(done));
      assert.equal(done.leftToFix, undefined);
      assert.ok(webEnv('web-3').includes(`BACKEND_IMAGE=${good.version.images.backend}\n`), 'web-3 is back after the retry');
      assert.equal((await h.waitForRun(queued.id)).status, 'succeeded');
    });

    it('rolls back only what it touched when a host presents a new key: that host is left as it was, and the environment is released', async () => {
      const good = await h.waitForRun((await deploy('rekeyed', await release())).id);
      assert.equal(good.status, 'succeeded');
      const before = webEnv('web-2');
      const restore = await h.fleet.changeHostKey(h.host('web-2'));
      try {
        clear();
        const run = await h.waitForRun((await deploy('rekeyed', await release())).id);
        assert.equal(run.status, 'rolled_back', JSON.stringify(run));
        assert.equal(run.awaitingOperator, undefined);
        assert.equal(run.leftToFix, undefined);
        assert.equal(run.error.type, 'HostKeyMismatch');
        assert.deepEqual(run.targets.map((t: { name: string; status: string }) => `${t.name} ${t.status}`), ['web-1 rolled_back', 'web-2 failed']);
        assert.ok(webEnv('web-1').includes(`BACKEND_IMAGE=${good.version.images.backend}\n`), 'the canary is back');
        assert.equal(webEnv('web-2'), before, 'the host with the new key was never touched');
        assert.deepEqual(h.steps('web-2'), [], 'no command reached it, not even a rollback');
        const env = await settled('web', 'rekeyed', run.id);
        assert.equal(env.current.sha, good.version.sha);
      } finally {
        await restore();
      }
    });

    it('aborts a rollback in progress: it stops where it is and ends failed, listing who is left on what', async () => {
      await h.waitForRun((await deploy('stuck', await release())).id);
      clear();
      const bad = await release();
      writeFileSync(file('web-2', 'bad-versions'), `sha-${bad.slice(0, 7)}`);
      writeFileSync(file('web-1', 'delay-pull'), '4');
      const started = await deploy('stuck', bad);
      await waitFor(started.id, (r) => r.phase === 'rollback' && r.targets[1].status === 'rolled_back' && r.targets[2].status === 'rolled_back', 'rolling back the canary');
      await new Promise((r) => setTimeout(r, 500));
      const aborted = await act(started.id, 'abort');
      assert.equal(aborted.status, 202, JSON.stringify(aborted.body));
      const run = await h.waitForRun(started.id);
      assert.equal(run.status, 'failed');
      assert.deepEqual(run.leftToFix.map((l: { target: string }) => l.target), ['web-1']);
      assert.match(run.leftToFix[0].version, new RegExp(`unknown: between ${bad}`));
      assert.deepEqual(run.targets.map((t: { status: string }) => t.status), ['failed', 'rolled_back', 'rolled_back']);
      const entry = (await settled('web', 'stuck', started.id)).history.find((e: { runId: string }) => e.runId === started.id);
      assert.match(entry.leftToFix[0], /^web-1 is left on unknown/);
    });

    it('never bounces: a second default rollback does not return to the version just rolled back from, and the ledger says why', async () => {
      const oldest = await h.waitForRun((await deploy('stuck', await release())).id);
      const middle = await h.waitForRun((await deploy('stuck', await release())).id);
      const newest = await h.waitForRun((await deploy('stuck', await release())).id);
      assert.equal(newest.status, 'succeeded');
      const back = async () => h.waitForRun((await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'stuck', reason: 'bad release' })).body.id);
      assert.equal((await back()).version.sha, middle.version.sha);
      const second = await back();
      assert.equal(second.status, 'succeeded');
      assert.equal(second.version.sha, oldest.version.sha, 'further back, not to the version rolled back from');
      const env = await settled('web', 'stuck', second.id);
      assert.deepEqual(env.retired.slice(0, 2).map((r: { sha: string }) => r.sha), [middle.version.sha, newest.version.sha]);
      assert.match(env.retired[1].reason, /^rolled back from by rollback-web-stuck-\S+ \(bad release\)$/);
      assert.ok(!env.knownGood.some((r: { sha: string }) => r.sha === newest.version.sha));
    });
  });

  describe('an operator can always get the environment back', () => {
    it('lets an admin release an environment whose run would wait forever', async () => {
      const waiting = await deploy('approval', await release());
      await waitFor(waiting.id, (r) => r.status === 'awaiting_approval', 'awaiting approval');
      const path = '/v1/services/web/environments/approval/release';
      assert.equal((await h.request('POST', path, { reason: 'stuck' }, TOKENS.ci)).status, 403);
      const released = await h.request('POST', path, { reason: 'nobody will approve' }, TOKENS.ops);
      assert.equal(released.status, 202, JSON.stringify(released.body));
      assert.equal(released.body.released, waiting.id);
      assert.equal((await h.waitForRun(waiting.id)).status, 'aborted');
      await settled('web', 'approval', waiting.id);
      assert.equal((await h.request('POST', path, {}, TOKENS.ops)).status, 409, 'nothing left to release');
    });
  });

  describe('idempotency keys', () => {
    it('return the same run after the environment continued as new, and never reuse a run id', async () => {
      // A small history threshold, so that a few deploys make it continue as new.
      const handle = await restartEnvironment('web', 'ledger', { continueAfterEvents: 30 });
      const sha = await release();
      const key = { 'Idempotency-Key': `ci-build-${Date.now()}` };
      const first = await h.request('POST', '/v1/deployments', { service: 'web', environment: 'ledger', sha }, TOKENS.ci, key);
      assert.equal(first.status, 202);
      await h.waitForRun(first.body.id);
      const firstRunOfEnvironment = (await handle.describe()).runId;
      for (let i = 0; i < 3; i++) await h.waitForRun((await deploy('ledger', await release())).id);
      for (let i = 0; (await handle.describe()).runId === firstRunOfEnvironment; i++) {
        if (i > 100) assert.fail('the environment never continued as new');
        await new Promise((r) => setTimeout(r, 100));
      }
      const repeat = await h.request('POST', '/v1/deployments', { service: 'web', environment: 'ledger', sha }, TOKENS.ci, key);
      assert.equal(repeat.status, 202);
      assert.equal(repeat.body.id, first.body.id);
      assert.equal(repeat.body.status, 'succeeded', 'the first run, not a new one under its id');
      const other = await h.request('POST', '/v1/deployments', { service: 'web', environment: 'ledger', sha: await release() }, TOKENS.ci, key);
      assert.equal(other.status, 409, 'the same key with another body');

      const rollbackKey = { 'Idempotency-Key': `rollback-${Date.now()}` };
      const rollbacks = [
        await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'ledger' }, TOKENS.ci, rollbackKey),
        await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'ledger' }, TOKENS.ci, rollbackKey),
      ];
      assert.deepEqual(rollbacks.map((r) => r.status), [202, 202]);
      assert.equal(rollbacks[1]!.body.id, rollbacks[0]!.body.id);
      await h.waitForRun(rollbacks[0]!.body.id);
    });
  });

  describe('request overrides may only make a rollout safer', () => {
    it('refuses, without admin, anything that loosens the environment\'s policy, naming the field', async () => {
      const sha = await release();
      const refused = async (environment: string, rollout: Record<string, unknown>, field: string) => {
        const answer = await h.request('POST', '/v1/deployments', { service: 'web', environment, sha, rollout }, TOKENS.ci);
        assert.equal(answer.status, 403, `${JSON.stringify(rollout)}: ${JSON.stringify(answer.body)}`);
        assert.deepEqual(answer.body.errors.map((e: { field: string }) => e.field), [field]);
      };
      await refused('approval', { approval: false }, 'rollout.approval');
      await refused('fleet', { bake: '0s' }, 'rollout.bake');
      await refused('fleet', { canary: '100%' }, 'rollout.canary');
      await refused('fleet', { batchSize: 3 }, 'rollout.batchSize');
      await refused('fleet', { autoRollback: false }, 'rollout.autoRollback');
      await refused('fleet', { imageTimeout: '1h' }, 'rollout.imageTimeout');
      const tooLong = await h.request('POST', '/v1/deployments', { service: 'web', environment: 'fleet', sha, rollout: { bake: '25h' } }, TOKENS.ops);
      assert.equal(tooLong.status, 400);
      assert.deepEqual(tooLong.body.errors.map((e: { field: string }) => e.field), ['rollout.bake']);

      // Safer, or the same as the policy: allowed.
      const safer = await deploy('fleet', sha, { rollout: { canary: 1, batchSize: 1, bake: '2s', approval: true, autoRollback: true } });
      await waitFor(safer.id, (r) => r.status === 'awaiting_approval', 'awaiting approval');
      assert.equal((await act(safer.id, 'approve')).status, 202);
      assert.equal((await h.waitForRun(safer.id)).status, 'succeeded');
      const admin = await deploy('fleet', sha, { rollout: { bake: '0s', batchSize: 3 } }, TOKENS.ops);
      assert.ok(FINAL.includes((await h.waitForRun(admin.id)).status));
    });
  });
});

/** Rotations that undo only what they did, that an admin can give up on, and that leak nothing a host prints. */
describe('hardened rotations', function () {
  this.timeout(120_000);
  let h: Harness;
  let stack: SealedStack;
  before(async () => {
    h = await sharedFixture('harness', startHarness, (x) => x.stop());
    stack = await startSealedStack(h, 'hardening');
  });
  after(() => stack.stop());

  const HOSTS = ['web-1', 'web-2', 'web-3'];
  const envPath = (host: string) => join(h.host(host).stateDir, 'srv', 'vault', '.env');
  const call = (method: string, path: string, body?: unknown, token = TOKENS.rotator, headers: Record<string, string> = {}) => callStack(stack, token, method, path, body, headers);
  const waitFor = (id: string, statuses: string[]) => waitForRotation(stack, TOKENS.rotator, id, statuses);
  const rotate = async (environment: string, variables: Record<string, unknown>, headers: Record<string, string> = {}) => {
    const answer = await call('POST', '/v1/rotations', { kind: 'env-secret', service: 'vault', environment, variables }, TOKENS.rotator, headers);
    assert.equal(answer.status, 202, answer.text);
    return answer.body;
  };
  beforeEach(() => {
    for (const host of HOSTS) {
      writeFileSync(envPath(host), 'API_KEY=old-key-1234\nAPI_KEY_ID=k-old\n');
      for (const f of ['calls.jsonl', 'fail-up']) rmSync(join(h.host(host).stateDir, f), { force: true });
    }
  });
  afterEach(() => { for (const host of HOSTS) rmSync(join(h.host(host).stateDir, 'fail-up'), { force: true }); });

  it('compensates only the hosts a step reached: with one host of four down it ends compensated, and the queue goes on', async () => {
    const key = { 'Idempotency-Key': `rotation-${Date.now()}` };
    const first = await rotate('partial', { API_KEY: { value: 'partial-key-1' } }, key);
    assert.equal((await rotate('partial', { API_KEY: { value: 'partial-key-1' } }, key)).id, first.id, 'a repeated key returns the same rotation');
    const next = await rotate('partial', { API_KEY_ID: { value: 'k-next' } });
    const done = await waitFor(first.id, ['compensated', 'failed', 'succeeded']);
    assert.equal(done.status, 'compensated', JSON.stringify(done));
    const writes = done.steps.filter((s: { name: string }) => s.name.startsWith('write'));
    assert.deepEqual(writes.map((s: { target: string; status: string }) => [s.target, s.status]), [['web-1', 'compensated'], ['web-2', 'compensated'], ['web-3', 'compensated'], ['dead', 'failed']]);
    assert.match(writes[3].error, /never reached: nothing to undo there/);
    for (const host of HOSTS) assert.ok(readFileSync(envPath(host), 'utf8').includes('API_KEY=old-key-1234\n'), `${host} has its old value again`);
    assert.equal((await waitFor(next.id, ['compensated', 'failed', 'succeeded'])).status, 'compensated', 'the next rotation in the queue ran');
  });

  it('lets an admin abort a failed rotation: the queue goes on and leftToFix stays in the ledger', async () => {
    writeFileSync(join(h.host('web-3').stateDir, 'fail-up'), 'compose: cannot start the container\n');
    const stuck = await rotate('hardened', { API_KEY: { value: 'never-used-key-2' } });
    const failed = await waitFor(stuck.id, ['failed', 'compensated', 'succeeded']);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    const next = await rotate('hardened', { API_KEY_ID: { value: 'k-after-abort' } });
    assert.equal((await call('GET', `/v1/rotations/${next.id}`)).body.status, 'queued', 'a failed rotation holds the environment');
    rmSync(join(h.host('web-3').stateDir, 'fail-up'));

    assert.equal((await call('POST', `/v1/rotations/${stuck.id}/abort`)).status, 403, 'giving up is an admin\'s call');
    const aborted = await call('POST', `/v1/rotations/${stuck.id}/abort`, undefined, TOKENS.ops);
    assert.equal(aborted.status, 202, aborted.text);
    const ended = await waitFor(stuck.id, ['failed']);
    for (let i = 0; !(await call('GET', `/v1/rotations/${stuck.id}`)).body.finishedAt; i++) {
      if (i > 100) assert.fail('the aborted rotation never ended');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(ended.leftToFix, ['restart web-3 once its env file holds the old values']);
    assert.equal((await waitFor(next.id, ['succeeded', 'compensated', 'failed'])).status, 'succeeded', 'the queue went on');
    const env = (await call('GET', '/v1/services/vault/environments/hardened')).body;
    const entry = env.history.find((e: { runId: string }) => e.runId === stuck.id);
    assert.deepEqual(entry.leftToFix, ['restart web-3 once its env file holds the old values']);
    assert.equal((await call('POST', `/v1/rotations/${stuck.id}/retry`)).status, 409, 'nothing to retry once aborted');
  });

  it('keeps a secret that a failing service prints out of every history and answer', async () => {
    const secret = `leaky-${Date.now().toString(36)}-value`;
    writeFileSync(join(h.host('web-1').stateDir, 'fail-up'), 'refusing to start: API_KEY=${API_KEY} is not valid\n');
    const started = await rotate('hardened', { API_KEY: { value: secret } });
    // The service keeps refusing until someone looks: the compensation's restart fails too, printing the old value.
    const failed = await waitFor(started.id, ['compensated', 'failed', 'succeeded']);
    assert.equal(failed.status, 'failed', JSON.stringify(failed));
    rmSync(join(h.host('web-1').stateDir, 'fail-up'));
    assert.equal((await call('POST', `/v1/rotations/${started.id}/retry`)).status, 202);
    await waitFor(started.id, ['compensated']);
    const answer = (await call('GET', `/v1/rotations/${started.id}`)).text;
    assert.match(answer, /refusing to start: API_KEY=\[REDACTED\] is not valid/, 'what the host said is kept, the value scrubbed');
    assert.ok(!answer.includes(secret) && !answer.includes('old-key-1234'), 'no secret, new or old, in the API answer');
    for (const workflowId of [started.id, 'slipway-env/vault/hardened']) {
      const raw = await rawHistoryText(h, workflowId);
      assert.ok(!raw.includes(secret) && !raw.includes('old-key-1234'), `${workflowId}: no secret, new or old, in history`);
      assert.ok(!raw.includes('refusing to start'), `${workflowId}: failure messages are encrypted too`);
    }
  });
});
