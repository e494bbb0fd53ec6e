import assert from 'node:assert/strict';
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse } from 'yaml';
import { Runs } from '../../src/api/runs.js';
import { buildDeployPlan } from '../../src/config/plan.js';
import type { Run } from '../../src/domain/run.js';
import { sharedFixture } from '../support/fixtures.js';
import { HARNESS_ENV, startHarness, type Harness } from '../support/harness.js';
import { ensureDebianPackage } from '../support/packages.js';
import { spawnManaged, stopManaged } from '../support/processes.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

/** The final stage's `ENTRYPOINT`, `CMD` and `ENV` of the Dockerfile, as Docker reads them. */
function imageCommand(): { entrypoint: string[]; cmd: string[]; env: Record<string, string> } {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const stage = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
  const json = (instruction: string) => JSON.parse(new RegExp(`^${instruction} (\\[.*\\])$`, 'm').exec(stage)![1]!) as string[];
  const env = Object.fromEntries([...stage.matchAll(/^ENV (.*)$/gm)].flatMap((m) => m[1]!.split(/\s+/).map((kv) => kv.split('=') as [string, string])));
  return { entrypoint: json('ENTRYPOINT'), cmd: json('CMD'), env };
}

/**
 * The worker as the image and the compose stack run it: the exact command line of the
 * Dockerfile and docker-compose.temporal.yml, on the compiled code, stopped as `docker stop`
 * stops it (SIGTERM to the container's first process, tini).
 */
describe('the image\'s worker', function () {
  this.timeout(180_000);
  let h: Harness;
  let configPath: string;
  let argv: string[];
  let env: NodeJS.ProcessEnv;
  const taskQueue = `image-${Date.now().toString(36)}`;
  const workers: ChildProcess[] = [];

  before(async function () {
    const image = imageCommand();
    const compose = parse(readFileSync(join(ROOT, 'docker-compose.temporal.yml'), 'utf8')) as { services: { worker: { command: string[] } } };
    assert.deepEqual(compose.services.worker.command, image.cmd, 'the stack runs the image\'s own command');
    argv = [...image.entrypoint, ...compose.services.worker.command];
    // Installed from Debian's packages as root (CI); without root the reason is printed and this suite skipped.
    if (!ensureDebianPackage('tini', argv[0]!)) this.skip();
    // What the image's build stage does.
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'inherit' });

    h = await sharedFixture('harness', startHarness, (x) => x.stop());
    configPath = join(mkdtempSync(join(tmpdir(), 'slipway-image-')), 'slipway.yaml');
    writeFileSync(configPath, h.configText);
    env = {
      ...process.env, ...image.env, SLIPWAY_CONFIG: configPath,
      TEMPORAL_ADDRESS: h.temporal.address, TEMPORAL_NAMESPACE: h.temporal.namespace, SLIPWAY_TASK_QUEUE: taskQueue,
      ...HARNESS_ENV,
    };
  });
  after(async () => { for (const w of workers) await stopManaged(w, 1_000); });

  /** Starts `/usr/bin/tini -- node dist/main/worker.js` in the repository, as WORKDIR /app holds it. */
  async function startWorker(): Promise<{ child: ChildProcess; log: () => string; exited: Promise<number | null> }> {
    const child = spawnManaged(argv[0]!, argv.slice(1), { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    workers.push(child);
    let log = '';
    child.stdout!.on('data', (c: Buffer) => { log += c.toString(); });
    child.stderr!.on('data', (c: Buffer) => { log += c.toString(); });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    for (let i = 0; !log.includes('worker started'); i++) {
      if (i > 1200 || child.exitCode !== null) throw new Error(`the image's worker did not start:\n${log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    return { child, log: () => log, exited };
  }

  it('drains on SIGTERM: the step in flight finishes and is not run again, and the process exits', async () => {
    const web2 = h.host('web-2');
    rmSync(join(web2.stateDir, 'calls.jsonl'), { force: true });
    writeFileSync(join(web2.stateDir, 'delay-pull'), '3');
    try {
      const first = await startWorker();
      const sha = `d7a1${Date.now().toString(16)}`.padEnd(40, '3');
      h.github.addCommit(sha);
      await h.registry.push('acme/shop-backend', `sha-${sha.slice(0, 7)}`);
      const runs = new Runs(h.temporal.client, { taskQueue, namespace: h.temporal.namespace, stepTimeoutMs: 60_000, uiUrl: 'http://ui' });
      const svc = h.config.services.web!;
      const { run } = await runs.enqueue('deploy', buildDeployPlan('web', svc, 'drain', svc.environments.drain!, { sha }));
      for (let i = 0; !h.steps('web-2').includes('pull'); i++) {
        if (i > 600) throw new Error(`the pull never started:\n${first.log()}`);
        await new Promise((r) => setTimeout(r, 50));
      }

      // `docker stop`: SIGTERM to the container's first process only.
      const signalledAt = Date.now();
      process.kill(first.child.pid!, 'SIGTERM');
      const code = await first.exited;
      assert.equal(code, 0, first.log());
      assert.ok(Date.now() - signalledAt >= 1_500, 'it waited for the pull in flight (3 s) before exiting');
      assert.match(first.log(), /"signal":"SIGTERM".*stopping/);
      assert.match(first.log(), /worker stopped/);
      assert.deepEqual(h.steps('web-2'), ['pull'], 'the stopping worker finished the pull and started nothing else');

      const second = await startWorker();
      let finished: Run | undefined;
      for (let i = 0; ; i++) {
        finished = await runs.get(run.id);
        if (finished && ['succeeded', 'failed', 'rolled_back'].includes(finished.status)) break;
        if (i > 600) throw new Error(`run stuck: ${JSON.stringify(finished)}\n${second.log()}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      assert.equal(finished.status, 'succeeded', JSON.stringify(finished.error));
      assert.deepEqual(h.steps('web-2').filter((s) => s === 'pull'), ['pull'], 'the pull that finished while draining was not retried');
    } finally {
      rmSync(join(web2.stateDir, 'delay-pull'), { force: true });
    }
  });
});
