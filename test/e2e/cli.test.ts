import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parse } from 'yaml';
import { join } from 'node:path';
import { sharedFixture } from '../support/fixtures.js';
import { newRelease, startHarness, TOKENS, type Harness } from '../support/harness.js';

const ROOT = join(import.meta.dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'slipway.js');

interface Ran { code: number | null; stdout: string; stderr: string }

/** `slipway` as a user runs it: the package's bin, as a process, against the harness's API. */
describe('the slipway CLI', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => { h = await sharedFixture('harness', startHarness, (x) => x.stop()); });
  afterEach(() => { for (const host of h.fleet.hosts) rmSync(join(host.stateDir, 'bad-versions'), { force: true }); });

  const slipway = (args: string[], options: { token?: string; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void; command?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> => new Promise((resolve, reject) => {
    const [command, ...prefix] = options.command ?? [process.execPath, BIN];
    const child = spawn(command!, [...prefix, ...args], {
      cwd: ROOT, env: options.env ?? { ...process.env, SLIPWAY_URL: h.api, SLIPWAY_TOKEN: options.token ?? TOKENS.cli, SLIPWAY_POLL_MS: '200' }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); options.onStdout?.(stdout, child); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const idIn = (text: string) => /\b(deploy-[a-z0-9-]+)/.exec(text)?.[1];

  it('deploys with --wait: one timestamped line per change in a log, each batch and host, exit 0', async () => {
    const sha = await newRelease(h);
    const ran = await slipway(['deploy', 'web', 'fleet', '--sha', sha, '--wait', '--reason', 'cli test']);
    assert.equal(ran.code, 0, ran.stderr + ran.stdout);
    const lines = ran.stdout.trim().split('\n');
    const stamped = lines.filter((l) => /^\d{4}-\d\d-\d\dT\S+Z /.test(l));
    assert.ok(stamped.length >= 6, ran.stdout);
    assert.ok(stamped.some((l) => / web-1 \(batch 1\): healthy$/.test(l)), 'the canary, in batch 1');
    assert.ok(stamped.some((l) => / web-3 \(batch 2\): healthy$/.test(l)), 'the rest, in batch 2');
    assert.ok(stamped.some((l) => l.endsWith(`deploy of web ${sha.slice(0, 7)} to fleet: running, phase bake`)), 'the phases');
    assert.equal(lines.at(-1), `deploy of web ${sha.slice(0, 7)} to fleet: succeeded`);
    assert.ok(!ran.stdout.includes('\u001b['), 'no terminal codes in a log');
  });

  it('exits 1 when the run rolls back, naming the failing step, host and error', async () => {
    const sha = await newRelease(h);
    writeFileSync(join(h.host('web-2').stateDir, 'bad-versions'), `sha-${sha.slice(0, 7)}`);
    const ran = await slipway(['deploy', 'web', 'fleet', '--sha', sha, '--wait']);
    assert.equal(ran.code, 1, ran.stdout);
    const tail = ran.stdout.trim().split('\n').slice(-6).join('\n');
    assert.match(tail, /: rolled_back\n/);
    assert.match(tail, /failed step: .* on web-2 \(HealthCheckFailed\)/);
  });

  it('exits 2 on bad usage and when the API refuses, printing the detail and each field error', async () => {
    const usage = await slipway(['deploy', 'web', 'fleet']);
    assert.equal(usage.code, 2);
    assert.match(usage.stderr, /give exactly one of --sha and --tag/);
    const unknownCommand = await slipway(['deplyo']);
    assert.equal(unknownCommand.code, 2);
    const invalid = await slipway(['deploy', 'web', 'fleet', '--sha', 'not-a-sha']);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /error: the API answered 400: /);
    assert.match(invalid.stderr, /\n {2}sha: expected a commit SHA of 7 to 40 hex digits/);
    const unknown = await slipway(['deploy', 'nope', 'fleet', '--sha', 'abc1234']);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /404: .*nope/);
    const forbidden = await slipway(['deploy', 'web', 'fleet', '--sha', 'abc1234'], { token: TOKENS.reader });
    assert.equal(forbidden.code, 2);
    assert.match(forbidden.stderr, /403: this token lacks the scope deploy:web\/fleet/);
  });

  it('exits 3 with --until-decision when the run waits for approval; approve then follows it to the end', async () => {
    const sha = await newRelease(h);
    const waiting = await slipway(['deploy', 'web', 'approval', '--sha', sha, '--wait', '--until-decision']);
    assert.equal(waiting.code, 3, waiting.stdout);
    const id = idIn(waiting.stdout) ?? (await h.request('GET', '/v1/deployments?service=web&environment=approval&status=awaiting_approval', undefined, TOKENS.reader)).body.items[0].id;
    assert.match(waiting.stdout, new RegExp(`decide with: slipway approve ${id}, or slipway abort ${id}`));
    const approved = await slipway(['approve', id]);
    assert.equal(approved.code, 0, approved.stderr);
    const followed = await slipway(['status', id, '--wait', '--json'], { token: TOKENS.reader });
    assert.equal(followed.code, 0, followed.stdout);
    const events = followed.stdout.trim().split('\n').map((line) => JSON.parse(line) as { at: string; run: { status: string }; exit?: number });
    assert.equal(events.at(-1)!.exit, 0);
    assert.equal(events.at(-1)!.run.status, 'succeeded');
    assert.ok(events.every((e) => !Number.isNaN(Date.parse(e.at))));
  });

  it("rolls back a run that waits for an operator, by its id: the operator's rollback action", async () => {
    const good = await newRelease(h);
    assert.equal((await slipway(['deploy', 'web', 'manual', '--sha', good, '--wait'])).code, 0);
    const bad = await newRelease(h);
    writeFileSync(join(h.host('web-2').stateDir, 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    const waiting = await slipway(['deploy', 'web', 'manual', '--sha', bad, '--wait', '--until-decision']);
    assert.equal(waiting.code, 3, waiting.stdout);
    const id = idIn(waiting.stdout)!;
    assert.match(waiting.stdout, new RegExp(`decide with: slipway retry ${id}, slipway rollback ${id}, or slipway abort ${id}`));
    const misuse = await slipway(['rollback', id, '--sha', good]);
    assert.equal(misuse.code, 2);
    assert.match(misuse.stderr, /a run id alone rolls that run back/);
    const rolledBack = await slipway(['rollback', id, '--wait']);
    assert.equal(rolledBack.code, 1, rolledBack.stdout);
    assert.match(rolledBack.stdout, /: rolled_back\n/);
    const ledger = await slipway(['ledger', 'web', 'manual', '--json'], { token: TOKENS.reader });
    assert.equal((JSON.parse(ledger.stdout) as { current: { sha: string } }).current.sha, good, 'the environment is back on the good release');
  });

  it('Ctrl-C stops waiting, not the run, and says how to abort it', async () => {
    const sha = await newRelease(h);
    let signalled = false;
    const ran = await slipway(['deploy', 'web', 'crash', '--sha', sha, '--wait'], {
      onStdout: (text, child) => { if (!signalled && /batch 1\): healthy/.test(text)) { signalled = true; child.kill('SIGINT'); } },
    });
    assert.equal(ran.code, 130, ran.stdout + ran.stderr);
    const id = idIn(ran.stderr)!;
    assert.match(ran.stderr, new RegExp(`stopped waiting; ${id} goes on .*Abort it with: slipway abort ${id}`));
    const run = await h.waitForRun(id);
    assert.equal(run.status, 'succeeded', 'the run went on');
  });

  it('draws a live board on a terminal', async () => {
    const sha = await newRelease(h);
    // `script` gives the CLI a pseudo-terminal, as an operator's shell would.
    const line = [process.execPath, BIN, 'deploy', 'web', 'fleet', '--sha', sha, '--wait'].map((w) => `'${w}'`).join(' ');
    // An operator's terminal: not CI (this suite may run in one), a terminal type set.
    const { CI: _ci, ...outsideCi } = process.env;
    const env = { ...outsideCi, TERM: 'xterm-256color', SLIPWAY_URL: h.api, SLIPWAY_TOKEN: TOKENS.cli, SLIPWAY_POLL_MS: '200' };
    const ran = await slipway([], { command: ['script', '-qfec', `stty cols 120 rows 40; ${line}`, '/dev/null'], env });
    assert.equal(ran.code, 0, ran.stdout);
    assert.ok(ran.stdout.includes('\u001b['), 'redrawn in place');
    assert.match(ran.stdout, /batch 1 \(canary\)/);
    assert.match(ran.stdout, /✔ web-3 healthy/);
    assert.ok(!/^\d{4}-\d\d-\d\dT/m.test(ran.stdout), 'no log lines');

    // The same terminal in a CI job logs lines: nobody watches it redraw.
    const inCi = await slipway([], { command: ['script', '-qfec', `stty cols 120 rows 40; ${line.replace(sha, await newRelease(h))}`, '/dev/null'], env: { ...env, CI: 'true' } });
    assert.equal(inCi.code, 0, inCi.stdout);
    assert.match(inCi.stdout, /^\d{4}-\d\d-\d\dT\S+Z web-3 \(batch 2\): healthy\r?$/m);
  });

  /**
   * action.yml as a runner would run it: each `${{ … }}` of the step's env filled in from the
   * inputs (defaults where not given) and the `github` context, then its script under bash.
   */
  const runAction = (inputs: Record<string, string>, github: Record<string, string>) => {
    const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as {
      inputs: Record<string, { required?: boolean; default?: string }>;
      runs: { using: string; steps: { shell: string; env: Record<string, string>; run: string }[] };
    };
    assert.equal(action.runs.using, 'composite');
    const context = (expression: string): string => {
      const [scope, name] = expression.trim().split('.') as [string, string];
      if (scope === 'github') return github[name] ?? '';
      if (scope !== 'inputs' || !(name in action.inputs)) throw new Error(`action.yml uses \${{ ${expression} }}, which is not an input`);
      return inputs[name] ?? fill(action.inputs[name]!.default ?? '');
    };
    const fill = (text: string) => text.replace(/\$\{\{([^}]+)\}\}/g, (_, expression: string) => context(expression));
    const [step] = action.runs.steps;
    assert.equal(step!.shell, 'bash');
    assert.ok(!step!.run.includes('${{'), 'inputs reach the script as environment variables, never pasted into it');
    const env = Object.fromEntries(Object.entries(step!.env).map(([k, v]) => [k, fill(v)]));
    return new Promise<Ran>((resolve) => {
      const child = spawn('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', '-c', step!.run], {
        env: { PATH: process.env.PATH, HOME: process.env.HOME, GITHUB_RUN_ID: '4242', GITHUB_REPOSITORY: 'acme/shop', SLIPWAY_POLL_MS: '200', ...env }, stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
      child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
  };

  it('the GitHub Action deploys github.sha, waits by default, and fails the job when the run rolls back', async () => {
    const action = parse(readFileSync(join(ROOT, 'action.yml'), 'utf8')) as { inputs: Record<string, { required?: boolean; default?: string }> };
    assert.deepEqual(Object.keys(action.inputs), ['url', 'token', 'service', 'environment', 'sha', 'wait']);
    assert.deepEqual(['url', 'token', 'service', 'environment'].filter((i) => action.inputs[i]!.required), ['url', 'token', 'service', 'environment']);
    const inputs = { url: h.api, token: TOKENS.cli, service: 'web', environment: 'fleet' };

    const good = await newRelease(h);
    const deployed = await runAction(inputs, { sha: good, action_path: ROOT });
    assert.equal(deployed.code, 0, deployed.stdout + deployed.stderr);
    assert.match(deployed.stdout, new RegExp(`deploy of web ${good.slice(0, 7)} to fleet: succeeded\n$`));
    const id = idIn(deployed.stdout)!;
    assert.equal((await h.request('GET', `/v1/deployments/${id}`, undefined, TOKENS.reader)).body.reason, 'GitHub Actions run 4242 of acme/shop');

    const bad = await newRelease(h);
    writeFileSync(join(h.host('web-2').stateDir, 'bad-versions'), `sha-${bad.slice(0, 7)}`);
    const failed = await runAction(inputs, { sha: bad, action_path: ROOT });
    assert.equal(failed.code, 1, 'the job fails');
    assert.match(failed.stdout, /rolled_back/);

    const queued = await runAction({ ...inputs, wait: 'false', sha: good }, { sha: bad, action_path: ROOT });
    assert.equal(queued.code, 0, queued.stderr);
    assert.match(queued.stdout, /^deploy-web-fleet-\S+ queued\n/, 'without waiting: the run it started');
    await h.waitForRun(idIn(queued.stdout)!);
  });
});
