import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedFixture } from '../../support/fixtures.js';
import { startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { callStack, rawHistoryText, startSealedStack, waitForRotation, type SealedStack } from '../../support/sealed.js';

/** Rotations that undo only what they did, that an admin can give up on, and that leak nothing a host prints. */
describe('rotations that undo only what they did', function () {
  this.timeout(120_000);
  let h: Harness;
  let stack: SealedStack;
  before(async () => {
    h = await sharedFixture('harness', startHarness, (x) => x.stop());
    stack = await startSealedStack(h, 'compensation');
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
