/**
 * `bench:fleet`'s real-container round (docs/benchmarks.md): the three hosts of the real tier
 * (test/support/real-stack.ts), real OpenSSH, one Docker Engine, each host its own compose
 * project; each round pushes a new image of the test app and rolls it out twice, canary 1 then
 * the other two:
 *
 *   - the physical limit: the runbook's own steps by hand, as one shell line per host over
 *     plain `ssh`, on each batch's hosts at once, batch after batch: the image pinned in
 *     `.env`, `docker compose pull --policy missing`, `up -d`, `curl` of the health endpoint
 *     every 100 ms until it answers, `docker image prune -f`;
 *   - Slipway: a deploy through the API, the worker and the real activities, health checks on.
 *
 * The service is `bare` (no `traffic`: the load-balanced rounds are bench/fleet.ts's).
 *
 * The hosts share one Engine: the canary pulls the image and the batch finds it there, so this
 * measures the runbook's steps on real containers (pull by digest, stop, create, start), not a
 * network.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { FleetHost } from '../src/sandbox/fleet.js';
import { planBatches } from '../src/domain/rollout.js';
import { dockerUnavailable } from '../test/support/docker.js';
import { startRealStack, WEB_PORTS, type RealStack } from '../test/support/real-stack.js';

const run = promisify(execFile);

export interface ContainerRounds { hosts: number; limitMs: number[]; slipwayMs: number[] }

/** Runs `rounds` rounds, or says why it cannot (no Docker, not root). */
export async function containerRounds(rounds: number): Promise<ContainerRounds | string> {
  const reason = dockerUnavailable();
  if (reason) return reason;
  const stack = await startRealStack();
  try {
    const batches = planBatches(stack.hosts, 1, 2);
    const result: ContainerRounds = { hosts: stack.hosts.length, limitMs: [], slipwayMs: [] };
    for (let round = 1; round <= rounds; round++) {
      const byHand = await stack.release({ version: `limit-${round}`, revision: 'b' });
      result.limitMs.push(await physicalLimit(stack, batches, `${stack.repository}@${byHand.digest}`));
      const release = await stack.release({ version: `slipway-${round}`, revision: 'b' });
      result.slipwayMs.push(await slipwayRollout(stack, release.sha));
      console.log(JSON.stringify({ round, containers: true, limitMs: result.limitMs.at(-1), slipwayMs: result.slipwayMs.at(-1) }));
    }
    return result;
  } finally {
    await stack.stop();
  }
}

async function physicalLimit(stack: RealStack, batches: FleetHost[][], image: string): Promise<number> {
  const started = Date.now();
  for (const batch of batches) {
    await Promise.all(batch.map((host) => run('ssh', [
      '-i', `${stack.fleet.dir}/id_ed25519`, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${stack.fleet.knownHostsPath}`,
      '-o', 'StrictHostKeyChecking=yes', '-p', String(host.port), `${host.user}@${host.address}`,
      [
        `cd ${stack.dirOf(host, 'bare')}`, `sed -i '/^APP_IMAGE=/d' .env`, `echo APP_IMAGE=${image} >> .env`,
        'docker compose -f compose.yaml pull --policy missing', 'docker compose -f compose.yaml up -d',
        `until curl -sf http://${host.address}:${WEB_PORTS.bare}/health >/dev/null; do sleep 0.1; done`, 'docker image prune -f >/dev/null',
      ].join(' && '),
    ])));
  }
  return Date.now() - started;
}

async function slipwayRollout(stack: RealStack, sha: string): Promise<number> {
  const started = await stack.request('POST', '/v1/deployments', { service: 'bare', environment: 'production', sha, reason: 'bench' });
  if (started.status !== 202) throw new Error(`deploy refused: ${JSON.stringify(started.body)}`);
  const finished = await stack.waitForRun(started.body.id, 300_000);
  if (finished.status !== 'succeeded') throw new Error(`the Slipway run ended ${finished.status}: ${JSON.stringify(finished.error)}`);
  return Date.parse(finished.finishedAt) - Date.parse(finished.createdAt);
}
