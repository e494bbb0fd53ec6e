import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sharedFixture } from '../../support/fixtures.js';
import { newRelease, startHarness, TOKENS, type Harness } from '../../support/harness.js';
import { REGISTRY_PASSWORD } from '../../support/registry.js';
import { rawHistoryText } from '../../support/sealed.js';

const ROOT = join(import.meta.dirname, '..', '..', '..');

/** `GET /v1/deployments/:id/targets/:target` and `slipway logs`, on real OpenSSH hosts. */
describe('step logs', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  afterEach(() => { for (const file of ['delay-pull', 'fail-up']) for (const host of ['web-1', 'web-2']) rmSync(join(h.host(host).stateDir, file), { force: true }); });

  const deploy = async () => {
    const started = await h.request('POST', '/v1/deployments', { service: 'web', environment: 'logs', sha: await newRelease(h) });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    return started.body.id as string;
  };
  const steps = async (id: string, target: string) => {
    const answer = await h.request('GET', `/v1/deployments/${id}/targets/${target}`, undefined, TOKENS.reader);
    assert.equal(answer.status, 200, JSON.stringify(answer.body));
    return answer.body as { target: { name: string; status: string }; steps: { phase: string; label: string; status: string; startedAt: string; durationMs?: number; exitCode?: number | null; attempt: number; output: string[] }[]; keptFor: string };
  };

  it("answers a host's steps while the run goes on (the run and slipway --wait name each host's step), then each with its duration, exit code and output, none of it in history", async () => {
    writeFileSync(join(h.host('web-1').stateDir, 'delay-pull'), '2');
    const id = await deploy();
    // The CLI follows it as a CI job would: one line per change, each host's step among them.
    const following = promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'slipway.js'), 'status', id, '--wait'], {
      cwd: ROOT, env: { ...process.env, SLIPWAY_URL: h.api, SLIPWAY_TOKEN: TOKENS.cli, SLIPWAY_POLL_MS: '200' },
    });
    let running;
    for (let i = 0; !running; i++) {
      if (i > 100) assert.fail('never saw the pull running');
      running = (await steps(id, 'web-1')).steps.find((s) => s.label.includes('pull') && s.status === 'running');
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(running.durationMs, undefined);
    assert.ok(Date.now() - Date.parse(running.startedAt) < 10_000);
    const live = (await h.request('GET', `/v1/deployments/${id}`, undefined, TOKENS.reader)).body;
    assert.match(live.targets.find((t: { name: string }) => t.name === 'web-1').step, /compose.* pull/, 'the run says which step the host is on');

    assert.equal((await h.waitForRun(id)).status, 'succeeded');
    const { stdout } = await following;
    assert.match(stdout, /Z web-1 \(batch 1\): updating: docker compose .*pull/);
    const web1 = await steps(id, 'web-1');
    assert.equal(web1.keptFor, '14d');
    assert.deepEqual(web1.steps.map((s) => s.label.replace(/ .*compose.* (pull|up).*/, ' $1')), ['pin images in .env', 'docker pull', 'docker up', 'health checks (1)']);
    assert.ok(web1.steps.every((s) => s.status === 'succeeded' && s.phase === 'deploy' && s.attempt === 1 && s.durationMs! >= 0));
    assert.deepEqual(web1.steps.map((s) => s.exitCode), [0, 0, 0, undefined], 'commands exit 0; an HTTP check is not a command');
    const [pin, pull, up, health] = web1.steps;
    assert.ok(pull!.durationMs! >= 2_000, 'the pull took the delay');
    assert.match(pin!.output.join('\n'), /^BACKEND_IMAGE=127\.0\.0\.1:\d+\/acme\/shop-backend:sha-[0-9a-f]{7}@sha256:[0-9a-f]{64}$/m);
    assert.deepEqual(pull!.output, [' backend Pulling', ' backend Pulled']);
    assert.match(up!.output.join('\n'), /Container web-app-1 {2}Started/);
    assert.match(health!.output.join('\n'), /^probe \d+: .*http:\/\/127\.0\.0\.\d+:8000\/health passed$/m);
    assert.deepEqual((await steps(id, web1.target.name)).steps.length, 4, 'named by name or id');

    assert.ok(!(await rawHistoryText(h, id)).includes('backend Pulled'), 'output stays out of history');
    assert.equal((await h.request('GET', `/v1/deployments/${id}/targets/web-9`, undefined, TOKENS.reader)).status, 404);
    assert.equal((await h.request('GET', `/v1/deployments/${id}/targets/web-1`, undefined, 'no-such-token')).status, 401);
  });

  it('keeps the last 64 lines of a failed step, redacted, with its exit code; rollback steps follow, and slipway logs prints them', async () => {
    const lines = Array.from({ length: 100 }, (_, i) => (i === 89 ? `registry login with ${REGISTRY_PASSWORD} refused` : `error line ${i + 1}`));
    writeFileSync(join(h.host('web-2').stateDir, 'fail-up'), `${lines.join('\n')}\n`);
    const id = await deploy();
    await h.waitFor(id, (r) => r.status === 'awaiting_operator', 'awaiting_operator');
    const failed = (await steps(id, 'web-2')).steps.find((s) => s.status === 'failed')!;
    assert.match(failed.label, /compose.* up/);
    assert.equal(failed.exitCode, 1);
    assert.equal(failed.output.length, 64);
    assert.equal(failed.output.at(-1), 'error line 100');
    assert.ok(failed.output.includes('registry login with [REDACTED] refused'), failed.output.join('\n'));

    rmSync(join(h.host('web-2').stateDir, 'fail-up'));
    assert.equal((await h.request('POST', `/v1/deployments/${id}/abort`)).status, 202);
    assert.equal((await h.waitForRun(id)).status, 'aborted');
    const web1 = await steps(id, 'web-1');
    assert.ok(web1.steps.some((s) => s.phase === 'rollback' && /compose.* up/.test(s.label) && s.status === 'succeeded'), 'the rollback is in the same log');

    const { stdout } = await promisify(execFile)(process.execPath, [join(ROOT, 'bin', 'slipway.js'), 'logs', id, '--target', 'web-2'], {
      cwd: ROOT, env: { ...process.env, SLIPWAY_URL: h.api, SLIPWAY_TOKEN: TOKENS.cli },
    });
    assert.match(stdout, /^web-2 {2}rolled_back {2}batch 2/);
    assert.match(stdout, /\n {2}\d\d:\d\d:\d\d {2}docker compose .*up.* {2}failed, \d+\.\d s {2}exit 1\n/);
    assert.match(stdout, /\n {4}\| registry login with \[REDACTED\] refused\n/);
    assert.match(stdout, /\n {2}\d\d:\d\d:\d\d {2}rollback: docker compose .*up.* {2}succeeded/);
    assert.ok(!stdout.includes(REGISTRY_PASSWORD));
  });
});
