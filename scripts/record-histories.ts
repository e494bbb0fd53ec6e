/**
 * Records workflow histories for the replay test (test/unit/replay.test.ts): runs each kind
 * of workflow through its main paths against the test harness and writes the histories to
 * test/histories/. Run it when a workflow changes on purpose (with `patched()` for runs in
 * flight), never to make a failing replay pass.
 *
 *   npx tsx scripts/record-histories.ts
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { ensureTemporalCli } from '../src/temporal/cli.js';
import { stopAllFixtures } from '../test/support/fixtures.js';
import { startHarness, TOKENS } from '../test/support/harness.js';
import { HISTORY_KEY, startSealedStack } from '../test/support/sealed.js';

const OUT = join(import.meta.dirname, '..', 'test', 'histories');
const h = await startHarness();
try {
  const release = async (n: number) => {
    const sha = `${n.toString(16)}${Date.now().toString(16)}`.padEnd(40, 'd').slice(0, 40);
    h.github.addCommit(sha);
    await h.registry.push('acme/shop-backend', `sha-${sha.slice(0, 7)}`);
    return sha;
  };
  const deploy = async (environment: string, sha: string) => (await h.request('POST', '/v1/deployments', { service: 'web', environment, sha })).body.id as string;
  const save = async (name: string, workflowId: string) => {
    // The CLI's JSON export is the format `temporal workflow show` users know, and replay reads it.
    const json = execFileSync(ensureTemporalCli(), ['workflow', 'show', '--workflow-id', workflowId, '--output', 'json', '--address', h.temporal.address], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    writeFileSync(join(OUT, `${name}.json`), json);
    // Replay needs the original workflow id: child workflow ids are derived from it.
    ids[name] = workflowId;
    writeFileSync(join(OUT, 'workflow-ids.json'), `${JSON.stringify(ids, null, 2)}\n`);
    console.log(`recorded ${name} (${(JSON.parse(json) as { events: unknown[] }).events.length} events)`);
  };
  const waitFor = async (id: string, status: string) => {
    for (let i = 0; i < 300; i++) {
      if ((await h.request('GET', `/v1/deployments/${id}`, undefined, TOKENS.reader)).body.status === status) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${id} never ${status}`);
  };
  mkdirSync(OUT, { recursive: true });
  const ids: Record<string, string> = {};

  const succeeded = await deploy('fleet', await release(1));
  await h.waitForRun(succeeded);
  await save('deploy-succeeded', succeeded);
  await save('update-target', `${succeeded}/web-1`);

  const bad = await release(2);
  writeFileSync(join(h.host('web-2').stateDir, 'bad-versions'), `sha-${bad.slice(0, 7)}`);
  const rolledBack = await deploy('fleet', bad);
  await h.waitForRun(rolledBack);
  await save('deploy-rolled-back', rolledBack);

  await h.waitForRun(await deploy('manual', await release(3)));
  const manual = await deploy('manual', bad);
  await waitFor(manual, 'awaiting_operator');
  rmSync(join(h.host('web-2').stateDir, 'bad-versions'));
  await h.request('POST', `/v1/deployments/${manual}/retry`);
  await h.waitForRun(manual);
  await save('deploy-operator-retry', manual);

  await h.waitForRun(await deploy('fleet', await release(4)));
  const rollback = (await h.request('POST', '/v1/rollbacks', { service: 'web', environment: 'fleet' })).body.id as string;
  await h.waitForRun(rollback);
  await save('rollback', rollback);
  await save('environment', 'slipway-env/web/fleet');

  // Rotations need payload encryption: these histories are sealed with the test-only HISTORY_KEY.
  const sealed = await startSealedStack(h, 'record', HISTORY_KEY);
  try {
    const rotate = async (variables: Record<string, unknown>) => {
      const response = await fetch(`${sealed.api}/v1/rotations`, {
        method: 'POST', headers: { authorization: `Bearer ${TOKENS.rotator}`, 'content-type': 'application/json' },
        body: JSON.stringify({ kind: 'env-secret', service: 'vault', environment: 'production', variables, githubSecrets: { API_KEY: 'VAULT_API_KEY' } }),
      });
      const { id } = await response.json() as { id: string };
      for (let i = 0; i < 300; i++) {
        const view = await (await fetch(`${sealed.api}/v1/rotations/${id}`, { headers: { authorization: `Bearer ${TOKENS.rotator}` } })).json() as { status: string };
        if (['succeeded', 'compensated', 'failed'].includes(view.status)) return id;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${id} never finished`);
    };
    await save('rotation-succeeded', await rotate({ API_KEY: { generate: { bytes: 32, encoding: 'hex' } }, API_KEY_ID: { value: 'k-recorded' } }));
    await save('rotation-compensated', await rotate({ API_KEY: { value: 'reject-recorded' } }));
    await save('environment-rotations', 'slipway-env/vault/production');
  } finally {
    await sealed.stop();
  }
} finally {
  await h.stop();
  await stopAllFixtures();
}
process.exit(0);
